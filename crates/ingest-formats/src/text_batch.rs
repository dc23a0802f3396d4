use arrow_array::StringArray;

/// A batch of records as text, columnar: `columns[c].value(r)` is field `c` of record `r`.
/// Fields are valid UTF-8 (decoded from the source encoding); a null is a NULL in the
/// source (an unquoted NULL marker in CSV, `null` or a missing key in JSON).
#[derive(Debug)]
pub struct TextBatch {
    pub columns: Vec<StringArray>,
    /// The 1-based source line on which each record starts (as an editor numbers lines:
    /// LF, CRLF and a lone CR each end one, those embedded in quoted fields too).
    pub lines: Vec<u64>,
    /// Records that could not be split into the expected fields (too few or too many);
    /// they are not in `columns`.
    pub rejects: Vec<RecordReject>,
    /// Source bytes consumed up to the end of this batch, for progress.
    pub bytes_read: u64,
}

impl TextBatch {
    pub fn num_rows(&self) -> usize {
        self.lines.len()
    }
}

/// A record refused before any column was looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordReject {
    pub line: u64,
    /// The column at fault, when one is (a NUL byte in a field); `None` for the record's
    /// shape.
    pub column: Option<String>,
    pub reason: String,
    /// The record's fields joined back with the delimiter, as far as they were read.
    pub raw: String,
}
