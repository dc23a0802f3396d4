//! Opening the input: where the bytes come from (a path, standard input or an object in a
//! store), how they are compressed and which format they hold (from the name, confirmed
//! by the first bytes).

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::path::PathBuf;

use ingest_formats::format::{self, Format};
use ingest_formats::{ByteCounter, Compression, Counted, decompress};
use tokio::runtime::Handle;

use crate::{LoadError, LoadRequest};
use ingest_store::{self as store, ObjectRanges, Remote, StoreError, WebUrl};

/// How much of a stream is looked at to tell its codec, format and encoding.
pub(crate) const HEAD_BYTES: usize = 64 << 10;

/// Where the input is.
#[derive(Clone)]
pub(crate) enum Location {
    Stdin,
    Local(PathBuf),
    Remote(Remote),
    /// An http(s) URL with a query string, fetched with a plain GET.
    Web(WebUrl),
}

impl Location {
    /// `-`, a path, a `file://` URL, or an object URL.
    pub(crate) fn of(source: &str, req: &LoadRequest) -> Result<Location, LoadError> {
        if source == "-" {
            return Ok(Location::Stdin);
        }
        if let Some(rest) = source.strip_prefix("file://") {
            return Ok(Location::Local(PathBuf::from(rest)));
        }
        if store::is_web_url_with_query(source) {
            return store::resolve_web(source, req.read_timeout)
                .map(Location::Web)
                .map_err(|e| store_error(&store::redacted(source), e));
        }
        if store::is_url(source) {
            return store::resolve(source, req.read_timeout)
                .map(Location::Remote)
                .map_err(|e| store_error(&store::redacted(source), e));
        }
        Ok(Location::Local(PathBuf::from(source)))
    }
}

/// A reader that needs to seek (Parquet) reads from here.
pub(crate) enum Seekable {
    Local(File),
    Remote(ObjectRanges),
}

/// An input ready to decode: its format known, and either a decompressed stream or
/// random access.
pub(crate) struct Input {
    pub format: Format,
    /// The decompressed bytes, from the start (empty when `seekable` is set).
    pub reader: Box<dyn Read + Send>,
    /// The first (decompressed) bytes, also still in `reader`.
    pub head: Vec<u8>,
    /// Bytes read from the source as stored (compressed), for progress.
    pub raw_bytes: ByteCounter,
    /// The stored size, 0 when unknown.
    pub size: u64,
    pub seekable: Option<Seekable>,
}

