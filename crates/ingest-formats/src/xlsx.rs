//! Excel workbooks (xlsx): one sheet as text records, through the same coercion as CSV.
//!
//! calamine reads a sheet whole, so the file is held in memory: its size is capped, and
//! the zip's declared sizes are checked first so that a zip bomb is refused before any
//! part of it is inflated. Numbers keep their shortest exact spelling (`0.1`, `12`),
//! dates and times come from Excel serials (to the millisecond, Excel's own precision),
//! booleans are `true`/`false`, an empty cell is NULL; a cell holding an Excel error
//! (`#DIV/0!`) rejects its row. Lines are the sheet's row numbers, as Excel shows them.

use std::io::Cursor;

use arrow_array::builder::StringBuilder;
use calamine::{Data, Range, Reader, Xlsx};

use crate::{RecordReject, TextBatch};

/// How large a workbook may be, packed and unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XlsxLimits {
    pub max_file_bytes: u64,
    /// The sum of the zip members' sizes once inflated.
    pub max_unpacked_bytes: u64,
}

impl Default for XlsxLimits {
    fn default() -> Self {
        XlsxLimits {
            max_file_bytes: 256 << 20,
            max_unpacked_bytes: 2 << 30,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum XlsxError {
    #[error(
        "the workbook is {size} bytes; xlsx is read whole into memory and the limit is {limit} (--max-xlsx-bytes); save it as CSV for larger sheets"
    )]
    TooLarge { size: u64, limit: u64 },
    #[error(
        "the workbook would inflate to {unpacked} bytes, over the limit of {limit}: refusing a possible zip bomb"
    )]
    Bomb { unpacked: u64, limit: u64 },
    #[error("not an xlsx workbook: {0}")]
    NotXlsx(String),
    #[error("no sheet named {wanted:?}; the workbook has {}", .found.join(", "))]
    NoSuchSheet { wanted: String, found: Vec<String> },
    #[error("the workbook has no sheets")]
    NoSheets,
    #[error("sheet {sheet:?}: {reason}")]
    Sheet { sheet: String, reason: String },
}

/// One sheet, loaded, handed out in batches.
pub struct XlsxSheet {
    range: Range<Data>,
    /// 0-based index in `range` of the next row to hand out.
    next: usize,
    /// The sheet row number of `range`'s first row, minus one.
    first_line: u64,
    header: Option<Vec<String>>,
    batch_rows: usize,
}

impl XlsxSheet {
    /// Opens `sheet` (or the first sheet) of the workbook in `bytes`.
    pub fn open(
        bytes: Vec<u8>,
        sheet: Option<&str>,
        limits: XlsxLimits,
    ) -> Result<Self, XlsxError> {
        check_unpacked_size(&bytes, limits)?;
        let mut book =
            Xlsx::new(Cursor::new(bytes)).map_err(|e| XlsxError::NotXlsx(e.to_string()))?;
        let names = book.sheet_names();
        let name = match sheet {
            Some(s) => names
                .iter()
                .find(|n| n.as_str() == s)
                .or_else(|| names.iter().find(|n| n.eq_ignore_ascii_case(s)))
                .cloned()
                .ok_or_else(|| XlsxError::NoSuchSheet {
                    wanted: s.to_string(),
                    found: names.clone(),
                })?,
            None => names.first().cloned().ok_or(XlsxError::NoSheets)?,
        };
        let range = book.worksheet_range(&name).map_err(|e| XlsxError::Sheet {
            sheet: name.clone(),
            reason: e.to_string(),
        })?;
        let first_line = range.start().map_or(0, |(row, _)| u64::from(row));
        let mut sheet = XlsxSheet {
            range,
            next: 0,
            first_line,
            header: None,
            batch_rows: 16384,
        };
        sheet.read_header();
        Ok(sheet)
    }

    /// The header row's cells (the first row with any value), `None` for an empty sheet.
    pub fn header(&self) -> Option<&[String]> {
        self.header.as_deref()
    }

    fn read_header(&mut self) {
        for (i, row) in self.range.rows().enumerate() {
            if row.iter().any(|c| !matches!(c, Data::Empty)) {
                let names = row
                    .iter()
                    .enumerate()
                    .map(|(i, c)| match text(c) {
                        Ok(Some(t)) if !t.trim().is_empty() => t.trim().to_string(),
                        _ => format!("column_{}", i + 1),
                    })
                    .collect();
                self.header = Some(names);
                self.next = i + 1;
                return;
            }
        }
        self.next = self.range.height();
    }

