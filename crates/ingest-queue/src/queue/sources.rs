//! Pull sources registered with the service: their specs, pause state and next tick, and
//! the runs they start. A run is a job of kind `pull` named by its source; at most one
//! is queued or running per source (a unique index), whoever asks for it: a tick of the
//! schedule, `POST /v1/sources/{name}/run`, or a retry.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::{Client, GenericClient, Row};

use super::{COLUMNS, Job, NewJob, Queue};
use crate::QueueError;

/// A source as stored.
#[derive(Debug, Clone)]
pub struct SourceRow {
    pub name: String,
    /// The spec as given (secrets are `${env:NAME}` references).
    pub spec: Value,
    pub target_table: String,
    pub paused: bool,
    pub next_run_at: Option<DateTime<Utc>>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const SOURCE_COLUMNS: &str =
    "name, spec, target_table, paused, next_run_at, created_by, created_at, updated_at";

impl SourceRow {
    fn from_row(r: &Row) -> SourceRow {
        SourceRow {
            name: r.get("name"),
            spec: r.get("spec"),
            target_table: r.get("target_table"),
            paused: r.get("paused"),
            next_run_at: r.get("next_run_at"),
            created_by: r.get("created_by"),
            created_at: r.get("created_at"),
            updated_at: r.get("updated_at"),
        }
    }
}

/// What asking for a run gave.
#[derive(Debug)]
pub enum RunStart {
    Started(Box<Job>),
    /// A run of the source is already queued or running (this job).
    Busy(uuid::Uuid),
    NoSuchSource,
}

/// A source's next tick, from its row, the tick just made and the database's clock.
pub type NextTick =
    dyn Fn(&SourceRow, DateTime<Utc>, DateTime<Utc>) -> Option<DateTime<Utc>> + Sync;

/// What one tick of the schedule did for a source.
#[derive(Debug, Clone)]
pub struct Tick {
    pub source: String,
    pub scheduled_for: DateTime<Utc>,
    pub started: Option<uuid::Uuid>,
}

impl Queue {
    /// Registers `name`, or replaces its spec (its pause state is kept). True when new.
    pub async fn put_source(
        &self,
        client: &Client,
        name: &str,
        spec: &Value,
        target_table: &str,
        next_run_at: Option<DateTime<Utc>>,
        created_by: Option<&str>,
    ) -> Result<(SourceRow, bool), QueueError> {
        let q = &self.q;
        let row = client
            .query_one(
                &format!(
                    "INSERT INTO {q}.sources (name, spec, target_table, next_run_at, created_by)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (name) DO UPDATE SET spec = $2, target_table = $3, next_run_at = $4,
                         updated_at = now()
                     RETURNING {SOURCE_COLUMNS}, (xmax = 0) AS inserted"
                ),
                &[&name, spec, &target_table, &next_run_at, &created_by],
            )
            .await?;
        Ok((SourceRow::from_row(&row), row.get("inserted")))
    }

    pub async fn source(
        &self,
        client: &Client,
        name: &str,
    ) -> Result<Option<SourceRow>, QueueError> {
        let q = &self.q;
        let row = client
            .query_opt(
                &format!("SELECT {SOURCE_COLUMNS} FROM {q}.sources WHERE name = $1"),
                &[&name],
            )
            .await?;
        Ok(row.as_ref().map(SourceRow::from_row))
    }

    pub async fn sources(&self, client: &Client) -> Result<Vec<SourceRow>, QueueError> {
        let q = &self.q;
        let rows = client
            .query(
                &format!("SELECT {SOURCE_COLUMNS} FROM {q}.sources ORDER BY name"),
                &[],
            )
            .await?;
        Ok(rows.iter().map(SourceRow::from_row).collect())
    }

    /// Deletes a source and its ticks; its jobs stay, as history. False when unknown.
    pub async fn delete_source(&self, client: &Client, name: &str) -> Result<bool, QueueError> {
        let q = &self.q;
        let n = client
            .execute(
                &format!("DELETE FROM {q}.sources WHERE name = $1"),
                &[&name],
            )
            .await?;
        Ok(n == 1)
    }

    /// Pauses or resumes a source; resuming sets its next tick.
    pub async fn pause_source(
        &self,
        client: &Client,
        name: &str,
        paused: bool,
        next_run_at: Option<DateTime<Utc>>,
    ) -> Result<Option<SourceRow>, QueueError> {
        let q = &self.q;
        let row = client
            .query_opt(
                &format!(
                    "UPDATE {q}.sources SET paused = $2,
                         next_run_at = CASE WHEN $2 THEN next_run_at ELSE $3 END, updated_at = now()
                     WHERE name = $1 RETURNING {SOURCE_COLUMNS}"
                ),
                &[&name, &paused, &next_run_at],
            )
            .await?;
        Ok(row.as_ref().map(SourceRow::from_row))
    }

