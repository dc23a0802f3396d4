//! Where an export is written, so that nothing partial ever appears under the final name:
//! a local file is written beside its destination under a temporary name and renamed
//! at the end; an object is written to a local temporary file, then uploaded (multipart)
//! and only a completed upload creates it.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use object_store::buffered::BufWriter;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use ingest_store as store;

/// An export's destination while it is written.
pub struct Output {
    /// The destination as the user gave it (for messages).
    pub display: String,
    /// Where the bytes go first.
    temp: PathBuf,
    target: Target,
}

enum Target {
    Local(PathBuf),
    Object(String),
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{to}: {source}")]
    Io { to: String, source: io::Error },
    #[error("{to}: {source}")]
    Store {
        to: String,
        source: store::StoreError,
    },
}

impl Output {
    /// Opens the temporary file for `to` (a path, `file://`, or a store URL).
    pub fn create(to: &str) -> Result<(Output, std::fs::File), OutputError> {
        let display = store::redacted(to);
        let io_err = |source| OutputError::Io {
            to: display.clone(),
            source,
        };
        let local = to
            .strip_prefix("file://")
            .map(PathBuf::from)
            .or_else(|| (!store::is_url(to)).then(|| PathBuf::from(to)));
        let (temp, target) = match local {
            Some(path) => {
                let dir = match path.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                if !dir.is_dir() {
                    return Err(io_err(io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("no directory {}", dir.display()),
                    )));
                }
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                // Unique: two exports to one path in one process must not share it.
                let temp = dir.join(format!(
                    ".{name}.{}.{}.partial",
                    std::process::id(),
                    store::unique_tag()
                ));
                (temp, Target::Local(path))
            }
            None => {
                // The URL must name a store before anything is written.
                store::object_at(to).map_err(|source| OutputError::Store {
                    to: display.clone(),
                    source,
                })?;
                let temp = std::env::temp_dir().join(format!(
                    "ingest-export-{}-{}.partial",
                    std::process::id(),
                    store::unique_tag()
                ));
                (temp, Target::Object(to.to_string()))
            }
        };
        let file = std::fs::File::create_new(&temp).map_err(io_err)?;
        Ok((
            Output {
                display,
                temp,
                target,
            },
            file,
        ))
    }

    /// Puts the finished file under its final name; returns its size.
    pub async fn commit(self) -> Result<u64, OutputError> {
        let io_err = |source| OutputError::Io {
            to: self.display.clone(),
            source,
        };
        let size = std::fs::metadata(&self.temp).map_err(io_err)?.len();
        match &self.target {
            Target::Local(path) => std::fs::rename(&self.temp, path).map_err(io_err)?,
            Target::Object(url) => {
                let uploaded = upload(&self.temp, url).await;
                let _ = std::fs::remove_file(&self.temp);
                uploaded.map_err(|source| match source {
                    Upload::Io(source) => OutputError::Io {
                        to: self.display.clone(),
                        source,
                    },
                    Upload::Store(source) => OutputError::Store {
                        to: self.display.clone(),
                        source,
                    },
                })?;
            }
        }
        Ok(size)
    }

    /// Removes the temporary file: the export failed.
    pub fn abandon(self) {}
}

impl Drop for Output {
    /// An output dropped unfinished (an error, a cancelled job) leaves no temporary file;
    /// a committed one has none left to remove.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.temp);
    }
}

enum Upload {
    Io(io::Error),
    Store(store::StoreError),
}

/// Streams a local file into an object: a multipart upload, aborted on failure, so the
/// object exists only once whole.
async fn upload(file: &Path, url: &str) -> Result<(), Upload> {
    let object = store::object_at(url).map_err(Upload::Store)?;
    let mut writer = BufWriter::new(object.store, object.path);
    let mut f = tokio::fs::File::open(file).await.map_err(Upload::Io)?;
    let mut buf = vec![0u8; 8 << 20];
    let copied: io::Result<()> = async {
        loop {
            let n = f.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            writer.write_all(&buf[..n]).await?;
        }
        writer.shutdown().await
    }
    .await;
    if let Err(e) = copied {
        let _ = writer.abort().await;
        return Err(Upload::Io(e));
    }
    Ok(())
}

/// A text export's bytes through the compression its name asks for (`.gz`, `.zst`).
pub enum TextSink {
    Plain(io::BufWriter<std::fs::File>),
    Gzip(flate2::write::GzEncoder<io::BufWriter<std::fs::File>>),
    Zstd(zstd::stream::write::Encoder<'static, io::BufWriter<std::fs::File>>),
}

impl TextSink {
    pub fn new(to: &str, file: std::fs::File) -> io::Result<TextSink> {
        let name = to.split('?').next().unwrap_or(to).to_ascii_lowercase();
        let file = io::BufWriter::with_capacity(1 << 20, file);
        Ok(if name.ends_with(".gz") {
            TextSink::Gzip(flate2::write::GzEncoder::new(
                file,
                flate2::Compression::new(6),
            ))
        } else if name.ends_with(".zst") || name.ends_with(".zstd") {
            TextSink::Zstd(zstd::stream::write::Encoder::new(file, 3)?)
        } else {
            TextSink::Plain(file)
        })
    }

    /// Ends the compressed stream and flushes: errors surface here, not in a drop.
    pub fn finish(self) -> io::Result<()> {
        let mut file = match self {
            TextSink::Plain(w) => w,
            TextSink::Gzip(e) => e.finish()?,
            TextSink::Zstd(e) => e.finish()?,
        };
        file.flush()?;
        file.get_ref().sync_all()
    }
}

impl Write for TextSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            TextSink::Plain(w) => w.write(buf),
            TextSink::Gzip(w) => w.write(buf),
            TextSink::Zstd(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            TextSink::Plain(w) => w.flush(),
            TextSink::Gzip(w) => w.flush(),
            TextSink::Zstd(w) => w.flush(),
        }
    }
}
