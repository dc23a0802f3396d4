//! Stage two: text records or typed columns to validated columns of the target's types,
//! encoded for binary COPY.

use crate::server_read::ServerRead;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType;
use bytes::{Bytes, BytesMut};
use ingest_core::{Coerced, PgType, TextFormat, cast_column, coerce_column};
use ingest_formats::TextBatch;
use ingest_pg::CopyEncoder;

use std::sync::Arc;

use arrow_array::StringArray;
use ingest_core::CellError;
use ingest_quality::{FailureSample, Severity};

use crate::Reject;
use crate::key_hash::{KeyColumn, hash_keys};
use crate::quality::QualityPlan;
use ingest_formats::{SourceBatch, TypedBatch};

/// A target column and the source field that feeds it.
#[derive(Debug, Clone)]
pub(crate) struct MappedColumn {
    pub source: usize,
    pub name: String,
    pub pg_type: PgType,
    pub not_null: bool,
    /// Part of the key that matches rows (upsert, merge): a NULL there is refused, since
    /// it would match nothing and insert a new row on every run.
    pub key: bool,
    /// Equal values have equal bytes (see `ingest_core::Column::byte_equality`).
    pub byte_equality: bool,
}

/// One batch after stage two.
#[derive(Debug, Default)]
pub(crate) struct EncodedBatch {
    /// Binary COPY rows (no header or trailer); empty in a dry run.
    pub data: Bytes,
    pub rows_read: u64,
    pub rows_rejected: u64,
    pub rejects: Vec<Reject>,
    /// Failures of `warn` rules: the rows are kept.
    pub warnings: Vec<Reject>,
    pub bytes_read: u64,
    /// Hashes of the kept rows' keys, when the transformer was asked for them.
    pub key_hashes: Vec<u64>,
    /// Source lines of the rows in `data`, to name the line of a row the server refuses.
    pub lines: Vec<u64>,
    /// The server could not be asked about values only it reads: the load stops (a
    /// connection failure is worth a retry, not a reject).
    pub failure: Option<ingest_pg::PgError>,
}

/// A batch that stops the load.
fn failed(e: ingest_pg::PgError) -> EncodedBatch {
    EncodedBatch {
        failure: Some(e),
        ..EncodedBatch::default()
    }
}

/// Coerces and encodes batches for one load.
pub(crate) struct Transformer {
    columns: Vec<MappedColumn>,
    format: TextFormat,
    /// `None` in a dry run: validate only.
    encoder: Option<CopyEncoder>,
    /// The key's columns, when its uniqueness is checked client-side.
    key: Option<Vec<KeyColumn>>,
    /// Where values the engine refuses get a second opinion.
    server: Option<ServerRead>,
    /// Cleaning, row rules and column profiles, when the load has rules or a report.
    quality: Option<Arc<QualityPlan>>,
}

impl Transformer {
    pub(crate) fn new(
        columns: Vec<MappedColumn>,
        format: TextFormat,
        encode: bool,
        with_line: bool,
    ) -> Self {
        let encoder = encode.then(|| {
            CopyEncoder::new(
                columns.iter().map(|c| c.pg_type.clone()).collect(),
                with_line,
            )
        });
        Transformer {
            columns,
            format,
            encoder,
            key: None,
            server: None,
            quality: None,
        }
    }

    /// Cleans values before typing them, checks row rules after, and profiles columns.
    pub(crate) fn with_quality(mut self, quality: Option<Arc<QualityPlan>>) -> Self {
        self.quality = quality;
        self
    }

    /// Column `c`'s text cleaned, with the values the cleaning refused; `None` when no
    /// step applies to it.
    fn cleaned(&self, c: usize, values: &StringArray) -> Option<(StringArray, Vec<CellError>)> {
        let (cleaned, refused) = self.quality.as_ref()?.cleaner.clean(c, values)?;
        let refused = refused
            .into_iter()
            .map(|r| CellError {
                row: r.row,
                reason: r.reason,
            })
            .collect();
        Some((cleaned, refused))
    }

