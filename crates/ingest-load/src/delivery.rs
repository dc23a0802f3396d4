//! Stage three: encoded batches into PostgreSQL and rejects into their sink, then the end
//! of the load (duplicate keys, the reject limit, merge, commit).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Arc;

use ingest_pg::{DuplicatePolicy, PgError, TableWriter};
use ingest_quality::{Severity, set_rules};
use tokio::sync::mpsc;

use crate::quality::QualityPlan;

use crate::key_hash;
use crate::progress::Progress;
use crate::sent_lines::SentLines;
use crate::transform::EncodedBatch;
use crate::{LoadError, LoadRequest, LoadSummary, Reject, RejectSink};

/// Keys hashed client-side to prove them unique (8 bytes each: 32 MiB at most).
const MAX_KEY_HASHES: usize = 4 << 20;

/// Where a load's batches go. `writer` is `None` in a dry run, and once the COPY has been
/// abandoned because rejects passed the limit.
pub(crate) struct Delivery<'a, 'c> {
    req: &'a LoadRequest,
    file: &'a str,
    /// The key columns, comma-joined, to name them in duplicate-key rejects.
    key_name: String,
    writer: Option<TableWriter<'c>>,
    pub rejects: RejectSink,
    /// Hashes of every kept row's key, while proving keys unique client-side is worth it.
    key_hashes: Option<Vec<u64>>,
    /// In a dry run, which has no staging table to ask: each kept row's key hash and line,
    /// to report the duplicate keys the real load would meet.
    dry_run_keys: Option<Vec<(u64, u64)>>,
    sent: SentLines,
    quality: Option<Arc<QualityPlan>>,
    /// `--diff-file`, open.
    diff: Option<BufWriter<File>>,
}

impl<'a, 'c> Delivery<'a, 'c> {
    pub(crate) fn new(
        req: &'a LoadRequest,
        file: &'a str,
        key_name: String,
        writer: Option<TableWriter<'c>>,
        hash_keys: bool,
        quality: Option<Arc<QualityPlan>>,
    ) -> Result<Self, LoadError> {
        let rejects =
            RejectSink::new(req.errors_file.as_deref()).map_err(|e| errors_file_error(req, e))?;
        let diff = match &req.diff_file {
            Some(path) => Some(BufWriter::new(
                File::create(path).map_err(|e| diff_file_error(req, e))?,
            )),
            None => None,
        };
        let staged = writer.is_some();
        Ok(Delivery {
            req,
            file,
            key_name,
            writer,
            rejects,
            key_hashes: (hash_keys && staged).then(Vec::new),
            dry_run_keys: (hash_keys && !staged && req.dry_run).then(Vec::new),
            sent: SentLines::default(),
            quality,
            diff,
        })
    }

    /// Moves batches into PostgreSQL until the input ends. Once rejects pass a count limit
    /// the COPY is abandoned but reading goes on, so the rejects report is complete.
    pub(crate) async fn stream(
        &mut self,
        rx: &mut mpsc::Receiver<EncodedBatch>,
        summary: &mut LoadSummary,
        progress: &Progress,
    ) -> Result<(), LoadError> {
        while let Some(mut batch) = rx.recv().await {
            if let Some(e) = batch.failure.take() {
                return Err(LoadError::Database(e));
            }
            if let Some(all) = self.key_hashes.as_mut() {
                if all.len() + batch.key_hashes.len() > MAX_KEY_HASHES {
                    // Past this, memory matters more than the pass it saves: the server checks.
                    self.key_hashes = None;
                } else {
                    all.extend_from_slice(&batch.key_hashes);
                }
            }
            if let Some(keys) = self.dry_run_keys.as_mut() {
                if keys.len() + batch.key_hashes.len() > MAX_KEY_HASHES {
                    self.dry_run_keys = None;
                } else {
                    keys.extend(
                        batch
                            .key_hashes
                            .iter()
                            .copied()
                            .zip(batch.lines.iter().copied()),
                    );
                }
            }
            summary.rows_read += batch.rows_read;
            summary.bytes_read = batch.bytes_read;
            if !batch.rejects.is_empty() {
                progress.rejects(&batch.rejects);
                self.add_rejects(&batch.rejects, batch.rows_rejected)?;
            }
            if !batch.warnings.is_empty() {
                self.rejects
                    .warn(&batch.warnings)
                    .map_err(|e| errors_file_error(self.req, e))?;
            }
            if self.req.max_errors.exceeded_early(self.rejects.rows)
                && let Some(w) = self.writer.take()
            {
                w.rollback().await?;
            }
            if let Some(w) = self.writer.as_mut()
                && !batch.data.is_empty()
            {
                self.sent.record(&batch.lines);
                let sent = w.send(batch.data).await;
                sent.map_err(|e| self.row_error(e))?;
            }
            progress.update(summary.bytes_read, summary.rows_read);
        }
        Ok(())
    }

