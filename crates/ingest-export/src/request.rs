//! What an export is asked to do, and what it did.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use ingest_pg::ConnectSource;
use serde::Serialize;

use crate::columns::NumericAs;
use crate::parquet_files;

/// What to export.
#[derive(Debug, Clone)]
pub enum ExportSource {
    Table(String),
    Query(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Parquet,
    Csv,
    Ndjson,
}

impl ExportFormat {
    /// The format a destination's name implies (under a `.gz`/`.zst` suffix).
    pub fn from_name(to: &str) -> Option<ExportFormat> {
        let name = to.split('?').next().unwrap_or(to).to_ascii_lowercase();
        let name = [".gz", ".zst", ".zstd"]
            .iter()
            .find_map(|c| name.strip_suffix(c))
            .unwrap_or(&name);
        match name.rsplit_once('.')?.1 {
            "parquet" | "pq" => Some(ExportFormat::Parquet),
            "csv" | "txt" => Some(ExportFormat::Csv),
            "ndjson" | "jsonl" | "json" => Some(ExportFormat::Ndjson),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Parquet => "parquet",
            ExportFormat::Csv => "csv",
            ExportFormat::Ndjson => "ndjson",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub source: ExportSource,
    pub to: String,
    pub format: ExportFormat,
    pub database: ConnectSource,
    pub numeric_as: NumericAs,
    /// CSV field delimiter.
    pub delimiter: u8,
    /// Parquet: a row group is closed when its encoded size reaches this.
    pub row_group_bytes: usize,
    /// Parquet: Hive-style directories by a column's value (or its day, month or year).
    pub partition_by: Option<PartitionBy>,
    /// Parquet: a new part file once a file reaches this size.
    pub max_file_bytes: Option<u64>,
    /// Connections reading a table's blocks at once (sharing one snapshot); None: one
    /// per core for tables over 128 MiB, else one.
    pub readers: Option<usize>,
    /// Set once the files are being put in place: a job's cancel then waits for the end,
    /// rather than leave some of a directory's files in place and not others.
    pub committing: Arc<AtomicBool>,
    /// A cap on the export's statements (set for queries that come through the API).
    pub statement_timeout: Option<std::time::Duration>,
    /// CSV as `--locale pt-BR` writes it: decimal commas and day-first dates.
    pub brazilian: bool,
    /// CSV in this encoding (PostgreSQL's name: `WIN1252`, `LATIN1`), converted by the
    /// server; a character it cannot hold is an error.
    pub encoding: Option<String>,
}

/// `--partition-by col` or `col:day|month|year`.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionBy {
    pub column: String,
    /// `to_char` pattern of a date or timestamp column's day, month or year.
    pub unit: Option<&'static str>,
}

impl PartitionBy {
    pub fn parse(spec: &str) -> Result<PartitionBy, String> {
        let (column, unit) = match spec.rsplit_once(':') {
            Some((c, u)) => (c, Some(u)),
            None => (spec, None),
        };
        let unit = match unit.map(str::to_ascii_lowercase).as_deref() {
            None => None,
            Some("day") => Some("YYYY-MM-DD"),
            Some("month") => Some("YYYY-MM"),
            Some("year") => Some("YYYY"),
            Some(other) => {
                return Err(format!(
                    "--partition-by {spec}: unknown unit {other:?} (day, month or year)"
                ));
            }
        };
        if column.is_empty() {
            return Err("--partition-by needs a column".into());
        }
        Ok(PartitionBy {
            column: column.to_string(),
            unit,
        })
    }
}

/// What an export did, for `--json` and the closing line.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportSummary {
    pub source: String,
    pub to: String,
    pub format: &'static str,
    pub rows: u64,
    pub bytes_written: u64,
    pub seconds: f64,
    /// When the snapshot was taken (the server's clock).
    pub snapshot_at: String,
    /// The files of a directory export (also listed in its `_manifest.json`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<parquet_files::FileEntry>,
}
