//! What a run asked of its source: requests, pages, records, retries and waits, counted
//! as they happen (the fetch runs on its own task) and recorded on the run's job.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

#[derive(Debug, Default)]
pub struct PullStats {
    pub requests: AtomicU64,
    pub pages: AtomicU64,
    pub records: AtomicU64,
    pub retries: AtomicU64,
    pub waited_ms: AtomicU64,
}

/// The counts at one moment, as they are reported.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullCounts {
    pub requests: u64,
    pub pages: u64,
    pub records: u64,
    pub retries: u64,
    /// Time spent waiting on `Retry-After` and backoff, in milliseconds.
    pub waited_ms: u64,
}

impl PullStats {
    pub fn counts(&self) -> PullCounts {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        PullCounts {
            requests: get(&self.requests),
            pages: get(&self.pages),
            records: get(&self.records),
            retries: get(&self.retries),
            waited_ms: get(&self.waited_ms),
        }
    }
}

/// A database source's rows, counted as they pass (an API's are counted per page by the
/// page loop): each batch is a "page".
pub struct Counted {
    pub inner: Box<dyn ingest_formats::RecordSource>,
    pub stats: std::sync::Arc<PullStats>,
}

impl ingest_formats::RecordSource for Counted {
    fn header(&mut self) -> Result<Option<Vec<String>>, ingest_formats::SourceError> {
        self.inner.header()
    }

    fn column_types(&self) -> Option<Vec<arrow_schema::DataType>> {
        self.inner.column_types()
    }

    fn next_batch(
        &mut self,
    ) -> Result<Option<ingest_formats::SourceBatch>, ingest_formats::SourceError> {
        let batch = self.inner.next_batch()?;
        if let Some(b) = &batch {
            let rows = match b {
                ingest_formats::SourceBatch::Text(t) => t.num_rows() + t.rejects.len(),
                ingest_formats::SourceBatch::Typed(t) => t.num_rows(),
            };
            self.stats.pages.fetch_add(1, Ordering::Relaxed);
            self.stats.records.fetch_add(rows as u64, Ordering::Relaxed);
        }
        Ok(batch)
    }

    fn current_file(&self) -> Option<std::sync::Arc<str>> {
        self.inner.current_file()
    }
}