/// Opens the input and settles its codec and format. Blocks: call it off the runtime's
/// threads.
pub(crate) fn open(
    req: &LoadRequest,
    location: &Location,
    file_name: &str,
    handle: &Handle,
) -> Result<Input, LoadError> {
    let read_err = |e| LoadError::Read {
        file: file_name.to_string(),
        source: e,
    };
    let format_err = |reason: String| LoadError::Format {
        file: file_name.to_string(),
        reason,
    };
    let named = match location {
        Location::Stdin => (None, Compression::None),
        Location::Local(p) => name_says(req, &p.to_string_lossy(), file_name)?,
        Location::Remote(r) => name_says(req, &r.name, file_name)?,
        Location::Web(w) => name_says(req, &w.name, file_name)?,
    };
    let (named_format, named_codec) = named;
    let codec_given = req
        .compression
        .or(Some(named_codec).filter(|c| *c != Compression::None));
    let wanted = req.format.or(named_format);
    // Parquet is read by ranges (footer first), never as a stream.
    if let Some(f) = wanted.filter(|f| f.needs_random_access())
        && codec_given.is_none()
    {
        return open_seekable(location, f, req.format.is_some(), file_name, handle);
    }
    let raw_bytes = ByteCounter::default();
    let (raw, size): (Box<dyn Read + Send>, u64) = match location {
        Location::Stdin => (Box::new(io::stdin()), 0),
        Location::Local(path) => {
            let f = File::open(path).map_err(|e| open_error(file_name, e))?;
            let size = f.metadata().map(|m| m.len()).unwrap_or(0);
            (Box::new(f), size)
        }
        Location::Remote(remote) => {
            let (body, size) =
                store::open_stream(remote, handle).map_err(|e| store_error(file_name, e))?;
            (Box::new(body), size)
        }
        Location::Web(web) => {
            let (body, size) =
                store::open_web(web, handle).map_err(|e| store_error(file_name, e))?;
            (Box::new(body), size)
        }
    };
    let counted: Box<dyn Read + Send> = Box::new(Counted::new(raw, raw_bytes.clone()));
    let (stored_head, counted) = peek(counted).map_err(read_err)?;
    let sniffed_codec = Compression::from_magic(&stored_head);
    let codec = match req.compression {
        Some(c) => c,
        // Standard input, or a name without an extension: the magic bytes are all there
        // is to go by.
        None if matches!(location, Location::Stdin) || named_format.is_none() => {
            sniffed_codec.unwrap_or(Compression::None)
        }
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
    if format.needs_random_access() {
        // Found by its magic bytes: start again with random access.
        return open_seekable(location, format, true, file_name, handle);
    }
    Ok(Input {
        format,
        reader,
        head,
        raw_bytes,
        size,
        seekable: None,
    })
}

/// The format and codec the name gives; an unknown extension is an error unless
/// `--format` says what the file is.
fn name_says(
    req: &LoadRequest,
    name: &str,
    file_name: &str,
) -> Result<(Option<Format>, Compression), LoadError> {
    match format::from_name(name) {
        Ok(named) => Ok(named),
        Err(_) if req.format.is_some() => Ok((None, Compression::from_name(name).0)),
        Err(reason) => Err(LoadError::Usage(format!("{file_name}: {reason}"))),
    }
}

fn open_seekable(
    location: &Location,
    format: Format,
    forced: bool,
    file_name: &str,
    handle: &Handle,
) -> Result<Input, LoadError> {
    let (head, size, seekable) = match location {
        Location::Stdin => {
            return Err(LoadError::Usage(format!(
                "{} cannot be read from standard input (its reader needs to seek): pass the file's path",
                format.name()
            )));
        }
        Location::Local(path) => {
            let mut f = File::open(path).map_err(|e| open_error(file_name, e))?;
            let size = f.metadata().map(|m| m.len()).unwrap_or(0);
            let head = file_head(&mut f).map_err(|e| open_error(file_name, e))?;
            (head, size, Seekable::Local(f))
        }
        Location::Remote(remote) => {
            let size = store::size(remote, handle).map_err(|e| store_error(file_name, e))?;
            let head = handle.block_on(object_store::ObjectStoreExt::get_range(
                remote.store.as_ref(),
                &remote.path,
                0..size.min(8),
            ));
            match head {
                Ok(head) => {
                    let ranges = ObjectRanges::new(remote.clone(), size);
                    (head.to_vec(), size, Seekable::Remote(ranges))
                }
                // A plain web server without range requests: the file is fetched whole
                // into a temporary file first.
                Err(object_store::Error::NotSupported { .. }) => {
                    let (body, _) = store::open_stream(remote, handle)
                        .map_err(|e| store_error(file_name, e))?;
                    let (head, f) = spool(Box::new(body), file_name)?;
                    (head, size, Seekable::Local(f))
                }
                Err(e) => return Err(store_error(file_name, e.into())),
            }
        }
        Location::Web(web) => {
            let (body, size) =
                store::open_web(web, handle).map_err(|e| store_error(file_name, e))?;
            let (head, f) = spool(Box::new(body), file_name)?;
            (head, size, Seekable::Local(f))
        }
    };
    if !forced {
        format::confirm(format, &head).map_err(|reason| LoadError::Format {
            file: file_name.to_string(),
            reason,
        })?;
    }
    Ok(Input {
        format,
        reader: Box::new(io::empty()),
        head,
        raw_bytes: ByteCounter::default(),
        size,
        seekable: Some(seekable),
    })
}

/// Copies a body into an anonymous temporary file (gone when closed); returns its head
/// and the file, positioned at the start.
fn spool(mut body: Box<dyn Read + Send>, file_name: &str) -> Result<(Vec<u8>, File), LoadError> {
    let mut f = tempfile::tempfile().map_err(|e| open_error(file_name, e))?;
    io::copy(&mut body, &mut f).map_err(|e| LoadError::Read {
        file: file_name.to_string(),
        source: e,
    })?;
    f.seek(SeekFrom::Start(0))
        .map_err(|e| open_error(file_name, e))?;
    let head = file_head(&mut f).map_err(|e| open_error(file_name, e))?;
    Ok((head, f))
}

/// The first bytes of a file (enough for any magic), leaving it at the start.
fn file_head(f: &mut File) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(8);
    f.take(8).read_to_end(&mut head)?;
    f.seek(SeekFrom::Start(0))?;
    Ok(head)
}

fn open_error(file_name: &str, source: io::Error) -> LoadError {
    LoadError::Open {
        file: file_name.to_string(),
        source,
    }
}

pub(crate) fn store_error(file_name: &str, e: StoreError) -> LoadError {
    LoadError::Store {
        file: file_name.to_string(),
        source: e,
    }
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

/// The files a load reads, in name order (one entry when the source is a single file).
pub(crate) async fn expand_sources(
    req: &LoadRequest,
    file_name: &str,
) -> Result<Vec<ingest_store::SourceFile>, LoadError> {
    let source = req.file.to_string_lossy();
    store::expand(&source, file_name, req.read_timeout)
        .await
        .map_err(|e| match e {
            ingest_store::ExpandError::Usage(msg) => {
                LoadError::Usage(format!("{file_name}: {msg}"))
            }
            ingest_store::ExpandError::Store(e) => store_error(file_name, e),
        })
}
