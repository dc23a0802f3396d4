use std::path::PathBuf;

use encoding_rs::Encoding;
use ingest_core::TextFormat;
use ingest_pg::{ConnectSource, DuplicatePolicy, LoadMode};

use crate::load::RejectLimit;

/// Everything a load needs, resolved from the command line (or, later, an API job).
#[derive(Debug, Clone)]
pub struct LoadRequest {
    pub file: PathBuf,
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
    pub text: TextOptions,
    pub max_errors: RejectLimit,
    pub errors_file: Option<PathBuf>,
    pub dry_run: bool,
    /// An empty file, or one with only a header, is an error unless this is set.
    pub allow_empty: bool,
}

/// How the text file is written.
#[derive(Debug, Clone)]
pub struct TextOptions {
    pub delimiter: u8,
    pub quote: u8,
    pub escape: Option<u8>,
    pub has_header: bool,
    /// `None`: UTF-8, validated.
    pub encoding: Option<&'static Encoding>,
    /// `encoding` comes from a locale, not from `--encoding`: a file that turns out to be
    /// UTF-8 (a BOM, or multi-byte UTF-8 in its first 64 KiB) is read as UTF-8 instead, so
    /// `--locale pt-BR` does not garble a UTF-8 export.
    pub encoding_is_a_guess: bool,
    pub max_line_bytes: usize,
    pub format: TextFormat,
    /// An explicit `--timezone`; otherwise the session's TimeZone is used.
    pub timezone: Option<chrono_tz::Tz>,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            delimiter: b',',
            quote: b'"',
            escape: None,
            has_header: true,
            encoding: None,
            encoding_is_a_guess: false,
            max_line_bytes: 64 << 20,
            format: TextFormat::default(),
            timezone: None,
        }
    }
}
