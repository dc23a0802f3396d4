//! HTTP sources: a partner's REST API read page by page into the load.
//!
//! [`open`] starts the page loop ([`pages`]) on the runtime and hands back its records as
//! a [`RecordSource`]; the loop fetches the next page while the load works on the last,
//! two pages ahead at most. Requests go through [`fetch`]: the rate budget, the auth, the
//! retries after `Retry-After`, the page size limit.

mod fetch;
pub mod json_path;
mod pages;
mod records;

use std::sync::Arc;
use std::time::Duration;

use ingest_formats::RecordSource;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

pub use fetch::{DEFAULT_MAX_PAGE_BYTES, retry_after};
pub use pages::first_url;

use crate::spec::HttpSource;
use crate::stats::PullStats;

/// Why an HTTP source could not be read. Messages name the request by method, path and
/// page, never by its full URL: a query may carry an API key.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{0}")]
    Config(String),
    #[error("{what}: the API cannot be reached: {message}")]
    Unreachable { what: String, message: String },
    #[error("{what}: the API answered {status}{}{}", if body.is_empty() { "" } else { ": " }, body)]
    Status {
        what: String,
        status: u16,
        body: String,
    },
    #[error(
        "{what}: the API answered {status} {attempts} times; giving up (source.retry.max_attempts)"
    )]
    GaveUp {
        what: String,
        status: u16,
        attempts: u32,
    },
    #[error(
        "{what}: the API answered {status} and asks to wait {}s, longer than source.retry.max_wait ({}s); the run stops and may be retried later",
        wait.as_secs(), max_wait.as_secs()
    )]
    WaitTooLong {
        what: String,
        status: u16,
        wait: Duration,
        max_wait: Duration,
    },
    #[error("page {page} is larger than {limit} bytes (source.max_page_bytes)")]
    PageTooLarge { page: u64, limit: u64 },
    #[error(
        "{what}: the answer is not JSON ({message}; content-type {content_type:?}, it starts {start:?})"
    )]
    NotJson {
        what: String,
        message: String,
        content_type: String,
        start: String,
    },
    #[error(
        "page {page}: source.records {path} finds nothing: {at} is not in the page (its keys: {})",
        if keys.is_empty() { "none, it is not an object".to_string() } else { keys.join(", ") }
    )]
    NoRecordsPath {
        page: u64,
        path: String,
        at: String,
        keys: Vec<String>,
    },
    #[error(
        "source.records {path} matched no record in a first run; set source.allow_empty: true if that is expected"
    )]
    NoRecords { path: String },
    #[error(
        "page {page}: pagination loop: the API gave the next page {next:?} again; nothing was loaded"
    )]
    PaginationLoop { page: u64, next: String },
    #[error(
        "page {page}: the next page is on another site ({link}); only the API's own links are followed"
    )]
    ForeignLink { page: u64, link: String },
}

/// What [`open`] needs beside the spec.
pub struct HttpRead {
    /// The spec's HTTP source, with its secrets resolved.
    pub source: HttpSource,
    /// The cursor as it goes into `{cursor}`.
    pub cursor: Option<String>,
    /// Whether finding no record at all is an error (a first run).
    pub require_records: bool,
    pub stats: Arc<PullStats>,
}

/// Starts reading on `handle` and returns the records; called on a thread that may block.
pub fn open(handle: &Handle, read: HttpRead) -> Box<dyn RecordSource> {
    // Two pages in flight: the next is fetched while the load works on the last.
    let (tx, rx) = mpsc::channel(2);
    let page_loop = pages::PageLoop {
        source: read.source,
        cursor: read.cursor,
        require_records: read.require_records,
        stats: read.stats,
    };
    handle.spawn(page_loop.run(tx));
    Box::new(records::HttpRecords::new(rx))
}
