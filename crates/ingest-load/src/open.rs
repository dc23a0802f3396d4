//! One input opened as a record source, whatever its store and format, and read up to its
//! header. Blocking: runs off the runtime's threads.

use encoding_rs::Encoding;
use ingest_formats::Format;
use ingest_formats::csv::CsvOptions;
use ingest_formats::json::JsonOptions;
use ingest_formats::{Sniffed, sniff_encoding};
use object_store::ObjectStoreExt;
use tokio::runtime::Handle;

use crate::input::{self, Location, Seekable};
use crate::{LoadError, LoadRequest};
use ingest_formats::{
    AvroSource, ParquetSource, RecordSource, RemoteParquetSource, SourceError, XlsxSource,
    csv_source, json_source,
};

/// A source ready to read from.
pub(crate) struct Opened {
    pub source: Box<dyn RecordSource>,
    /// The file's format; `None` for records from a pull source.
    pub format: Option<Format>,
    /// How the summary names the input's format (`CSV`, `Parquet`, a source's kind).
    pub label: &'static str,
    /// Stored size in bytes, 0 when unknown.
    pub size: u64,
    /// The column names; `None` for an empty input.
    pub header: Option<Vec<String>>,
    /// An xlsx workbook's sheets, in order (to choose among).
    pub sheets: Vec<String>,
}

/// Opens the records of a pull source, read up to their header.
pub(crate) fn open_records(input: &crate::RecordsInput, name: &str) -> Result<Opened, LoadError> {
    let mut source = (input.open)().map_err(|e| input_error(name, e))?;
    let header = source.header().map_err(|e| input_error(name, e))?;
    Ok(Opened {
        source,
        format: None,
        label: input.label,
        size: 0,
        header,
        sheets: Vec::new(),
    })
}

/// Opens `source` (a path, `-` or a URL; `file_name` is how messages name it).
pub(crate) fn open_source(
    req: &LoadRequest,
    source: &str,
    file_name: &str,
    handle: &Handle,
) -> Result<Opened, LoadError> {
    let location = Location::of(source, req)?;
    let input = input::open(req, &location, file_name, handle)?;
    let err = |e| input_error(file_name, e);
    let size = input.size;
    let mut sheets = Vec::new();
    let mut source: Box<dyn RecordSource> = match input.format {
        Format::Csv | Format::Tsv => {
            // The decoder tells NULL from a quoted empty string, so it applies the marker.
            let mut options = CsvOptions {
                encoding: settle_encoding(&input.head, req),
                null: req.text.format.null.clone(),
                ..req.text.csv.clone()
            };
            if input.format == Format::Tsv && !req.text.delimiter_given {
                options.delimiter = b'\t';
            }
            Box::new(csv_source(input.reader, options, input.raw_bytes))
        }
        Format::Json => {
            let options = JsonOptions {
                max_record_bytes: req.text.csv.max_record_bytes,
                ..JsonOptions::default()
            };
            Box::new(json_source(input.reader, options, input.raw_bytes))
        }
        Format::Avro => Box::new(AvroSource::open(input.reader, input.raw_bytes).map_err(err)?),
        Format::Parquet => match input.seekable {
            Some(Seekable::Local(file)) => Box::new(ParquetSource::open(file, size).map_err(err)?),
            Some(Seekable::Remote(ranges)) => {
                let (size, prefetch) = (ranges.size, ranges.prefetch.clone());
                let plan = move |spans| prefetch.lock().expect("prefetch").set_spans(spans);
                let source = RemoteParquetSource::open(ranges, size, plan, handle.clone());
                Box::new(source.map_err(err)?)
            }
            None => unreachable!("Parquet is always opened for random access"),
        },
        Format::Xlsx => {
            let seekable = input
                .seekable
                .expect("xlsx is always opened for random access");
            let bytes = workbook_bytes(seekable, req, handle).map_err(err)?;
            sheets = ingest_formats::xlsx::sheet_names(&bytes, req.xlsx).unwrap_or_default();
            let null = req.text.format.null.clone();
            Box::new(XlsxSource::open(bytes, req.sheet.as_deref(), null, req.xlsx).map_err(err)?)
        }
    };
    let header = source.header().map_err(err)?;
    Ok(Opened {
        source,
        format: Some(input.format),
        label: input.format.name(),
        size,
        header,
        sheets,
    })
}

pub(crate) fn input_error(file_name: &str, e: SourceError) -> LoadError {
    match e {
        SourceError::Io(source) => LoadError::Read {
            file: file_name.to_string(),
            source,
        },
        SourceError::Next(e) => match e.downcast::<LoadError>() {
            Ok(e) => *e,
            Err(e) => LoadError::Input {
                file: file_name.to_string(),
                source: SourceError::Next(e),
            },
        },
        source => LoadError::Input {
            file: file_name.to_string(),
            source,
        },
    }
}

/// The encoding to read text with: a locale's guess gives way to UTF-8 when the file's
/// head shows UTF-8.
fn settle_encoding(head: &[u8], req: &LoadRequest) -> Option<&'static Encoding> {
    if !req.text.encoding_is_a_guess {
        return req.text.csv.encoding;
    }
    match sniff_encoding(head) {
        Sniffed::Utf8 => None,
        Sniffed::Ascii | Sniffed::NotUtf8 => req.text.csv.encoding,
    }
}

/// A workbook's bytes, read whole (xlsx is a zip: its directory is at the end), refused
/// before it is fetched when it is over the size limit.
fn workbook_bytes(
    seekable: Seekable,
    req: &LoadRequest,
    handle: &Handle,
) -> Result<Vec<u8>, SourceError> {
    let size = match &seekable {
        Seekable::Local(f) => f.metadata()?.len(),
        Seekable::Remote(r) => r.size,
    };
    XlsxSource::check_size(size, &req.xlsx)?;
    Ok(match seekable {
        Seekable::Local(mut f) => {
            let mut bytes = Vec::with_capacity(size as usize);
            std::io::Read::read_to_end(&mut f, &mut bytes)?;
            bytes
        }
        Seekable::Remote(r) => {
            let get = async {
                let result = r.remote.store.get(&r.remote.path).await?;
                result.bytes().await
            };
            handle
                .block_on(get)
                .map_err(|e| std::io::Error::other(e.to_string()))?
                .to_vec()
        }
    })
}
