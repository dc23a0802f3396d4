//! Rejected rows: counted against the limit, written to the errors file, sampled on stderr.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;

/// One refused value (or record, when `column` is `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reject {
    pub line: u64,
    pub column: Option<String>,
    pub value: String,
    pub reason: String,
    /// The file the row came from, when a load reads several (a glob or a prefix).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// `line` is a row number (Parquet, Avro), shown as "row N".
    #[serde(skip)]
    pub is_row: bool,
    /// The quality rule the row failed, by its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// A `warn` rule's failure: the row was loaded, the failure is reported.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub warning: bool,
}

impl Reject {
    /// A refused value of `column` on `line`.
    pub fn value(line: u64, column: &str, value: String, reason: String) -> Reject {
        Reject {
            line,
            column: Some(column.to_string()),
            value,
            reason,
            file: None,
            is_row: false,
            rule: None,
            warning: false,
        }
    }

    /// The same, naming the rule it failed.
    pub fn with_rule(mut self, rule: &str, warning: bool) -> Reject {
        self.rule = Some(rule.to_string());
        self.warning = warning;
        self
    }
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        let at = if self.is_row { "row" } else { "line" };
        match &self.column {
            Some(c) => write!(
                f,
                "{at} {}, column {c}: {} (value {:?})",
                self.line, self.reason, self.value
            )?,
            None => write!(f, "{at} {}: {}", self.line, self.reason)?,
        }
        match &self.rule {
            Some(rule) => write!(f, " [rule {rule}]"),
            None => Ok(()),
        }
    }
}

/// `--max-errors`: a number of rejected rows, or a percentage of the rows read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RejectLimit {
    Count(u64),
    Percent(f64),
}

impl Default for RejectLimit {
    fn default() -> Self {
        RejectLimit::Count(0)
    }
}

impl FromStr for RejectLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Some(p) = s.strip_suffix('%') {
            let p: f64 = p
                .trim()
                .parse()
                .map_err(|_| format!("{s:?} is not a percentage (e.g. 0.5%)"))?;
            if !(0.0..=100.0).contains(&p) {
                return Err(format!("{s:?}: a percentage is between 0% and 100%"));
            }
            Ok(RejectLimit::Percent(p))
        } else {
            s.parse()
                .map(RejectLimit::Count)
                .map_err(|_| format!("{s:?} is not a count or a percentage (e.g. 100 or 1%)"))
        }
    }
}

impl RejectLimit {
    /// Whether `rejected` rows out of `read` are over the limit. A percentage can only be
    /// judged at the end (`read` is then final).
    pub fn exceeded(&self, rejected: u64, read: u64) -> bool {
        match *self {
            RejectLimit::Count(n) => rejected > n,
            RejectLimit::Percent(p) => rejected as f64 > p / 100.0 * read as f64,
        }
    }

    /// Whether the limit can already be known to be exceeded before the end.
    pub fn exceeded_early(&self, rejected: u64) -> bool {
        matches!(*self, RejectLimit::Count(n) if rejected > n)
    }
}

impl std::fmt::Display for RejectLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RejectLimit::Count(n) => write!(f, "{n}"),
            RejectLimit::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// How many rejects are kept in memory for stderr and the summary.
pub(crate) const SAMPLE: usize = 10;

/// Collects rejects: the first few in memory, all of them in the errors file.
pub struct RejectSink {
    file: Option<(PathBuf, Writer)>,
    pub sample: Vec<Reject>,
    /// Rows rejected (a row with two bad values counts once).
    pub rows: u64,
    /// Failures of `warn` rules written (their rows were loaded).
    pub warnings: u64,
}

enum Writer {
    Csv(Box<csv::Writer<File>>),
    Ndjson(BufWriter<File>),
}

impl RejectSink {
    /// Opens the errors file (CSV, or NDJSON for `.ndjson`, `.jsonl` and `.json`).
    pub fn new(path: Option<&Path>) -> std::io::Result<Self> {
        let file = match path {
            None => None,
            Some(path) => {
                let ext = path
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("")
                    .to_ascii_lowercase();
                let f = File::create(path)?;
                let writer = if matches!(ext.as_str(), "ndjson" | "jsonl" | "json") {
                    Writer::Ndjson(BufWriter::new(f))
                } else {
                    let mut w = csv::Writer::from_writer(f);
                    w.write_record([
                        "line", "column", "value", "reason", "file", "rule", "severity",
                    ])?;
                    Writer::Csv(Box::new(w))
                };
                Some((path.to_path_buf(), writer))
            }
        };
        Ok(RejectSink {
            file,
            sample: Vec::new(),
            rows: 0,
            warnings: 0,
        })
    }

    /// Records the rejects of one row or several; `rows` is how many rows they cover.
    pub fn add(&mut self, rejects: &[Reject], rows: u64) -> std::io::Result<()> {
        self.rows += rows;
        for r in rejects {
            if self.sample.len() < SAMPLE {
                self.sample.push(r.clone());
            }
        }
        self.write(rejects)
    }

    /// Records failures of `warn` rules: written to the errors file, not counted as
    /// rejected rows.
    pub fn warn(&mut self, warnings: &[Reject]) -> std::io::Result<()> {
        self.warnings += warnings.len() as u64;
        self.write(warnings)
    }

    fn write(&mut self, rejects: &[Reject]) -> std::io::Result<()> {
        for r in rejects {
            match &mut self.file {
                None => {}
                Some((_, Writer::Csv(w))) => {
                    let line = r.line.to_string();
                    w.write_record([
                        line.as_str(),
                        r.column.as_deref().unwrap_or(""),
                        &r.value,
                        &r.reason,
                        r.file.as_deref().unwrap_or(""),
                        r.rule.as_deref().unwrap_or(""),
                        if r.warning { "warn" } else { "reject" },
                    ])?;
                }
                Some((_, Writer::Ndjson(w))) => {
                    serde_json::to_writer(&mut *w, r)?;
                    w.write_all(b"\n")?;
                }
            }
        }
        Ok(())
    }

    /// Flushes the errors file; returns its path if there is one.
    pub fn finish(&mut self) -> std::io::Result<Option<PathBuf>> {
        let Some((path, writer)) = &mut self.file else {
            return Ok(None);
        };
        match writer {
            Writer::Csv(w) => w.flush()?,
            Writer::Ndjson(w) => w.flush()?,
        }
        Ok(Some(path.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_and_judge() {
        assert_eq!(
            "100".parse::<RejectLimit>().unwrap(),
            RejectLimit::Count(100)
        );
        assert_eq!(
            "2.5%".parse::<RejectLimit>().unwrap(),
            RejectLimit::Percent(2.5)
        );
        assert!("abc".parse::<RejectLimit>().is_err());
        assert!("150%".parse::<RejectLimit>().is_err());
        assert!(RejectLimit::Count(0).exceeded(1, 10));
        assert!(!RejectLimit::Count(1).exceeded(1, 10));
        assert!(!RejectLimit::Percent(10.0).exceeded(1, 10));
        assert!(RejectLimit::Percent(10.0).exceeded(2, 10));
        assert!(!RejectLimit::Percent(10.0).exceeded_early(1000));
    }
}