    /// Values the engine refuses are asked of the server (see `server_read`).
    pub(crate) fn with_server(mut self, server: ServerRead) -> Self {
        self.server = Some(server);
        self
    }

    /// Also hash the key formed by these columns (indices into `columns`), for the
    /// client-side duplicate check.
    pub(crate) fn with_key_hashes(mut self, key: Vec<KeyColumn>) -> Self {
        self.key = Some(key);
        self
    }

    pub(crate) fn transform(&self, batch: SourceBatch) -> EncodedBatch {
        match batch {
            SourceBatch::Text(b) => self.transform_text(b),
            SourceBatch::Typed(b) => self.transform_typed(b),
        }
    }

    fn transform_text(&self, batch: TextBatch) -> EncodedBatch {
        let rejects: Vec<Reject> = batch
            .rejects
            .iter()
            .map(|r| Reject {
                file: None,
                is_row: false,
                rule: None,
                warning: false,
                line: r.line,
                column: r.column.clone(),
                value: r.raw.clone(),
                reason: r.reason.clone(),
            })
            .collect();
        let cleaned: Vec<Option<(StringArray, Vec<CellError>)>> = match &self.quality {
            Some(_) => (0..self.columns.len())
                .map(|c| self.cleaned(c, &batch.columns[self.columns[c].source]))
                .collect(),
            None => Vec::new(),
        };
        let input = |c: usize| match cleaned.get(c) {
            Some(Some((values, _))) => values,
            _ => &batch.columns[self.columns[c].source],
        };
        let mut coerced: Vec<Coerced> = self
            .columns
            .iter()
            .enumerate()
            .map(|(c, col)| {
                let mut coerced = coerce_column(input(c), &col.pg_type, &self.format);
                if let Some(Some((_, refused))) = cleaned.get(c) {
                    coerced.errors.extend(refused.iter().cloned());
                }
                coerced
            })
            .collect();
        let overrides: Result<Vec<Option<ArrayRef>>, _> = match &self.server {
            Some(server) => self
                .columns
                .iter()
                .zip(coerced.iter_mut())
                .enumerate()
                .map(|(c, (col, coerced))| server.second_opinion(&col.pg_type, input(c), coerced))
                .collect(),
            None => Ok(Vec::new()),
        };
        let overrides = match overrides {
            Ok(overrides) => overrides,
            Err(e) => return failed(e),
        };
        let raw = |col: &MappedColumn, row: usize| batch.columns[col.source].value(row).to_string();
        let rows_read = (batch.num_rows() + batch.rejects.len()) as u64;
        self.assemble(
            coerced,
            &overrides,
            &batch.lines,
            rejects,
            &raw,
            rows_read,
            batch.bytes_read,
        )
    }

    fn transform_typed(&self, mut batch: TypedBatch) -> EncodedBatch {
        // Cleaning applies to text: a typed file's string columns are cleaned as text,
        // its numbers and dates are already typed.
        let mut columns = batch.columns.clone();
        let mut refused: Vec<Vec<CellError>> = vec![Vec::new(); self.columns.len()];
        for (c, col) in self.columns.iter().enumerate() {
            let text = &batch.columns[col.source];
            let is_text = matches!(
                text.data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            );
            if !is_text || !self.quality.as_ref().is_some_and(|q| q.cleaner.cleans(c)) {
                continue;
            }
            let Ok(as_utf8) = arrow_cast::cast(text, &DataType::Utf8) else {
                continue;
            };
            if let Some((values, errors)) = self.cleaned(c, as_utf8.as_string::<i32>()) {
                columns[col.source] = Arc::new(values);
                refused[c] = errors;
            }
        }
        // Rejects show the value as the file holds it, before cleaning.
        let original = std::mem::replace(&mut batch.columns, columns);
        let mut coerced: Vec<Coerced> = self
            .columns
            .iter()
            .zip(refused)
            .map(|(col, refused)| {
                let mut c = cast_column(&batch.columns[col.source], &col.pg_type, &self.format);
                c.errors.extend(refused);
                c
            })
            .collect();
        // A type only the server reads takes the values' text form, as COPY would.
        let mut overrides = Vec::with_capacity(self.columns.len());
        for (col, c) in self.columns.iter().zip(coerced.iter_mut()) {
            let asked = match (&self.server, &col.pg_type) {
                (Some(server), PgType::Other { .. }) if !c.errors.is_empty() => {
                    match arrow_cast::cast(&batch.columns[col.source], &DataType::Utf8) {
                        Ok(text) => server.second_opinion(&col.pg_type, text.as_string::<i32>(), c),
                        Err(_) => Ok(None),
                    }
                }
                _ => Ok(None),
            };
            match asked {
                Ok(over) => overrides.push(over),
                Err(e) => return failed(e),
            }
        }
        let rows = batch.num_rows();
        let lines: Vec<u64> = (batch.first_row..batch.first_row + rows as u64).collect();
        let raw = |col: &MappedColumn, row: usize| {
            let options = FormatOptions::default().with_null("");
            ArrayFormatter::try_new(original[col.source].as_ref(), &options)
                .map(|f| f.value(row).to_string())
                .unwrap_or_default()
        };
        let mut encoded = self.assemble(
            coerced,
            &overrides,
            &lines,
            Vec::new(),
            &raw,
            rows as u64,
            batch.bytes_read,
        );
        for r in encoded
            .rejects
            .iter_mut()
            .chain(encoded.warnings.iter_mut())
        {
            r.is_row = true;
        }
        encoded
    }