    /// The next batch of rows; `None` at the end. Blank rows are skipped.
    pub fn next_batch(&mut self) -> Option<TextBatch> {
        let width = self.header.as_ref()?.len();
        let height = self.range.height();
        if self.next >= height {
            return None;
        }
        let mut columns: Vec<StringBuilder> = (0..width).map(|_| StringBuilder::new()).collect();
        let mut lines = Vec::new();
        let mut rejects = Vec::new();
        let mut rows = self.range.rows().skip(self.next);
        let mut next = self.next;
        while next < height && lines.len() + rejects.len() < self.batch_rows {
            let row = rows.next().unwrap_or(&[]);
            let line = self.first_line + next as u64 + 1;
            next += 1;
            if row.iter().all(|c| matches!(c, Data::Empty)) {
                continue;
            }
            if let Some(extra) = row
                .iter()
                .skip(width)
                .position(|c| !matches!(c, Data::Empty))
            {
                rejects.push(RecordReject {
                    line,
                    reason: format!(
                        "a value in column {}, beyond the header's {width} columns",
                        width + extra + 1
                    ),
                    raw: raw_row(row),
                });
                continue;
            }
            let cells: Result<Vec<Option<String>>, String> = (0..width)
                .map(|i| text(row.get(i).unwrap_or(&Data::Empty)))
                .collect();
            match cells {
                Ok(cells) => {
                    for (b, cell) in columns.iter_mut().zip(cells) {
                        b.append_option(cell);
                    }
                    lines.push(line);
                }
                Err(reason) => rejects.push(RecordReject {
                    line,
                    reason,
                    raw: raw_row(row),
                }),
            }
        }
        self.next = next;
        if lines.is_empty() && rejects.is_empty() {
            return None;
        }
        Some(TextBatch {
            columns: columns.iter_mut().map(|b| b.finish()).collect(),
            lines,
            rejects,
            bytes_read: 0,
        })
    }
}

/// Refuses a workbook that is too large, or whose members would inflate past the limit,
/// before anything is inflated.
fn check_unpacked_size(bytes: &[u8], limits: XlsxLimits) -> Result<(), XlsxError> {
    let size = bytes.len() as u64;
    if size > limits.max_file_bytes {
        return Err(XlsxError::TooLarge {
            size,
            limit: limits.max_file_bytes,
        });
    }
    let mut zip =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| XlsxError::NotXlsx(e.to_string()))?;
    let mut unpacked = 0u64;
    for i in 0..zip.len() {
        let member = zip
            .by_index_raw(i)
            .map_err(|e| XlsxError::NotXlsx(e.to_string()))?;
        unpacked = unpacked.saturating_add(member.size());
    }
    if unpacked > limits.max_unpacked_bytes {
        return Err(XlsxError::Bomb {
            unpacked,
            limit: limits.max_unpacked_bytes,
        });
    }
    Ok(())
}

/// A cell as the text a CSV field holding it would say; `None` for an empty cell.
fn text(cell: &Data) -> Result<Option<String>, String> {
    Ok(Some(match cell {
        Data::Empty => return Ok(None),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        // Integral values print without ".0"; others in their shortest exact form.
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => (*f as i64).to_string(),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) if dt.is_duration() => {
            let ms = dt.as_duration().map_or(0, |d| d.num_milliseconds());
            duration_text(ms)
        }
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => t.date().to_string(),
            Some(t) => t.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
            None => return Err(format!("Excel date serial {} is out of range", dt.as_f64())),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => return Err(format!("the cell holds the Excel error {e}")),
    }))
}

fn duration_text(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    format!("{sign}{h:02}:{m:02}:{:02}.{:03}", rest / 1000, rest % 1000)
}

fn raw_row(row: &[Data]) -> String {
    row.iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_as_text() {
        assert_eq!(text(&Data::Float(12.0)), Ok(Some("12".into())));
        assert_eq!(
            text(&Data::Float(-6760538.61)),
            Ok(Some("-6760538.61".into()))
        );
        assert_eq!(text(&Data::Float(0.1)), Ok(Some("0.1".into())));
        assert_eq!(text(&Data::Bool(true)), Ok(Some("true".into())));
        assert_eq!(text(&Data::Empty), Ok(None));
        assert_eq!(text(&Data::String(String::new())), Ok(Some(String::new())));
        assert!(
            text(&Data::Error(calamine::CellErrorType::Div0))
                .unwrap_err()
                .contains("#DIV/0!")
        );
        assert_eq!(duration_text(3_723_004), "01:02:03.004");
    }

    #[test]
    fn not_a_zip_is_refused() {
        let e = XlsxSheet::open(b"id,name\n1,x\n".to_vec(), None, XlsxLimits::default())
            .err()
            .unwrap();
        assert!(matches!(e, XlsxError::NotXlsx(_)), "{e}");
        let e = XlsxSheet::open(
            vec![0; 100],
            None,
            XlsxLimits {
                max_file_bytes: 10,
                ..Default::default()
            },
        )
        .err()
        .unwrap();
        assert!(
            matches!(
                e,
                XlsxError::TooLarge {
                    size: 100,
                    limit: 10
                }
            ),
            "{e}"
        );
    }
}