    /// After the last batch: duplicate keys, the limit, then merge and commit.
    pub(crate) async fn finish(
        &mut self,
        summary: &mut LoadSummary,
        progress: &Progress,
    ) -> Result<(), LoadError> {
        let req = self.req;
        if summary.rows_read == 0 && !req.allow_empty {
            return Err(LoadError::Empty {
                file: self.file.into(),
                header_only: true,
            });
        }
        let keys_unique = self
            .key_hashes
            .take()
            .is_some_and(|mut h| key_hash::all_distinct(&mut h));
        if let Some(keys) = self.dry_run_keys.take() {
            self.dry_run_duplicates(keys, summary, progress)?;
        }
        let Some(writer) = self.writer.as_mut() else {
            // A dry run without a staging table, or a COPY abandoned over the limit.
            let kept = summary.rows_read.saturating_sub(self.rejects.rows);
            self.judge_rules(Some(kept.saturating_sub(summary.rows_duplicate)))?;
            if req.dry_run {
                // An append or replace would insert every row that passed (the table's
                // own constraints are only met by a real write).
                summary.rows_inserted = kept.saturating_sub(summary.rows_duplicate);
            }
            return self.check_limit(summary);
        };
        let copied = writer.end_copy().await;
        copied.map_err(|e| self.row_error(e))?;
        self.whole_load_rules(progress).await?;
        if req.on_duplicate == DuplicatePolicy::Reject && req.mode.uses_staging() && !keys_unique {
            self.reject_duplicates(progress).await?;
        }
        self.judge_rules(None)?;
        self.check_limit(summary)?;
        if req.delete_missing && self.rejects.rows > 0 {
            return Err(LoadError::RejectsWithDeleteMissing {
                file: self.file.into(),
                rejected: self.rejects.rows,
            });
        }
        let mut writer = self.writer.take().expect("checked above");
        let mut diff = self.diff.take();
        let mut write_line = |line: &str| -> std::io::Result<()> {
            let w = diff.as_mut().expect("a diff file");
            w.write_all(line.as_bytes())?;
            w.write_all(b"\n")
        };
        let sink: Option<&mut ingest_pg::DiffSink<'_>> = match self.req.diff_file.is_some() {
            true => Some(&mut write_line),
            false => None,
        };
        let applied = writer.apply(keys_unique, sink).await;
        let applied = match applied {
            // The rows written, once duplicates are dropped: what row_count judges.
            Ok(stats) => {
                match self.judge_rules(Some(stats.inserted + stats.updated + stats.unchanged)) {
                    Ok(()) => self.after_load(&writer).await.map(|()| stats),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e.into()),
        };
        let stats = match applied {
            Ok(stats) => stats,
            Err(e) => {
                let _ = writer.rollback().await;
                return Err(e);
            }
        };
        if let Some(mut w) = diff.take()
            && let Err(e) = w.flush()
        {
            let _ = writer.rollback().await;
            return Err(diff_file_error(req, e));
        }
        // The errors file is complete before the commit, so nothing can fail after it.
        if let Err(e) = self.rejects.finish() {
            let _ = writer.rollback().await;
            return Err(errors_file_error(req, e));
        }
        summary.rows_inserted = stats.inserted;
        summary.rows_updated = stats.updated;
        summary.rows_unchanged = stats.unchanged;
        summary.rows_deleted = stats.deleted;
        summary.rows_duplicate = stats.duplicates_dropped;
        // The summary is whole before the before-commit step reads it.
        summary.rows_rejected = self.rejects.rows;
        summary.rejects_sample = self.rejects.sample.clone();
        summary.warnings = self.rejects.warnings;
        summary.quality = self.quality.as_ref().map(|q| q.report());
        if req.dry_run {
            // Counted from the staged rows; nothing of them stays.
            writer.rollback().await?;
            return Ok(());
        }
        // Committing from here: the before-commit step may lock what its caller needs.
        progress.set_committing(true);
        if let Some(hook) = &req.before_commit
            && let Err(e) = (hook.0)(writer.client(), summary).await
        {
            let _ = writer.rollback().await;
            progress.set_committing(false);
            return Err(LoadError::Vetoed(e));
        }
        let committed = writer.commit().await;
        progress.set_committing(false);
        committed?;
        Ok(())
    }

