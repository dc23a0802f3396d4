use encoding_rs::Encoding;

/// How to split a delimited file. Defaults: `,`, `"` quoting with doubled quotes, no escape
/// character, a header row, UTF-8, 64 MiB per record, 16384 records per batch.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    pub delimiter: u8,
    pub quote: u8,
    /// An escape character inside quotes (e.g. `\`); `None`: quotes are escaped by doubling.
    pub escape: Option<u8>,
    pub has_header: bool,
    /// An unquoted field equal to this is NULL (default: the empty field). A quoted field
    /// never is, as in PostgreSQL's CSV: `""` is an empty string.
    pub null: Option<String>,
    /// `None` is UTF-8 (validated); otherwise the bytes are decoded with this encoding.
    pub encoding: Option<&'static Encoding>,
    /// A record larger than this (in source bytes) is an error: it protects memory from a
    /// runaway quote or a file with no newlines.
    pub max_record_bytes: usize,
    pub batch_rows: usize,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            quote: b'"',
            escape: None,
            has_header: true,
            null: Some(String::new()),
            encoding: None,
            max_record_bytes: 64 << 20,
            batch_rows: 16384,
        }
    }
}
