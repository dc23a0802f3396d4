//! A look at a file before it is loaded: its format and, for text, the dialect its head
//! suggests ([`detect`]); then its first rows as the load would read them with the
//! options chosen ([`preview`]), so what is shown is what will be loaded.

mod detect;

use arrow_array::Array;
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use ingest_formats::SourceBatch;
use tokio::runtime::Handle;

pub use detect::{Dialect, detect};

use crate::input::{self, Location};
use crate::{LoadError, LoadRequest};

/// The first rows of a file, as text, as the load reads them.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Preview {
    /// `CSV`, `xlsx`, `Parquet`...
    pub format: String,
    pub header: Vec<String>,
    /// An xlsx workbook's sheets (the one read is `sheet`, else the first).
    pub sheets: Vec<String>,
    /// Each row's values (NULL as `None`), in the header's order.
    pub rows: Vec<Vec<Option<String>>>,
    /// Each row's line (or row number) in the file.
    pub lines: Vec<u64>,
    /// Records refused before any column was looked at (a wrong number of fields).
    pub refused: Vec<(u64, String)>,
}

/// The file's format name and, for a text format, its first bytes (decompressed).
pub async fn head(req: &LoadRequest) -> Result<(String, Option<Vec<u8>>), LoadError> {
    let file_name = ingest_store::redacted(&req.file.to_string_lossy());
    let (req, handle) = (req.clone(), Handle::current());
    tokio::task::spawn_blocking(move || {
        let location = Location::of(&req.file.to_string_lossy(), &req)?;
        let input = input::open(&req, &location, &file_name, &handle)?;
        let text = !input.format.is_binary();
        Ok((input.format.name().to_string(), text.then_some(input.head)))
    })
    .await
    .expect("opening the input panicked")
}

/// Up to `max_rows` rows of the file `req` names, read with `req`'s options.
pub async fn preview(req: &LoadRequest, max_rows: usize) -> Result<Preview, LoadError> {
    let file_name = ingest_store::redacted(&req.file.to_string_lossy());
    let mut sources = crate::input::expand_sources(req, &file_name).await?;
    let handle = Handle::current();
    let first = crate::run::open_first(req, &mut sources, &handle).await?;
    let mut preview = Preview {
        format: first.label.to_string(),
        header: first.header.clone().unwrap_or_default(),
        sheets: first.sheets.clone(),
        ..Preview::default()
    };
    let mut source = first.source;
    tokio::task::spawn_blocking(move || {
        while preview.rows.len() + preview.refused.len() < max_rows {
            let Some(batch) = source
                .next_batch()
                .map_err(|e| crate::open::input_error(&file_name, e))?
            else {
                break;
            };
            let room = max_rows - preview.rows.len();
            match batch {
                SourceBatch::Text(t) => {
                    preview
                        .refused
                        .extend(t.rejects.iter().map(|r| (r.line, r.reason.clone())));
                    for row in 0..t.num_rows().min(room) {
                        preview.lines.push(t.lines[row]);
                        preview.rows.push(
                            t.columns
                                .iter()
                                .map(|c| (!c.is_null(row)).then(|| c.value(row).to_string()))
                                .collect(),
                        );
                    }
                }
                SourceBatch::Typed(t) => {
                    let options = FormatOptions::default();
                    let formatters: Vec<_> = t
                        .columns
                        .iter()
                        .map(|c| {
                            ArrayFormatter::try_new(c.as_ref(), &options)
                                .ok()
                                .map(|f| (c.clone(), f))
                        })
                        .collect();
                    for row in 0..t.num_rows().min(room) {
                        preview.lines.push(t.first_row + row as u64);
                        preview.rows.push(
                            formatters
                                .iter()
                                .map(|f| match f {
                                    Some((c, f)) if !c.is_null(row) => {
                                        Some(f.value(row).to_string())
                                    }
                                    _ => None,
                                })
                                .collect(),
                        );
                    }
                }
            }
        }
        Ok(preview)
    })
    .await
    .expect("reading the preview panicked")
}

/// The rows of the file at `lines` (its line or row numbers, as rejects name them), with
/// its header: what an analyst downloads to fix the rejected rows and load only those.
/// Reads the whole file if need be, stopping once every line was found.
pub async fn rows_at(
    req: &LoadRequest,
    lines: std::collections::BTreeSet<u64>,
) -> Result<Preview, LoadError> {
    let file_name = ingest_store::redacted(&req.file.to_string_lossy());
    let mut sources = crate::input::expand_sources(req, &file_name).await?;
    let handle = Handle::current();
    let first = crate::run::open_first(req, &mut sources, &handle).await?;
    let mut found = Preview {
        format: first.label.to_string(),
        header: first.header.clone().unwrap_or_default(),
        ..Preview::default()
    };
    let mut source = first.source;
    tokio::task::spawn_blocking(move || {
        let mut left = lines.len();
        while left > 0 {
            let Some(batch) = source
                .next_batch()
                .map_err(|e| crate::open::input_error(&file_name, e))?
            else {
                break;
            };
            let before = found.lines.len() + found.refused.len();
            let mut keep = |line: u64, values: Vec<Option<String>>| {
                found.lines.push(line);
                found.rows.push(values);
            };
            match batch {
                SourceBatch::Text(t) => {
                    for r in t.rejects.iter().filter(|r| lines.contains(&r.line)) {
                        found.refused.push((r.line, r.reason.clone()));
                    }
                    for row in 0..t.num_rows() {
                        if lines.contains(&t.lines[row]) {
                            keep(
                                t.lines[row],
                                t.columns
                                    .iter()
                                    .map(|c| (!c.is_null(row)).then(|| c.value(row).to_string()))
                                    .collect(),
                            );
                        }
                    }
                }
                SourceBatch::Typed(t) => {
                    let options = FormatOptions::default();
                    let formatters: Vec<_> = t
                        .columns
                        .iter()
                        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).ok())
                        .collect();
                    for row in 0..t.num_rows() {
                        let line = t.first_row + row as u64;
                        if lines.contains(&line) {
                            let values = t
                                .columns
                                .iter()
                                .zip(&formatters)
                                .map(|(c, f)| {
                                    f.as_ref()
                                        .filter(|_| !c.is_null(row))
                                        .map(|f| f.value(row).to_string())
                                })
                                .collect();
                            keep(line, values);
                        }
                    }
                }
            }
            left = left.saturating_sub(found.lines.len() + found.refused.len() - before);
        }
        Ok(found)
    })
    .await
    .expect("reading the rows panicked")
}
