//! Opening the input: where the bytes come from, how they are compressed and which format
//! they hold (from the name, confirmed by the first bytes).

use std::fs::File;
use std::io::{self, Cursor, Read};

use ingest_formats::format::{self, Format};
use ingest_formats::{ByteCounter, Compression, Counted, decompress};

use crate::load::{LoadError, LoadRequest};

/// How much of a stream is looked at to tell its codec, format and encoding.
pub const HEAD_BYTES: usize = 64 << 10;

/// An input ready to decode: decompressed, its format known.
pub struct Input {
    pub format: Format,
    /// The decompressed bytes, from the start.
    pub reader: Box<dyn Read + Send>,
    /// The first (decompressed) bytes, also still in `reader`.
    pub head: Vec<u8>,
    /// Bytes read from the source as stored (compressed), for progress.
    pub raw_bytes: ByteCounter,
    /// The stored size, 0 when unknown.
    pub size: u64,
}

/// Opens `req.file` (`-` is standard input) and settles its codec and format.
pub fn open(req: &LoadRequest, file_name: &str) -> Result<Input, LoadError> {
    let open_err = |e| LoadError::Open {
        file: file_name.to_string(),
        source: e,
    };
    let read_err = |e| LoadError::Read {
        file: file_name.to_string(),
        source: e,
    };
    let format_err = |reason: String| LoadError::Format {
        file: file_name.to_string(),
        reason,
    };
    let stdin = req.file.as_os_str() == "-";
    let (named_format, named_codec) = if stdin {
        (None, Compression::None)
    } else {
        match format::from_name(file_name) {
            Ok(named) => named,
            Err(_) if req.format.is_some() => (None, Compression::from_name(file_name).0),
            Err(reason) => return Err(LoadError::Usage(format!("{file_name}: {reason}"))),
        }
    };
    let (raw, size): (Box<dyn Read + Send>, u64) = if stdin {
        (Box::new(io::stdin()), 0)
    } else {
        let f = File::open(&req.file).map_err(open_err)?;
        let size = f.metadata().map(|m| m.len()).unwrap_or(0);
        (Box::new(f), size)
    };
    let raw_bytes = ByteCounter::default();
    let counted: Box<dyn Read + Send> = Box::new(Counted::new(raw, raw_bytes.clone()));
    let (stored_head, counted) = peek(counted).map_err(read_err)?;
    let sniffed_codec = Compression::from_magic(&stored_head);
    let codec = match req.compression {
        Some(c) => c,
        // Standard input has no name: its magic bytes are all there is to go by.
        None if stdin => sniffed_codec.unwrap_or(Compression::None),
        None => named_codec,
    };
    if req.compression.is_none() && codec != Compression::None && sniffed_codec != Some(codec) {
        return Err(format_err(format!(
            "the name says {} but the content is not {} (pass --compression none to read it as it is)",
            codec.name(),
            codec.name()
        )));
    }
    let reader = decompress(counted, codec, req.decompress, raw_bytes.clone()).map_err(read_err)?;
    let (head, reader) = peek(reader).map_err(read_err)?;
    let format = match (req.format, named_format) {
        (Some(f), _) => f,
        (None, Some(f)) => {
            format::confirm(f, &head).map_err(format_err)?;
            f
        }
        // No extension: binary formats by their magic bytes, anything else is text.
        (None, None) => format::from_magic(&head).unwrap_or(Format::Csv),
    };
    if codec != Compression::None && format.is_binary() {
        return Err(format_err(format!(
            "a {} file inside {} compression: {} compresses its own contents; store it uncompressed",
            format.name(),
            codec.name(),
            format.name()
        )));
    }
    Ok(Input {
        format,
        reader,
        head,
        raw_bytes,
        size,
    })
}

/// Reads the first `HEAD_BYTES` and returns them with a reader that still starts at the
/// beginning.
fn peek(mut reader: Box<dyn Read + Send>) -> io::Result<(Vec<u8>, Box<dyn Read + Send>)> {
    let mut head = Vec::with_capacity(HEAD_BYTES);
    (&mut reader)
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut head)?;
    Ok((head.clone(), Box::new(Cursor::new(head).chain(reader))))
}

/// The input as a local file a reader can seek in (Parquet reads its footer first, then
/// the row groups). Standard input cannot be.
pub fn random_access(
    req: &LoadRequest,
    file_name: &str,
    format: Format,
) -> Result<File, LoadError> {
    if req.file.as_os_str() == "-" {
        return Err(LoadError::Usage(format!(
            "{} cannot be read from standard input (the reader needs to seek): pass the file's path",
            format.name()
        )));
    }
    File::open(&req.file).map_err(|e| LoadError::Open {
        file: file_name.to_string(),
        source: e,
    })
}
