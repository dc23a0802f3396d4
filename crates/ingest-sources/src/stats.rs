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
