use std::path::PathBuf;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use ingest_core::TextFormat;
use ingest_formats::csv::CsvOptions;
use ingest_formats::xlsx::XlsxLimits;
use ingest_formats::{Compression, DecompressLimits, Format};
use ingest_pg::{ConnectSource, DuplicatePolicy, LoadMode};

use ingest_quality::RuleSet;
use ingest_queue::Schema;

use crate::{LoadSummary, RejectLimit};

/// Everything a load needs, resolved from the command line (or, later, an API job).
#[derive(Debug, Clone)]
pub struct LoadRequest {
    /// The file or URL to read; with `records`, only how messages name the input.
    pub file: PathBuf,
    /// Records from elsewhere than a file (a pull source's pages or rows), read like a
    /// file's: mapped, typed, checked and written the same way.
    pub records: Option<RecordsInput>,
    pub table: String,
    pub database: ConnectSource,
    pub mode: LoadMode,
    /// Key columns; empty means the table's primary key.
    pub key: Vec<String>,
    pub on_duplicate: DuplicatePolicy,
    pub delete_missing: bool,
    pub scope: Vec<(String, String)>,
    /// `--map source=target` pairs.
    pub maps: Vec<(String, String)>,
    pub ignore_unknown: bool,
    /// `--format`; `None`: from the file name, confirmed by its first bytes.
    pub format: Option<Format>,
    /// `--compression`; `None`: from the file name, confirmed by its first bytes.
    pub compression: Option<Compression>,
    pub decompress: DecompressLimits,
    /// The xlsx sheet to read (default: the first).
    pub sheet: Option<String>,
    pub xlsx: XlsxLimits,
    /// How long a remote read may wait for the next byte before the load fails.
    pub read_timeout: std::time::Duration,
    pub text: TextOptions,
    pub max_errors: RejectLimit,
    pub errors_file: Option<PathBuf>,
    /// Quality rules given with this load (`--rules`), applied after the table's own
    /// (`ingest rules apply`).
    pub rules: Option<RuleSet>,
    /// Whether this load's own rules may carry SQL (`after_load`, `sql` checks): always
    /// from the command line; from the API, only for a token allowed to.
    pub rules_may_run_sql: bool,
    /// The service's schema, where tables' registered rules are kept.
    pub service_schema: Schema,
    /// `--report`: the quality report as one HTML page.
    pub report: Option<PathBuf>,
    /// `--diff-file`: each key an upsert or merge changes (or, in a dry run, would
    /// change), as NDJSON.
    pub diff_file: Option<PathBuf>,
    pub dry_run: bool,
    /// An empty file, or one with only a header, is an error unless this is set.
    pub allow_empty: bool,
    /// Whether the table may be created or grown to fit the file.
    pub shape: TableShape,
    /// Run in the load's transaction just before its COMMIT (a job queue records the job's
    /// success there, so the rows and the record commit together or not at all).
    pub before_commit: Option<BeforeCommit>,
    /// A connection to load through instead of a new one to `database` (a worker keeps
    /// one across its jobs). It must be idle, outside any transaction.
    pub connection: Option<Arc<tokio_postgres::Client>>,
}

/// A pull source's records as a load's input.
#[derive(Clone)]
pub struct RecordsInput {
    /// How the summary names the input's format (`HTTP`, `MariaDB`, `PostgreSQL`).
    pub label: &'static str,
    /// Opens the records, from the start; called on a thread that may block.
    pub open: Arc<RecordsOpener>,
}

pub type RecordsOpener = dyn Fn() -> Result<Box<dyn ingest_formats::RecordSource>, ingest_formats::SourceError>
    + Send
    + Sync;

impl std::fmt::Debug for RecordsInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecordsInput({})", self.label)
    }
}

/// `--create`, `--evolve` and `--infer-rows`: the table made or grown from the file, in
/// the load's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableShape {
    /// Create the table from the file's columns when it does not exist (default: false).
    pub create: bool,
    /// Add the file's columns the table lacks, nullable (default: false).
    pub evolve: bool,
    /// Records of a text source sampled to infer types (default: 10,000); `None` reads
    /// the whole file once first.
    pub infer_rows: Option<u64>,
}

impl Default for TableShape {
    fn default() -> Self {
        TableShape {
            create: false,
            evolve: false,
            infer_rows: Some(DEFAULT_INFER_ROWS),
        }
    }
}

/// Records sampled to infer a text column's type, unless told otherwise.
pub const DEFAULT_INFER_ROWS: u64 = 10_000;

/// What runs in a load's transaction just before COMMIT, given the load's connection and
/// its summary; an error rolls the load back and becomes [`LoadError::Vetoed`].
///
/// [`LoadError::Vetoed`]: crate::LoadError::Vetoed
#[derive(Clone)]
pub struct BeforeCommit(pub Arc<BeforeCommitFn>);

pub(crate) type BeforeCommitFn = dyn for<'a> Fn(&'a tokio_postgres::Client, &'a LoadSummary) -> BoxFuture<'a, Result<(), String>>
    + Send
    + Sync;

impl std::fmt::Debug for BeforeCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BeforeCommit(..)")
    }
}

/// How the text file is written: how to split it (the decoder's own options), how values
/// are spelled, and where its encoding came from.
#[derive(Debug, Clone, Default)]
pub struct TextOptions {
    pub csv: CsvOptions,
    /// `csv.encoding` comes from a locale, not from `--encoding`: a file that turns out to be
    /// UTF-8 (a BOM, or multi-byte UTF-8 in its first 64 KiB) is read as UTF-8 instead, so
    /// `--locale pt-BR` does not garble a UTF-8 export.
    pub encoding_is_a_guess: bool,
    /// `csv.delimiter` was set (by `--delimiter` or a locale): a `.tsv` name does not
    /// change it to a tab.
    pub delimiter_given: bool,
    pub format: TextFormat,
    /// An explicit `--timezone`; otherwise the session's TimeZone is used.
    pub timezone: Option<chrono_tz::Tz>,
}
