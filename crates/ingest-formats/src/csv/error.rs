/// A file-level fault: the load cannot go on past it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsvError {
    #[error("the file is empty")]
    Empty,
    #[error("line {line}: a quoted field is never closed (unterminated quote)")]
    UnterminatedQuote { line: u64 },
    #[error(
        "line {line}, column {column}: invalid UTF-8 (byte 0x{byte:02x}); if the file is in \
         another encoding, say which with --encoding (e.g. windows-1252)"
    )]
    InvalidUtf8 { line: u64, column: String, byte: u8 },
    #[error(
        "line {line}, column {column}: NUL byte in the data; PostgreSQL text cannot hold it \
         (is the file UTF-16? then use --encoding utf-16le)"
    )]
    NulByte { line: u64, column: String },
    #[error("line {line}: record longer than {limit} bytes (the limit is --max-line-bytes)")]
    RecordTooLarge { line: u64, limit: usize },
    #[error("header: column {name:?} appears twice (columns {first} and {second})")]
    DuplicateHeader {
        name: String,
        first: usize,
        second: usize,
    },
    #[error("header: column {index} has an empty name")]
    EmptyHeader { index: usize },
}