    /// Rolls back whatever is still open: the load stopped on an error.
    pub(crate) async fn abandon(&mut self) {
        if let Some(w) = self.writer.take() {
            // The error that stopped the load is the one worth reporting.
            let _ = w.rollback().await;
        }
    }

    /// The whole-load rules on the staged rows: their failing rows become rejects (and
    /// leave the staging table) or warnings.
    async fn whole_load_rules(&mut self, progress: &Progress) -> Result<(), LoadError> {
        let Some(quality) = self.quality.clone() else {
            return Ok(());
        };
        let writer = self.writer.as_ref().expect("COPY was open");
        let (Some(table), true) = (writer.staging_table(), quality.set.has_set_rules()) else {
            return Ok(());
        };
        let line_column = ingest_pg::ident::quote_ident(ingest_pg::LINE_COLUMN);
        let columns = &self.loaded_columns();
        let staged = set_rules::Staged {
            client: writer.client(),
            table,
            line_column: &line_column,
            columns,
        };
        let failures = {
            let mut tally = quality.state.lock().expect("quality state").tally.clone();
            let failures = set_rules::run(&staged, &quality.set, &mut tally).await?;
            quality.state.lock().expect("quality state").tally = tally;
            failures
        };
        let (mut rejects, mut warnings) = (Vec::new(), Vec::new());
        for f in failures {
            let rule = &quality.set.rules[f.rule];
            let columns = rule.target_columns().join(",");
            let mut r = Reject::value(f.line, &columns, f.value, f.reason)
                .with_rule(&rule.id, f.severity == Severity::Warn);
            if columns.is_empty() {
                r.column = None;
            }
            match f.severity {
                Severity::Reject => rejects.push(r),
                Severity::Warn => warnings.push(r),
                Severity::Fail => {}
            }
        }
        if !rejects.is_empty() {
            progress.rejects(&rejects);
            self.add_rejects(&rejects, rejects.len() as u64)?;
            let writer = self.writer.as_mut().expect("COPY was open");
            writer.removed_from_staging(rejects.len() as u64);
        }
        self.rejects
            .warn(&warnings)
            .map_err(|e| errors_file_error(self.req, e))
    }

    /// The columns the load fills (those in the staging table).
    fn loaded_columns(&self) -> Vec<String> {
        self.writer
            .as_ref()
            .map(|w| w.columns().to_vec())
            .unwrap_or_default()
    }

    /// `row_count` rules, once `written` (the rows the load writes) is known, then any
    /// `fail` rule that failed stops the load.
    fn judge_rules(&self, written: Option<u64>) -> Result<(), LoadError> {
        match &self.quality {
            Some(quality) => quality.judge(self.file, written),
            None => Ok(()),
        }
    }

