//! The largest `(cursor_field, tie_breaker)` among the records a run read, found as the
//! batches pass on their way to the load, so that the cursor the run commits covers
//! exactly the records it loaded.
//!
//! Values compare as what they are: instants (whatever their offset), integers (exactly,
//! a 20-digit id too), other numbers, then text. A database source returns its rows in
//! cursor order, so only each batch's last row is looked at; an API's are all looked at.

use std::cmp::Ordering;
use std::sync::{Arc, Mutex};

use arrow_array::{Array, ArrayRef};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use ingest_formats::{RecordSource, SourceBatch, SourceError};

use crate::cursor::Cursor;

/// A cursor value as it compares.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum CursorKey {
    Int(i128),
    Time(DateTime<Utc>),
    Number(f64),
    Text(String),
}

impl CursorKey {
    pub fn of(text: &str) -> CursorKey {
        let t = text.trim();
        if let Ok(i) = t.parse::<i128>() {
            return CursorKey::Int(i);
        }
        if let Some(time) = instant(t) {
            return CursorKey::Time(time);
        }
        match t.parse::<f64>() {
            Ok(n) if n.is_finite() => CursorKey::Number(n),
            _ => CursorKey::Text(t.to_string()),
        }
    }

    fn cmp(&self, other: &CursorKey) -> Ordering {
        self.partial_cmp(other).unwrap_or(Ordering::Equal)
    }
}

/// A timestamp in the forms APIs and databases write (RFC 3339, `YYYY-MM-DD HH:MM:SS`,
/// a date); without an offset it is UTC.
pub fn instant(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// A cursor value as it goes into a request: an instant as ISO 8601 in UTC (moved back by
/// `lookback`), anything else as it is.
pub fn request_value(value: &str, lookback: Option<std::time::Duration>) -> String {
    match instant(value.trim()) {
        Some(t) => {
            let back = lookback
                .and_then(|l| chrono::Duration::from_std(l).ok())
                .unwrap_or_default();
            (t - back).to_rfc3339_opts(SecondsFormat::AutoSi, true)
        }
        None => value.to_string(),
    }
}

/// The largest cursor seen so far, shared between the reader and the commit.
#[derive(Debug, Default)]
pub struct Largest {
    best: Mutex<Option<(CursorKey, Option<CursorKey>, Cursor)>>,
}

impl Largest {
    pub fn get(&self) -> Option<Cursor> {
        self.best
            .lock()
            .expect("not poisoned")
            .as_ref()
            .map(|b| b.2.clone())
    }

    fn offer(&self, value: &str, tie: Option<&str>) {
        let key = CursorKey::of(value);
        let tie_key = tie.map(CursorKey::of);
        let mut best = self.best.lock().expect("not poisoned");
        let larger = match best.as_ref() {
            None => true,
            Some((k, t, _)) => match key.cmp(k) {
                Ordering::Greater => true,
                Ordering::Less => false,
                Ordering::Equal => match (&tie_key, t) {
                    (Some(a), Some(b)) => a.cmp(b) == Ordering::Greater,
                    _ => false,
                },
            },
        };
        if larger {
            let cursor = Cursor {
                value: value.to_string(),
                tie: tie.map(str::to_string),
            };
            *best = Some((key, tie_key, cursor));
        }
    }
}

/// Whether `a` lies past `b`.
pub fn is_past(a: &Cursor, b: &Cursor) -> bool {
    match CursorKey::of(&a.value).cmp(&CursorKey::of(&b.value)) {
        Ordering::Greater => true,
        Ordering::Less => false,
        Ordering::Equal => match (&a.tie, &b.tie) {
            (Some(x), Some(y)) => CursorKey::of(x).cmp(&CursorKey::of(y)) == Ordering::Greater,
            _ => false,
        },
    }
}

/// A source whose batches are watched for the largest cursor.
pub struct Tracked {
    pub inner: Box<dyn RecordSource>,
    pub field: String,
    pub tie: Option<String>,
    /// Rows come in cursor order: each batch's last row is its largest.
    pub ordered: bool,
    pub largest: Arc<Largest>,
    /// The positions of the cursor and tie columns, once the header is read.
    columns: Option<(usize, Option<usize>)>,
}

/// The cursor field is not among the records' fields.
#[derive(Debug, thiserror::Error)]
#[error("incremental.cursor_field {field:?} is not among the source's fields ({})", fields.join(", "))]
pub struct MissingField {
    pub field: String,
    pub fields: Vec<String>,
}

impl Tracked {
    pub fn new(
        inner: Box<dyn RecordSource>,
        field: &str,
        tie: Option<&str>,
        ordered: bool,
        largest: Arc<Largest>,
    ) -> Tracked {
        Tracked {
            inner,
            field: field.to_string(),
            tie: tie.map(str::to_string),
            ordered,
            largest,
            columns: None,
        }
    }

    fn values(
        &self,
        columns: &[ArrayRef],
        row: usize,
        at: (usize, Option<usize>),
    ) -> Option<(String, Option<String>)> {
        let text = |c: usize| -> Option<String> {
            let array = &columns[c];
            if array.is_null(row) {
                return None;
            }
            let f = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default()).ok()?;
            Some(f.value(row).to_string())
        };
        let value = text(at.0)?;
        Some((value, at.1.and_then(text)))
    }
}

