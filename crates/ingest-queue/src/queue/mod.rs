//! Jobs: create, list, cancel and retry them here; claim, hold, finish and rescue them in
//! `lease` (the worker's side).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::{Client, GenericClient, Row};
use uuid::Uuid;

use crate::{QueueError, Schema, TablePatterns};

mod console;
mod lease;
mod sources;

pub use console::{Profile, RejectRow, StoredFile};
pub use lease::Heartbeat;
pub use sources::{RunStart, SourceMetrics, SourceRow, Tick};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    PendingUpload,
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::PendingUpload => "pending_upload",
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        Some(match s {
            "pending_upload" => JobState::PendingUpload,
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "succeeded" => JobState::Succeeded,
            "failed" => JobState::Failed,
            "cancelled" => JobState::Cancelled,
            _ => return None,
        })
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    }
}

/// A job as stored.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: Uuid,
    pub kind: String,
    pub state: JobState,
    pub payload: Value,
    pub target_table: Option<String>,
    pub attempt: i32,
    pub max_attempts: i32,
    pub run_after: DateTime<Utc>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub cancel_requested: bool,
    pub progress: Value,
    pub stats: Option<Value>,
    pub error: Option<String>,
    pub attempt_errors: Value,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The API token that created it.
    pub created_by: Option<String>,
}

const COLUMNS: &str = "id, kind, state, payload, target_table, attempt, max_attempts, run_after, \
    lease_owner, lease_expires_at, cancel_requested, progress, stats, error, attempt_errors, \
    created_at, started_at, finished_at, created_by";

impl Job {
    fn from_row(r: &Row) -> Job {
        let state: String = r.get("state");
        Job {
            id: r.get("id"),
            kind: r.get("kind"),
            state: JobState::parse(&state).expect("the CHECK constraint allows only known states"),
            payload: r.get("payload"),
            target_table: r.get("target_table"),
            attempt: r.get("attempt"),
            max_attempts: r.get("max_attempts"),
            run_after: r.get("run_after"),
            lease_owner: r.get("lease_owner"),
            lease_expires_at: r.get("lease_expires_at"),
            cancel_requested: r.get("cancel_requested"),
            progress: r.get("progress"),
            stats: r.get("stats"),
            error: r.get("error"),
            attempt_errors: r.get("attempt_errors"),
            created_at: r.get("created_at"),
            started_at: r.get("started_at"),
            finished_at: r.get("finished_at"),
            created_by: r.get("created_by"),
        }
    }
}

/// What a new job is.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: Value,
    pub target_table: Option<String>,
    /// An upload job waits for its body (`pending_upload`) before it is queued.
    pub awaiting_upload: bool,
    pub max_attempts: i32,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    /// The API token creating it.
    pub created_by: Option<String>,
    /// The pull source it runs (kind `pull`).
    pub source_name: Option<String>,
}

/// Retry delays: `base * 2^(attempt-1)`, at most `max`, times a random factor in [0.5, 1]
/// so that jobs failing together do not come back together.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(2),
            max: Duration::from_secs(300),
        }
    }
}

/// The queue in one schema.
#[derive(Debug, Clone)]
pub struct Queue {
    schema: Schema,
    q: String,
    pub backoff: Backoff,
}

