//! Reading a whole object or response body as a blocking `Read`, chunk by chunk as it
//! arrives, for a reader stage that runs on a thread of its own.

use std::io::{self, Read};

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::ObjectStoreExt;
use tokio::runtime::Handle;

use crate::error::{StoreError, short};
use crate::resolve::Remote;

/// Starts a GET of the whole object: its body as a blocking reader, and its size. Must be
/// called off the runtime's threads (the caller is on a blocking thread).
pub fn open_stream(remote: &Remote, handle: &Handle) -> Result<(BodyRead, u64), StoreError> {
    let result = handle.block_on(remote.store.get(&remote.path))?;
    let size = result.meta.size;
    let mut stream = result.into_stream();
    let handle = handle.clone();
    let body = BodyRead::new(move || match handle.block_on(stream.next()) {
        Some(Ok(chunk)) => Ok(Some(chunk)),
        Some(Err(e)) => Err(stopped_sending("store", short(&e), &e, false)),
        None => Ok(None),
    });
    Ok((body, size))
}

/// A response body, read chunk by chunk as it arrives: `next` waits for the next chunk
/// (`None` at the end).
pub struct BodyRead {
    next: Box<dyn FnMut() -> io::Result<Option<Bytes>> + Send>,
    chunk: Bytes,
}

impl BodyRead {
    pub(crate) fn new(next: impl FnMut() -> io::Result<Option<Bytes>> + Send + 'static) -> Self {
        BodyRead {
            next: Box::new(next),
            chunk: Bytes::new(),
        }
    }
}

impl Read for BodyRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match (self.next)()? {
                Some(chunk) => self.chunk = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk = self.chunk.slice(n..);
        Ok(n)
    }
}

/// `first`, then each cause of `e` not already said, joined by ": " (reqwest and hyper
/// hide "timed out" in a cause).
pub(crate) fn with_causes(first: String, e: &dyn std::error::Error) -> String {
    let mut msg = first;
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !msg.contains(&part) {
            msg = format!("{msg}: {part}");
        }
        source = s.source();
    }
    msg
}

/// A failed body read as an I/O error whose kind says the connection, not the file,
/// failed (exit code 3), timed out or not.
pub(crate) fn stopped_sending(
    who: &str,
    first: String,
    e: &dyn std::error::Error,
    timed_out: bool,
) -> io::Error {
    let msg = with_causes(first, e);
    let kind = if timed_out || msg.contains("timed out") {
        io::ErrorKind::TimedOut
    } else {
        io::ErrorKind::ConnectionAborted
    };
    io::Error::new(kind, format!("the {who} stopped sending: {msg}"))
}

/// The object's size, from a HEAD request.
pub fn size(remote: &Remote, handle: &Handle) -> Result<u64, StoreError> {
    Ok(handle.block_on(remote.store.head(&remote.path))?.size)
}