    /// Rejects refused values and NULLs in NOT NULL or key columns, then encodes the rows
    /// kept. `rejects` holds the records refused before any column was looked at.
    #[allow(clippy::too_many_arguments)]
    fn assemble(
        &self,
        coerced: Vec<Coerced>,
        overrides: &[Option<ArrayRef>],
        batch_lines: &[u64],
        mut rejects: Vec<Reject>,
        raw: &dyn Fn(&MappedColumn, usize) -> String,
        rows_read: u64,
        bytes_read: u64,
    ) -> EncodedBatch {
        let rows = batch_lines.len();
        let record_rejects = rejects.len() as u64;
        let mut keep = vec![true; rows];
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        for (c, (col, coerced)) in self.columns.iter().zip(coerced).enumerate() {
            // A value the server read is no NULL, whatever the engine's array says.
            let read_by_server = overrides.get(c).and_then(Option::as_ref);
            for e in &coerced.errors {
                keep[e.row] = false;
                rejects.push(Reject {
                    file: None,
                    is_row: false,
                    rule: None,
                    warning: false,
                    line: batch_lines[e.row],
                    column: Some(col.name.clone()),
                    value: raw(col, e.row),
                    reason: e.reason.clone(),
                });
            }
            if (col.not_null || col.key)
                && let Some(nulls) = coerced.array.nulls()
            {
                let reason = if col.not_null {
                    "null in a NOT NULL column"
                } else {
                    "null in a key column (it would match no row, and insert a new one every time)"
                };
                for (row, (kept, valid)) in keep.iter_mut().zip(nulls.iter()).enumerate() {
                    // A refused value already cleared `keep`; this is a NULL in the file.
                    let valid = valid || read_by_server.is_some_and(|a| a.is_valid(row));
                    if *kept && !valid {
                        *kept = false;
                        rejects.push(Reject {
                            file: None,
                            is_row: false,
                            rule: None,
                            warning: false,
                            line: batch_lines[row],
                            column: Some(col.name.clone()),
                            value: raw(col, row),
                            reason: reason.into(),
                        });
                    }
                }
            }
            arrays.push(coerced.array);
        }
        let mut warnings = Vec::new();
        if let Some(quality) = &self.quality {
            // A type only the server reads has no value in the engine's array: rules and
            // profiles see its text. A value of another type that only the server read
            // (a spelling the engine does not take) is not judged by them.
            let read_by_server = |c: usize, row: usize| {
                overrides
                    .get(c)
                    .and_then(Option::as_ref)
                    .is_some_and(|read| read.is_valid(row))
            };
            let checked: Vec<ArrayRef> = arrays
                .iter()
                .enumerate()
                .map(|(c, array)| match &self.columns[c].pg_type {
                    PgType::Other { .. } => {
                        let col = &self.columns[c];
                        let text: StringArray = (0..array.len())
                            .map(|row| {
                                (array.is_valid(row) || read_by_server(c, row))
                                    .then(|| raw(col, row))
                            })
                            .collect();
                        Arc::new(text) as ArrayRef
                    }
                    _ => array.clone(),
                })
                .collect();
            let unjudged = |c: usize, row: usize| {
                !matches!(self.columns[c].pg_type, PgType::Other { .. }) && read_by_server(c, row)
            };
            self.check_rows(
                quality,
                &checked,
                &unjudged,
                &mut keep,
                batch_lines,
                raw,
                &mut rejects,
                &mut warnings,
            );
        }
        // Report a row's rejects in column order, rows in line order.
        rejects.sort_by_key(|r| r.line);
        let valid = keep.iter().filter(|k| **k).count() as u64;
        let data = match &self.encoder {
            Some(encoder) if valid > 0 => {
                let mut out = BytesMut::new();
                let mask = (valid < rows as u64).then_some(keep.as_slice());
                encoder.encode_with(&arrays, overrides, mask, batch_lines, &mut out);
                out.freeze()
            }
            _ => Bytes::new(),
        };
        let mut key_hashes = Vec::new();
        if let Some(key) = &self.key {
            hash_keys(&arrays, key, &keep, &mut key_hashes);
        }
        let lines = match self.encoder.is_some() || self.key.is_some() {
            true => batch_lines
                .iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(l, _)| *l)
                .collect(),
            false => Vec::new(),
        };
        EncodedBatch {
            key_hashes,
            lines,
            data,
            rows_read,
            rows_rejected: rows as u64 - valid + record_rejects,
            rejects,
            warnings,
            bytes_read,
            failure: None,
        }
    }

    /// Row rules on the rows still kept: a `reject` failure drops the row, a `warn` one is
    /// reported (for a row still loaded), a `fail` one is counted (the load fails at its
    /// end). Every rule sees the same rows, so a row failing two reject rules is reported
    /// by both. Then the kept rows are profiled.
    #[allow(clippy::too_many_arguments)]
    fn check_rows(
        &self,
        quality: &QualityPlan,
        arrays: &[ArrayRef],
        unjudged: &dyn Fn(usize, usize) -> bool,
        keep: &mut [bool],
        lines: &[u64],
        raw: &dyn Fn(&MappedColumn, usize) -> String,
        rejects: &mut Vec<Reject>,
        warnings: &mut Vec<Reject>,
    ) {
        let mut failures = quality.checks.run(arrays, keep);
        for f in &mut failures {
            f.rows.retain(|&row| !unjudged(f.column, row));
        }
        let severity = |f: &ingest_quality::RowFailures| quality.set.rules[f.rule].severity;
        for f in failures.iter().filter(|f| severity(f) == Severity::Reject) {
            for &row in &f.rows {
                keep[row] = false;
            }
        }
        let mut state = quality.state.lock().expect("quality state");
        for f in &failures {
            let rule = &quality.set.rules[f.rule];
            let col = &self.columns[f.column];
            let reason = ingest_quality::reason(rule);
            for &row in &f.rows {
                let reject = || {
                    Reject::value(lines[row], &col.name, raw(col, row), reason.clone())
                        .with_rule(&rule.id, rule.severity == Severity::Warn)
                };
                match rule.severity {
                    Severity::Reject => rejects.push(reject()),
                    // A warning is about a row that is loaded: one rejected by another
                    // rule is not.
                    Severity::Warn if keep[row] => warnings.push(reject()),
                    Severity::Warn | Severity::Fail => {}
                }
            }
            // A warn rule's failures are counted among the rows loaded, as its warnings are.
            let counted = |row: &&usize| rule.severity != Severity::Warn || keep[**row];
            let samples = f.rows.iter().filter(counted).map(|&row| FailureSample {
                line: lines[row],
                value: raw(col, row),
            });
            state.tally.add(f.rule, f.checked, samples);
        }
        for (profile, array) in state.profiles.iter_mut().zip(arrays) {
            profile.add(array, keep);
        }
    }
}
