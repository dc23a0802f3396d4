//! Random access to an object for Parquet: the footer, then each row group's column
//! chunks by range requests, the next row group fetched while the current one is decoded.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::{BoxFuture, FutureExt};
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::error::short;
use crate::resolve::Remote;

/// Size of one ranged GET of a large range, and how many run at once.
const PART: u64 = 8 << 20;
const PARALLEL_PARTS: usize = 8;

/// Random access to an object for Parquet: footer first, then each row group's column
/// chunks by range requests.
#[derive(Clone)]
pub struct ObjectRanges {
    pub remote: Remote,
    pub size: u64,
    /// Row groups' byte spans, once the footer is read: the next row group is fetched while
    /// the current one is decoded.
    pub prefetch: Arc<std::sync::Mutex<Prefetch>>,
}

impl ObjectRanges {
    pub fn new(remote: Remote, size: u64) -> Self {
        ObjectRanges {
            remote,
            size,
            prefetch: Arc::default(),
        }
    }
}

type Fetch =
    futures_util::future::Shared<BoxFuture<'static, Result<Bytes, Arc<object_store::Error>>>>;

/// The byte span of each row group, and the fetches of spans started ahead.
#[derive(Default)]
pub struct Prefetch {
    spans: Vec<Range<u64>>,
    started: std::collections::HashMap<usize, Fetch>,
}

impl Prefetch {
    /// Sets the row groups' spans (from the footer).
    pub fn set_spans(&mut self, spans: Vec<Range<u64>>) {
        self.spans = spans;
    }
}

/// Fetches `range` as parallel 8 MiB range requests.
async fn fetch_parts(
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    range: Range<u64>,
) -> object_store::Result<Bytes> {
    let parts: Vec<Range<u64>> = (range.start..range.end)
        .step_by(PART as usize)
        .map(|s| s..(s + PART).min(range.end))
        .collect();
    if parts.len() <= 1 {
        return store.get_range(&path, range).await;
    }
    let pieces: Vec<Bytes> = futures_util::stream::iter(parts)
        .map(|r| {
            let (store, path) = (store.clone(), path.clone());
            async move { store.get_range(&path, r).await }
        })
        .buffered(PARALLEL_PARTS)
        .try_collect()
        .await?;
    let mut whole = bytes::BytesMut::with_capacity((range.end - range.start) as usize);
    for p in pieces {
        whole.extend_from_slice(&p);
    }
    Ok(whole.freeze())
}

impl ObjectRanges {
    /// The fetch of row group `rg`'s span, started now if it was not already.
    fn span_fetch(&self, rg: usize) -> Option<Fetch> {
        let mut p = self.prefetch.lock().expect("prefetch");
        let span = p.spans.get(rg)?.clone();
        let (store, path) = (self.remote.store.clone(), self.remote.path.clone());
        let fetch = p.started.entry(rg).or_insert_with(|| {
            let fut: BoxFuture<'static, Result<Bytes, Arc<object_store::Error>>> =
                async move { fetch_parts(store, path, span).await.map_err(Arc::new) }.boxed();
            let shared = fut.shared();
            // Driven on the runtime, so it progresses while the reader decodes.
            tokio::spawn(shared.clone());
            shared
        });
        Some(fetch.clone())
    }

    /// The row group whose span holds all of `ranges`, if one does.
    fn row_group_of(&self, ranges: &[Range<u64>]) -> Option<(usize, u64)> {
        let p = self.prefetch.lock().expect("prefetch");
        let (first, last) = (ranges.first()?, ranges.last()?);
        let lo = ranges.iter().map(|r| r.start).min().unwrap_or(first.start);
        let hi = ranges.iter().map(|r| r.end).max().unwrap_or(last.end);
        p.spans
            .iter()
            .position(|s| s.start <= lo && hi <= s.end)
            .map(|rg| (rg, p.spans[rg].start))
    }

    fn forget(&self, rg: usize) {
        self.prefetch.lock().expect("prefetch").started.remove(&rg);
    }
}

impl parquet::arrow::async_reader::AsyncFileReader for ObjectRanges {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        let store = self.remote.store.clone();
        let path = self.remote.path.clone();
        async move { store.get_range(&path, range).await.map_err(external) }.boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            if let Some((rg, base)) = self.row_group_of(&ranges)
                && let Some(fetch) = self.span_fetch(rg)
            {
                // Start the next row group while this one is decoded.
                let _ = self.span_fetch(rg + 1);
                let span = fetch.await;
                self.forget(rg);
                let span = span.map_err(|e| parquet::errors::ParquetError::General(short(&e)))?;
                // A store shortens a range past the end of the object: the file changed
                // under the load, or its footer lies.
                let wanted = ranges.iter().map(|r| r.end - base).max().unwrap_or(0);
                if (span.len() as u64) < wanted {
                    return Err(parquet::errors::ParquetError::General(format!(
                        "the object is shorter than its footer says ({} bytes of a row group, {wanted} expected): was it rewritten during the load?",
                        span.len()
                    )));
                }
                return Ok(ranges
                    .iter()
                    .map(|r| span.slice((r.start - base) as usize..(r.end - base) as usize))
                    .collect());
            }
            let mut out = Vec::with_capacity(ranges.len());
            for range in ranges {
                let (store, path) = (self.remote.store.clone(), self.remote.path.clone());
                out.push(fetch_parts(store, path, range).await.map_err(external)?);
            }
            Ok(out)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a parquet::arrow::arrow_reader::ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<parquet::file::metadata::ParquetMetaData>>> {
        async move {
            let size = self.size;
            let metadata = parquet::file::metadata::ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .with_prefetch_hint(Some(64 << 10))
                .load_and_finish(self, size)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

fn external(e: object_store::Error) -> parquet::errors::ParquetError {
    parquet::errors::ParquetError::External(Box::new(e))
}