    /// The rule set's `after_load` statements, in the load's transaction after the write.
    async fn after_load(&self, writer: &TableWriter<'_>) -> Result<(), LoadError> {
        let Some(quality) = &self.quality else {
            return Ok(());
        };
        if self.req.dry_run {
            return Ok(());
        }
        for (i, statement) in quality.set.after_load.iter().enumerate() {
            writer
                .client()
                .batch_execute(statement)
                .await
                .map_err(PgError::query(format!(
                    "after_load statement {} ({})",
                    i + 1,
                    short(statement)
                )))?;
        }
        Ok(())
    }

    fn check_limit(&self, summary: &LoadSummary) -> Result<(), LoadError> {
        if self
            .req
            .max_errors
            .exceeded(self.rejects.rows, summary.rows_read)
        {
            return Err(LoadError::Rejected {
                file: self.file.into(),
                rejected: self.rejects.rows,
                limit: self.req.max_errors,
            });
        }
        Ok(())
    }

    /// Every row of a key found on several lines becomes a reject (`--on-duplicate reject`).
    async fn reject_duplicates(&mut self, progress: &Progress) -> Result<(), LoadError> {
        let writer = self.writer.as_ref().expect("COPY was open");
        for dup in writer.duplicate_keys(i64::MAX).await? {
            let lines = dup
                .lines
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            let found: Vec<Reject> = dup
                .lines
                .iter()
                .map(|&line| {
                    let reason = format!("duplicate key (lines {lines})");
                    Reject::value(line as u64, &self.key_name, dup.key.clone(), reason)
                })
                .collect();
            progress.rejects(&found);
            self.add_rejects(&found, found.len() as u64)?;
        }
        Ok(())
    }

    /// The duplicate keys of a dry run, found from key hashes (equal hashes of different
    /// keys are a 2^-64 chance per pair): rejects under `--on-duplicate reject`, otherwise
    /// the count of rows the real load would drop.
    fn dry_run_duplicates(
        &mut self,
        mut keys: Vec<(u64, u64)>,
        summary: &mut LoadSummary,
        progress: &Progress,
    ) -> Result<(), LoadError> {
        keys.sort_unstable();
        let mut found = Vec::new();
        let mut dropped = 0;
        for group in keys.chunk_by(|a, b| a.0 == b.0).filter(|g| g.len() > 1) {
            dropped += group.len() as u64 - 1;
            if self.req.on_duplicate == DuplicatePolicy::Reject {
                let lines = group
                    .iter()
                    .map(|(_, l)| l.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                found.extend(group.iter().map(|&(_, line)| {
                    let reason = format!("duplicate key (lines {lines})");
                    Reject::value(line, &self.key_name, String::new(), reason)
                }));
            }
        }
        if found.is_empty() {
            summary.rows_duplicate = dropped;
            return Ok(());
        }
        found.sort_by_key(|r| r.line);
        progress.rejects(&found);
        self.add_rejects(&found, found.len() as u64)
    }

    fn add_rejects(&mut self, rejects: &[Reject], rows: u64) -> Result<(), LoadError> {
        self.rejects
            .add(rejects, rows)
            .map_err(|e| errors_file_error(self.req, e))
    }

    /// A server error during COPY, with the source line of the refused row when known.
    fn row_error(&self, e: PgError) -> LoadError {
        match e.copy_row().and_then(|row| self.sent.line_of(row)) {
            Some(line) => LoadError::Row {
                file: self.file.to_string(),
                line,
                source: e,
            },
            None => LoadError::Database(e),
        }
    }
}

/// A statement shortened for a message.
fn short(statement: &str) -> String {
    let one_line: String = statement.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(80) {
        Some((i, _)) => format!("{}...", &one_line[..i]),
        None => one_line,
    }
}

fn diff_file_error(req: &LoadRequest, source: std::io::Error) -> LoadError {
    let file = req
        .diff_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    LoadError::DiffFile { file, source }
}

pub(crate) fn errors_file_error(req: &LoadRequest, source: std::io::Error) -> LoadError {
    let file = req
        .errors_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    LoadError::ErrorsFile { file, source }
}
