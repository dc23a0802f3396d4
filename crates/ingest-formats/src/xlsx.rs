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
use calamine::{Data, Reader, Xlsx};

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

#[derive(Debug, Clone, thiserror::Error)]
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

/// One sheet, streamed cell by cell on a thread of its own (calamine's cell reader borrows
/// the workbook), handed out in batches: memory holds one batch, not the sheet.
pub struct XlsxSheet {
    header: Option<Vec<String>>,
    rx: std::sync::mpsc::Receiver<Result<TextBatch, XlsxError>>,
}

/// Excel's last column is XFD.
const MAX_COLUMNS: u32 = 16384;

/// The names of the workbook's sheets, in order. The workbook passes the same size
/// checks as one that is read (calamine reads its shared strings on opening).
pub fn sheet_names(bytes: &[u8], limits: XlsxLimits) -> Result<Vec<String>, XlsxError> {
    check_unpacked_size(bytes, limits)?;
    let book = Xlsx::new(Cursor::new(bytes)).map_err(|e| XlsxError::NotXlsx(e.to_string()))?;
    Ok(book.sheet_names())
}

impl XlsxSheet {
    /// Opens `sheet` (or the first sheet) of the workbook in `bytes`, with `null` as the
    /// text that means NULL in a text cell.
    pub fn open(
        bytes: Vec<u8>,
        sheet: Option<&str>,
        null: Option<String>,
        limits: XlsxLimits,
    ) -> Result<Self, XlsxError> {
        check_unpacked_size(&bytes, limits)?;
        let sheet = sheet.map(str::to_string);
        let (header_tx, header_rx) = std::sync::mpsc::sync_channel(1);
        let (tx, rx) = std::sync::mpsc::sync_channel(2);
        std::thread::spawn(move || {
            let mut reader = RowReader::new(null);
            let result = reader.run(bytes, sheet.as_deref(), &header_tx, &tx);
            if let Err(e) = result {
                // Before the header, the opener is waiting for it; after, the batches.
                if header_tx.try_send(Err(e.clone())).is_err() {
                    let _ = tx.send(Err(e));
                }
            }
        });
        let header = header_rx.recv().unwrap_or_else(|_| {
            Err(XlsxError::Sheet {
                sheet: String::new(),
                reason: "the reader stopped".into(),
            })
        })?;
        Ok(XlsxSheet { header, rx })
    }

    /// The header row's cells (the first row with any value), `None` for an empty sheet.
    pub fn header(&self) -> Option<&[String]> {
        self.header.as_deref()
    }

    /// The next batch of rows; `None` at the end. Blank rows are skipped.
    pub fn next_batch(&mut self) -> Result<Option<TextBatch>, XlsxError> {
        match self.rx.recv() {
            Ok(batch) => batch.map(Some),
            Err(_) => Ok(None),
        }
    }
}

/// Groups the cells (row-major) into rows, and rows into batches.
struct RowReader {
    null: Option<String>,
    width: usize,
    columns: Vec<StringBuilder>,
    lines: Vec<u64>,
    rejects: Vec<RecordReject>,
    batch_rows: usize,
}

type HeaderTx = std::sync::mpsc::SyncSender<Result<Option<Vec<String>>, XlsxError>>;
type BatchTx = std::sync::mpsc::SyncSender<Result<TextBatch, XlsxError>>;

impl RowReader {
    fn new(null: Option<String>) -> Self {
        RowReader {
            null,
            width: 0,
            columns: Vec::new(),
            lines: Vec::new(),
            rejects: Vec::new(),
            batch_rows: 16384,
        }
    }

    fn run(
        &mut self,
        bytes: Vec<u8>,
        sheet: Option<&str>,
        header_tx: &HeaderTx,
        tx: &BatchTx,
    ) -> Result<(), XlsxError> {
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
        let sheet_err = |e: calamine::XlsxError| XlsxError::Sheet {
            sheet: name.clone(),
            reason: e.to_string(),
        };
        let mut cells = book.worksheet_cells_reader(&name).map_err(sheet_err)?;
        let mut header_sent = false;
        let mut row: Vec<Data> = Vec::new();
        let mut row_no: Option<u32> = None;
        loop {
            let cell = cells.next_cell().map_err(sheet_err)?;
            let next_row = cell.as_ref().map(|c| c.get_position().0);
            if row_no.is_some() && next_row != row_no {
                // The row is complete.
                let line = u64::from(row_no.unwrap_or(0)) + 1;
                if !header_sent {
                    if row.iter().any(|c| !matches!(c, Data::Empty)) {
                        let names = header_names(&row);
                        self.width = names.len();
                        self.columns = (0..self.width).map(|_| StringBuilder::new()).collect();
                        header_sent = true;
                        if header_tx.send(Ok(Some(names))).is_err() {
                            return Ok(());
                        }
                    }
                } else {
                    self.push_row(&row, line);
                    if self.lines.len() + self.rejects.len() >= self.batch_rows
                        && tx.send(Ok(self.take())).is_err()
                    {
                        return Ok(()); // the load stopped
                    }
                }
                row.clear();
            }
            let Some(cell) = cell else { break };
            let (r, c) = cell.get_position();
            if c >= MAX_COLUMNS {
                return Err(XlsxError::Sheet {
                    sheet: name.clone(),
                    reason: format!("a cell in column {}, beyond Excel's last column XFD", c + 1),
                });
            }
            row_no = Some(r);
            let c = c as usize;
            if row.len() <= c {
                row.resize(c + 1, Data::Empty);
            }
            row[c] = Data::from(cell.get_value().clone());
        }
        if !header_sent {
            let _ = header_tx.send(Ok(None));
            return Ok(());
        }
        if !self.lines.is_empty() || !self.rejects.is_empty() {
            let _ = tx.send(Ok(self.take()));
        }
        Ok(())
    }