    /// A source's runs, newest first.
    pub async fn source_runs(
        &self,
        client: &Client,
        name: &str,
        limit: i64,
    ) -> Result<Vec<Job>, QueueError> {
        let q = &self.q;
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM {q}.jobs WHERE source_name = $1
                     ORDER BY created_at DESC, id DESC LIMIT $2"
                ),
                &[&name, &limit],
            )
            .await?;
        Ok(rows.iter().map(Job::from_row).collect())
    }

    /// Starts a run of `name` now (`job` says how), unless one is queued or running.
    pub async fn run_source(
        &self,
        client: &mut Client,
        name: &str,
        job: &NewJob,
    ) -> Result<RunStart, QueueError> {
        let tx = client.transaction().await?;
        let q = &self.q;
        // The source's row is the lock that orders the runs asked for at once.
        let exists = tx
            .query_opt(
                &format!("SELECT 1 FROM {q}.sources WHERE name = $1 FOR UPDATE"),
                &[&name],
            )
            .await?;
        if exists.is_none() {
            return Ok(RunStart::NoSuchSource);
        }
        let start = self.start_run(&tx, name, job).await?;
        tx.commit().await?;
        Ok(start)
    }

    async fn start_run(
        &self,
        tx: &impl GenericClient,
        name: &str,
        job: &NewJob,
    ) -> Result<RunStart, QueueError> {
        let q = &self.q;
        let busy = tx
            .query_opt(
                &format!("SELECT id FROM {q}.jobs WHERE source_name = $1 AND state IN ('queued', 'running')"),
                &[&name],
            )
            .await?;
        if let Some(row) = busy {
            return Ok(RunStart::Busy(row.get(0)));
        }
        match self.insert_job(tx, job).await {
            Ok((job, _)) => Ok(RunStart::Started(Box::new(job))),
            // A retry of an earlier run got in first.
            Err(crate::QueueError::SourceBusy(_)) => {
                let id = tx
                    .query_one(
                        &format!("SELECT id FROM {q}.jobs WHERE source_name = $1 AND state IN ('queued', 'running')"),
                        &[&name],
                    )
                    .await?
                    .get(0);
                Ok(RunStart::Busy(id))
            }
            Err(e) => Err(e),
        }
    }

    /// One tick of the schedule, in one transaction: each due source that no other
    /// process is ticking gets one job for its scheduled time (or a record that it was
    /// skipped, when a run is still queued or running) and its next tick, which `next`
    /// computes from the scheduled time and the database's clock; `job` makes the run.
    pub async fn tick_sources(
        &self,
        client: &mut Client,
        next: &NextTick,
        job: &(dyn Fn(&SourceRow) -> NewJob + Sync),
    ) -> Result<Vec<Tick>, QueueError> {
        let q = &self.q;
        let tx = client.transaction().await?;
        let due = tx
            .query(
                &format!(
                    "SELECT {SOURCE_COLUMNS}, now() AS now FROM {q}.sources
                     WHERE NOT paused AND next_run_at <= now()
                     ORDER BY next_run_at LIMIT 50 FOR UPDATE SKIP LOCKED"
                ),
                &[],
            )
            .await?;
        let mut ticks = Vec::new();
        for row in &due {
            let source = SourceRow::from_row(row);
            let now: DateTime<Utc> = row.get("now");
            let scheduled = source.next_run_at.expect("due sources have a next run");
            let recorded = tx
                .execute(
                    &format!(
                        "INSERT INTO {q}.source_ticks (source, scheduled_for) VALUES ($1, $2)
                         ON CONFLICT DO NOTHING"
                    ),
                    &[&source.name, &scheduled],
                )
                .await?;
            let mut started = None;
            if recorded == 1 {
                let (job_id, skipped) = match self
                    .start_run(&tx, &source.name, &job(&source))
                    .await?
                {
                    RunStart::Started(j) => {
                        started = Some(j.id);
                        (Some(j.id), None)
                    }
                    RunStart::Busy(id) => (
                        None,
                        Some(format!(
                            "a run of the source was still queued or running (job {id})"
                        )),
                    ),
                    RunStart::NoSuchSource => (None, Some("the source was deleted".to_string())),
                };
                tx.execute(
                    &format!("UPDATE {q}.source_ticks SET job_id = $3, skipped = $4 WHERE source = $1 AND scheduled_for = $2"),
                    &[&source.name, &scheduled, &job_id, &skipped],
                )
                .await?;
            }
            tx.execute(
                &format!("UPDATE {q}.sources SET next_run_at = $2 WHERE name = $1"),
                &[&source.name, &next(&source, scheduled, now)],
            )
            .await?;
            ticks.push(Tick {
                source: source.name,
                scheduled_for: scheduled,
                started,
            });
        }
        tx.commit().await?;
        Ok(ticks)
    }

    /// Per source: when its last run succeeded and failed, the records its runs pulled,
    /// and its cursor's value, for `/metrics`.
    pub async fn source_metrics(&self, client: &Client) -> Result<Vec<SourceMetrics>, QueueError> {
        let q = &self.q;
        let rows = client
            .query(
                &format!(
                    "SELECT s.name, s.paused,
                            max(j.finished_at) FILTER (WHERE j.state = 'succeeded') AS last_success,
                            max(j.finished_at) FILTER (WHERE j.state = 'failed') AS last_failure,
                            coalesce(sum((j.stats->'pull'->>'records')::bigint) FILTER (WHERE j.state = 'succeeded'), 0)::bigint AS records,
                            (SELECT c.cursor->>'value' FROM {q}.source_cursors c WHERE c.name = s.name) AS cursor
                     FROM {q}.sources s LEFT JOIN {q}.jobs j ON j.source_name = s.name
                     GROUP BY s.name, s.paused ORDER BY s.name"
                ),
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| SourceMetrics {
                name: r.get("name"),
                paused: r.get("paused"),
                last_success: r.get("last_success"),
                last_failure: r.get("last_failure"),
                records: r.get("records"),
                cursor: r.get("cursor"),
            })
            .collect())
    }
}

#[derive(Debug, Clone)]
pub struct SourceMetrics {
    pub name: String,
    pub paused: bool,
    pub last_success: Option<DateTime<Utc>>,
    pub last_failure: Option<DateTime<Utc>>,
    pub records: i64,
    pub cursor: Option<String>,
}
