//! Stage three: encoded batches into PostgreSQL and rejects into their sink, then the end
//! of the load (duplicate keys, the reject limit, merge, commit).

use ingest_pg::{DuplicatePolicy, PgError, TableWriter};
use tokio::sync::mpsc;

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
}

impl<'a, 'c> Delivery<'a, 'c> {
    pub(crate) fn new(
        req: &'a LoadRequest,
        file: &'a str,
        key_name: String,
        writer: Option<TableWriter<'c>>,
        hash_keys: bool,
    ) -> Result<Self, LoadError> {
        let rejects =
            RejectSink::new(req.errors_file.as_deref()).map_err(|e| errors_file_error(req, e))?;
        Ok(Delivery {
            req,
            file,
            key_name,
            writer,
            rejects,
            key_hashes: (hash_keys && !req.dry_run).then(Vec::new),
            dry_run_keys: (hash_keys && req.dry_run).then(Vec::new),
            sent: SentLines::default(),
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
            // A dry run, or a COPY already abandoned over the limit.
            return self.check_limit(summary);
        };
        let copied = writer.end_copy().await;
        copied.map_err(|e| self.row_error(e))?;
        if req.on_duplicate == DuplicatePolicy::Reject && req.mode.uses_staging() && !keys_unique {
            self.reject_duplicates(progress).await?;
        }
        self.check_limit(summary)?;
        if req.delete_missing && self.rejects.rows > 0 {
            return Err(LoadError::RejectsWithDeleteMissing {
                file: self.file.into(),
                rejected: self.rejects.rows,
            });
        }
        let mut writer = self.writer.take().expect("checked above");
        let stats = match writer.apply(keys_unique).await {
            Ok(stats) => stats,
            Err(e) => {
                let _ = writer.rollback().await;
                return Err(e.into());
            }
        };
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
                .map(|&line| Reject {
                    file: None,
                    is_row: false,
                    line: line as u64,
                    column: Some(self.key_name.clone()),
                    value: dup.key.clone(),
                    reason: format!("duplicate key (lines {lines})"),
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
                found.extend(group.iter().map(|&(_, line)| Reject {
                    file: None,
                    is_row: false,
                    line,
                    column: Some(self.key_name.clone()),
                    value: String::new(),
                    reason: format!("duplicate key (lines {lines})"),
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

pub(crate) fn errors_file_error(req: &LoadRequest, source: std::io::Error) -> LoadError {
    let file = req
        .errors_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    LoadError::ErrorsFile { file, source }
}