impl Queue {
    pub fn new(schema: Schema) -> Queue {
        let q = schema.quoted();
        Queue {
            schema,
            q,
            backoff: Backoff::default(),
        }
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Creates a job (queued, or pending_upload) and wakes idle workers. With an
    /// idempotency key already used, returns the existing job and `false`.
    pub async fn create(&self, client: &Client, new: &NewJob) -> Result<(Job, bool), QueueError> {
        self.insert_job(client, new).await
    }

    /// [`Queue::create`], in a transaction too.
    async fn insert_job(
        &self,
        client: &impl GenericClient,
        new: &NewJob,
    ) -> Result<(Job, bool), QueueError> {
        let state = match new.awaiting_upload {
            true => JobState::PendingUpload,
            false => JobState::Queued,
        };
        let q = &self.q;
        let row = client
            .query_opt(
                &format!(
                    "INSERT INTO {q}.jobs (kind, state, payload, target_table, max_attempts, idempotency_key, request_hash, created_by, source_name)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     -- an Idempotency-Key used before, or a source with a run in progress
                     ON CONFLICT DO NOTHING
                     RETURNING {COLUMNS}"
                ),
                &[
                    &new.kind,
                    &state.as_str(),
                    &new.payload,
                    &new.target_table,
                    &new.max_attempts,
                    &new.idempotency_key,
                    &new.request_hash,
                    &new.created_by,
                    &new.source_name,
                ],
            )
            .await?;
        if let Some(row) = row {
            let job = Job::from_row(&row);
            self.event(client, job.id, "created", &Value::Null).await?;
            if state == JobState::Queued {
                self.notify(client).await?;
            }
            return Ok((job, true));
        }
        let Some(key) = new.idempotency_key.as_deref() else {
            return Err(QueueError::SourceBusy(
                new.source_name.clone().unwrap_or_default(),
            ));
        };
        let row = client
            .query_one(
                &format!("SELECT {COLUMNS} FROM {q}.jobs WHERE idempotency_key = $1"),
                &[&key],
            )
            .await?;
        Ok((Job::from_row(&row), false))
    }

    /// The request hash stored with an idempotency key.
    pub async fn request_hash(
        &self,
        client: &Client,
        id: Uuid,
    ) -> Result<Option<String>, QueueError> {
        let q = &self.q;
        let row = client
            .query_opt(
                &format!("SELECT request_hash FROM {q}.jobs WHERE id = $1"),
                &[&id],
            )
            .await?;
        Ok(row.and_then(|r| r.get(0)))
    }

    /// An upload job's body is stored where `source` says (`{"url": ...}`): queue it.
    /// False when the job was not waiting for its upload (another upload came first).
    pub async fn uploaded(
        &self,
        client: &Client,
        id: Uuid,
        source: &Value,
    ) -> Result<bool, QueueError> {
        let q = &self.q;
        let n = client
            .execute(
                &format!(
                    "UPDATE {q}.jobs SET state = 'queued', run_after = now(), updated_at = now(),
                            payload = jsonb_set(payload, '{{source}}', $2)
                     WHERE id = $1 AND state = 'pending_upload'"
                ),
                &[&id, source],
            )
            .await?;
        if n == 1 {
            self.event(client, id, "queued", &Value::Null).await?;
            self.notify(client).await?;
        }
        Ok(n == 1)
    }

    pub async fn get(&self, client: &Client, id: Uuid) -> Result<Option<Job>, QueueError> {
        let q = &self.q;
        let row = client
            .query_opt(
                &format!("SELECT {COLUMNS} FROM {q}.jobs WHERE id = $1"),
                &[&id],
            )
            .await?;
        Ok(row.as_ref().map(Job::from_row))
    }

    /// Jobs, newest first, optionally of one state and one table and, for a token, only
    /// those on tables its patterns match or that it created, after the `(created_at,
    /// id)` of the last job of the previous page.
    pub async fn list(
        &self,
        client: &Client,
        state: Option<&str>,
        table: Option<&str>,
        visible: Option<(&TablePatterns, &str)>,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: i64,
    ) -> Result<Vec<Job>, QueueError> {
        let like = visible.map(|(patterns, _)| patterns.like_patterns());
        let creator = visible.map(|(_, name)| name);
        let q = &self.q;
        let (after_at, after_id) = (after.map(|a| a.0), after.map(|a| a.1));
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM {q}.jobs
                     WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR target_table = $2)
                       AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
                       AND ($6::text[] IS NULL OR target_table LIKE ANY ($6) OR created_by = $7)
                     ORDER BY created_at DESC, id DESC LIMIT $5"
                ),
                &[&state, &table, &after_at, &after_id, &limit, &like, &creator],
            )
            .await?;
        Ok(rows.iter().map(Job::from_row).collect())
    }

    /// Cancels a job: at once when it is not running; a running job is asked to stop (its
    /// worker sees it at the next heartbeat and rolls back). Returns the job after.
    pub async fn cancel(&self, client: &Client, id: Uuid) -> Result<Option<Job>, QueueError> {
        let q = &self.q;
        client
            .execute(
                &format!(
                    "UPDATE {q}.jobs SET
                         state = CASE WHEN state IN ('queued', 'pending_upload') THEN 'cancelled' ELSE state END,
                         finished_at = CASE WHEN state IN ('queued', 'pending_upload') THEN now() ELSE finished_at END,
                         cancel_requested = (state = 'running'), updated_at = now()
                     WHERE id = $1 AND state IN ('queued', 'pending_upload', 'running')"
                ),
                &[&id],
            )
            .await?;
        // The worker running it listens, and stops at once rather than at its heartbeat.
        client
            .execute(
                "SELECT pg_notify($1, 'cancel:' || $2::text)",
                &[&self.schema.channel(), &id.to_string()],
            )
            .await?;
        self.get(client, id).await
    }

    /// Runs a failed or cancelled job again, with as many attempts again as it had.
    pub async fn retry(&self, client: &Client, id: Uuid) -> Result<Option<Job>, QueueError> {
        let q = &self.q;
        let n = client
            .execute(
                &format!(
                    "UPDATE {q}.jobs j SET state = 'queued', run_after = now(), error = NULL,
                         -- as many attempts again as the job had
                         max_attempts = attempt + max_attempts,
                         cancel_requested = false, finished_at = NULL, updated_at = now()
                     WHERE id = $1 AND state IN ('failed', 'cancelled')
                       -- a source's runs go one at a time
                       AND NOT EXISTS (SELECT 1 FROM {q}.jobs o WHERE o.source_name = j.source_name
                                         AND o.id <> j.id AND o.state IN ('queued', 'running'))"
                ),
                &[&id],
            )
            .await
            .map_err(|e| busy_or(e, id))?;
        if n == 1 {
            self.event(client, id, "retry_requested", &Value::Null)
                .await?;
            self.notify(client).await?;
        }
        let job = self.get(client, id).await?;
        if let Some(j) = &job
            && n == 0
            && matches!(j.state, JobState::Failed | JobState::Cancelled)
            && let Some(source) = j.payload.pointer("/source/pull").and_then(Value::as_str)
        {
            return Err(QueueError::SourceBusy(source.to_string()));
        }
        Ok(job)
    }

    async fn event(
        &self,
        client: &impl GenericClient,
        id: Uuid,
        kind: &str,
        data: &Value,
    ) -> Result<(), QueueError> {
        let q = &self.q;
        client
            .execute(
                &format!("INSERT INTO {q}.job_events (job_id, kind, data) VALUES ($1, $2, $3)"),
                &[&id, &kind, data],
            )
            .await?;
        Ok(())
    }

    /// Wakes the workers waiting on `LISTEN`.
    pub(crate) async fn notify(&self, client: &impl GenericClient) -> Result<(), QueueError> {
        client
            .execute("SELECT pg_notify($1, '')", &[&self.schema.channel()])
            .await?;
        Ok(())
    }
}

/// A unique violation (two runs of one source racing) as [`QueueError::SourceBusy`].
fn busy_or(e: tokio_postgres::Error, id: Uuid) -> QueueError {
    match e.code() {
        Some(c) if *c == tokio_postgres::error::SqlState::UNIQUE_VIOLATION => {
            QueueError::SourceBusy(format!("of job {id}"))
        }
        _ => QueueError::Db(e),
    }
}
