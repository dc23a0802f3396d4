//! Objects the service writes itself (uploaded files): streamed in, never half-visible.

use std::fmt::Display;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use object_store::buffered::BufWriter;
use tokio::io::AsyncWriteExt;

use crate::error::StoreError;
use crate::resolve::object_at;

/// Why a stream was not stored.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The URL names no store this process can write to.
    #[error(transparent)]
    Url(#[from] StoreError),
    /// The incoming stream failed (the sender's side).
    #[error("the body could not be read: {0}")]
    Source(String),
    /// The store failed to take the bytes (our side).
    #[error("{0}")]
    Store(std::io::Error),
}

/// Streams `body` into the object `url` (multipart to a bucket, a temporary file renamed
/// at the end on a local disk), so a half-sent body never appears under its name: on any
/// failure the partial object is aborted.
pub async fn write_stream<S, E>(url: &str, body: S) -> Result<(), WriteError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Display,
{
    let object = object_at(url)?;
    let mut writer = BufWriter::new(object.store, object.path);
    let mut body = body;
    let mut failure = None;
    while let Some(chunk) = body.next().await {
        let written = match chunk {
            Ok(chunk) => writer.write_all(&chunk).await,
            Err(e) => {
                failure = Some(WriteError::Source(e.to_string()));
                break;
            }
        };
        if let Err(e) = written {
            failure = Some(WriteError::Store(e));
            break;
        }
    }
    let failure = match failure {
        Some(f) => f,
        None => match writer.shutdown().await {
            Ok(()) => return Ok(()),
            Err(e) => WriteError::Store(e),
        },
    };
    let _ = writer.abort().await;
    Err(failure)
}
