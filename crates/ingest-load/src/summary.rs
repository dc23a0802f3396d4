use serde::Serialize;

use crate::Reject;

/// What a load did, as `--json` prints it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadSummary {
    pub file: String,
    pub table: String,
    /// The format the file was read as (`CSV`, `JSON`, `Parquet`...).
    pub format: &'static str,
    pub mode: &'static str,
    pub dry_run: bool,
    /// `succeeded` or `failed`.
    pub status: &'static str,
    pub rows_read: u64,
    pub rows_inserted: u64,
    pub rows_updated: u64,
    pub rows_unchanged: u64,
    /// `null` for `replace`, which empties the table without counting.
    pub rows_deleted: Option<u64>,
    pub rows_rejected: u64,
    /// Failures of `warn` rules: the rows were loaded, and are listed in the errors file.
    pub warnings: u64,
    /// Rows dropped because their key appeared again in the file (`--on-duplicate`).
    pub rows_duplicate: u64,
    pub bytes_read: u64,
    pub seconds: f64,
    pub rows_per_second: f64,
    pub errors_file: Option<String>,
    /// The first rejects, for a quick look.
    pub rejects_sample: Vec<Reject>,
    pub error: Option<String>,
    /// Each rule's checks and failures, each column's profile: when the load had rules
    /// (its own or the table's) or a report was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality: Option<ingest_quality::QualityReport>,
}