    fn push_row(&mut self, row: &[Data], line: u64) {
        if row.iter().all(|c| matches!(c, Data::Empty)) {
            return;
        }
        let width = self.width;
        if let Some(extra) = row
            .iter()
            .skip(width)
            .position(|c| !matches!(c, Data::Empty))
        {
            self.rejects.push(RecordReject {
                column: None,
                line,
                reason: format!(
                    "a value in column {}, beyond the header's {width} columns",
                    width + extra + 1
                ),
                raw: raw_row(row),
            });
            return;
        }
        let cells: Result<Vec<Option<String>>, String> = (0..width)
            .map(|i| {
                let cell = row.get(i).unwrap_or(&Data::Empty);
                let t = text(cell)?;
                // The NULL marker applies to text cells, as to CSV fields.
                Ok(match (cell, t, &self.null) {
                    (Data::String(_), Some(t), Some(null)) if &t == null => None,
                    (_, t, _) => t,
                })
            })
            .collect();
        match cells {
            Ok(cells) => {
                for (b, cell) in self.columns.iter_mut().zip(cells) {
                    b.append_option(cell);
                }
                self.lines.push(line);
            }
            Err(reason) => self.rejects.push(RecordReject {
                column: None,
                line,
                reason,
                raw: raw_row(row),
            }),
        }
    }

    fn take(&mut self) -> TextBatch {
        TextBatch {
            columns: self.columns.iter_mut().map(|b| b.finish()).collect(),
            lines: std::mem::take(&mut self.lines),
            rejects: std::mem::take(&mut self.rejects),
            bytes_read: 0,
        }
    }
}

/// The header row's names; an empty cell gets `column_N`.
fn header_names(row: &[Data]) -> Vec<String> {
    let last = row
        .iter()
        .rposition(|c| !matches!(c, Data::Empty))
        .map_or(0, |i| i + 1);
    row[..last]
        .iter()
        .enumerate()
        .map(|(i, c)| match text(c) {
            Ok(Some(t)) if !t.trim().is_empty() => t.trim().to_string(),
            _ => format!("column_{}", i + 1),
        })
        .collect()
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
    check_shared_strings(&mut zip)
}

/// calamine reserves room for as many shared strings as the file claims: a claim larger
/// than the strings' XML could hold is refused (each takes at least `<si><t/></si>`).
fn check_shared_strings(zip: &mut zip::ZipArchive<Cursor<&[u8]>>) -> Result<(), XlsxError> {
    use std::io::Read;
    let Ok(member) = zip.by_name("xl/sharedStrings.xml") else {
        return Ok(());
    };
    let size = member.size();
    let mut head = Vec::new();
    member
        .take(4096)
        .read_to_end(&mut head)
        .map_err(|e| XlsxError::NotXlsx(e.to_string()))?;
    let head = String::from_utf8_lossy(&head);
    let claimed = head
        .split_once("uniqueCount=\"")
        .and_then(|(_, rest)| rest.split('"').next())
        .and_then(|n| n.parse::<u64>().ok());
    match claimed {
        Some(n) if n.saturating_mul(12) > size.max(64) => Err(XlsxError::NotXlsx(format!(
            "the shared strings claim {n} entries in {size} bytes: the workbook is corrupt"
        ))),
        _ => Ok(()),
    }
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
        // A serial below 1 is a time of day with no date.
        Data::DateTime(dt) if (0.0..1.0).contains(&dt.as_f64()) => match dt.as_datetime() {
            Some(t) => t.time().format("%H:%M:%S%.3f").to_string(),
            None => return Err(format!("Excel time serial {} is out of range", dt.as_f64())),
        },
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
        let noon = calamine::ExcelDateTime::new(0.5, calamine::ExcelDateTimeType::DateTime, false);
        assert_eq!(text(&Data::DateTime(noon)), Ok(Some("12:00:00.000".into())));
    }

    #[test]
    fn not_a_zip_is_refused() {
        let e = XlsxSheet::open(
            b"id,name\n1,x\n".to_vec(),
            None,
            None,
            XlsxLimits::default(),
        )
        .err()
        .unwrap();
        assert!(matches!(e, XlsxError::NotXlsx(_)), "{e}");
        let e = XlsxSheet::open(
            vec![0; 100],
            None,
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