impl RecordSource for Tracked {
    fn header(&mut self) -> Result<Option<Vec<String>>, SourceError> {
        let header = self.inner.header()?;
        if let Some(h) = &header {
            let find = |name: &str| h.iter().position(|c| c == name);
            let Some(at) = find(&self.field) else {
                return Err(SourceError::Next(Box::new(MissingField {
                    field: self.field.clone(),
                    fields: h.clone(),
                })));
            };
            let tie = match &self.tie {
                Some(t) => Some(find(t).ok_or_else(|| {
                    SourceError::Next(Box::new(MissingField {
                        field: t.clone(),
                        fields: h.clone(),
                    }))
                })?),
                None => None,
            };
            self.columns = Some((at, tie));
        }
        Ok(header)
    }

    fn column_types(&self) -> Option<Vec<arrow_schema::DataType>> {
        self.inner.column_types()
    }

    fn next_batch(&mut self) -> Result<Option<SourceBatch>, SourceError> {
        let batch = self.inner.next_batch()?;
        if let (Some(batch), Some(at)) = (&batch, self.columns) {
            let (columns, rows): (Vec<ArrayRef>, usize) = match batch {
                SourceBatch::Text(t) => (
                    t.columns
                        .iter()
                        .map(|c| Arc::new(c.clone()) as ArrayRef)
                        .collect(),
                    t.num_rows(),
                ),
                SourceBatch::Typed(t) => (t.columns.clone(), t.num_rows()),
            };
            let first = if self.ordered {
                rows.saturating_sub(1)
            } else {
                0
            };
            for row in first..rows {
                if let Some((value, tie)) = self.values(&columns, row, at) {
                    self.largest.offer(&value, tie.as_deref());
                }
            }
        }
        Ok(batch)
    }

    fn current_file(&self) -> Option<Arc<str>> {
        self.inner.current_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_compare_as_what_they_are() {
        assert!(
            CursorKey::of("2026-01-01T01:00:00+01:00") == CursorKey::of("2026-01-01T00:00:00Z")
        );
        assert!(CursorKey::of("2026-01-02 00:00:00.5") > CursorKey::of("2026-01-02T00:00:00Z"));
        assert!(CursorKey::of("18446744073709551615") > CursorKey::of("9223372036854775807"));
        assert!(CursorKey::of("10") > CursorKey::of("9"));
        let largest = Largest::default();
        largest.offer("2026-03-01T10:00:00.100Z", Some("7"));
        largest.offer("2026-03-01T07:00:00.100-03:00", Some("5"));
        largest.offer("2026-03-01T07:00:00.100-03:00", Some("12"));
        largest.offer("2026-02-01T00:00:00Z", Some("99"));
        assert_eq!(
            largest.get(),
            Some(Cursor {
                value: "2026-03-01T07:00:00.100-03:00".into(),
                tie: Some("12".into())
            })
        );
    }

    #[test]
    fn a_cursor_goes_into_a_request_as_iso_8601() {
        assert_eq!(
            request_value("2026-03-01T07:00:00.100-03:00", None),
            "2026-03-01T10:00:00.100Z"
        );
        assert_eq!(
            request_value(
                "2026-03-01 10:00:00",
                Some(std::time::Duration::from_secs(600))
            ),
            "2026-03-01T09:50:00Z"
        );
        assert_eq!(request_value("abc", None), "abc");
        let at = |v: &str, tie: Option<&str>| Cursor {
            value: v.into(),
            tie: tie.map(str::to_string),
        };
        assert!(!is_past(&at("2", None), &at("10", None)));
        assert!(is_past(&at("10", Some("2")), &at("10", Some("1"))));
    }
}
