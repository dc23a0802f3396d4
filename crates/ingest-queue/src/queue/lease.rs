//! A worker's side of the queue: claiming a due job, holding it by its lease, recording
//! the attempt's outcome, and putting back the jobs whose lease ran out.

use std::time::Duration;

use serde_json::Value;
use tokio_postgres::Client;
use tokio_postgres::types::Type;
use uuid::Uuid;

use super::{COLUMNS, Job, JobState, Queue};
use crate::QueueError;

/// What a heartbeat found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    /// The lease is renewed.
    Held,
    /// Cancellation was asked for: stop, roll back, call [`Queue::cancelled`].
    CancelRequested,
    /// The lease is no longer this worker's (it expired and the job was rescued): stop
    /// without touching the job.
    Lost,
}

/// PostgreSQL's text and jsonb cannot hold NUL, which a rejected value (and so a load's
/// error or its sample of rejects) may contain: it becomes U+FFFD.
fn storable_text(s: &str) -> String {
    s.replace('\0', "\u{FFFD}")
}

fn storable_json(v: &Value) -> Value {
    match v {
        Value::String(s) if s.contains('\0') => Value::String(storable_text(s)),
        Value::Array(items) => Value::Array(items.iter().map(storable_json).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (storable_text(k), storable_json(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl Queue {
    /// Claims the oldest due job for `worker`, leased for `lease`. Two workers never get
    /// the same job: the row is locked, and the others skip it.
    pub async fn claim(
        &self,
        client: &Client,
        worker: &str,
        lease: Duration,
    ) -> Result<Option<Job>, QueueError> {
        let q = &self.q;
        // One statement, one round trip: the claim and its `started` event.
        let row = client
            .query_typed_opt(
                &format!(
                    "WITH claimed AS (
                         UPDATE {q}.jobs j
                         SET state = 'running', attempt = attempt + 1, lease_owner = $1,
                             lease_expires_at = now() + make_interval(secs => $2),
                             started_at = coalesce(started_at, now()), updated_at = now()
                         WHERE id = (SELECT id FROM {q}.jobs
                                     WHERE state = 'queued' AND run_after <= now()
                                     ORDER BY run_after, created_at
                                     FOR UPDATE SKIP LOCKED
                                     LIMIT 1)
                         RETURNING {COLUMNS}),
                     started AS (
                         INSERT INTO {q}.job_events (job_id, kind, data)
                         SELECT id, 'started', jsonb_build_object('attempt', attempt, 'worker', $1::text)
                         FROM claimed)
                     SELECT * FROM claimed"
                ),
                &[(&worker, Type::TEXT), (&secs(lease), Type::FLOAT8)],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let job = Job::from_row(&row);
        Ok(Some(job))
    }

    /// Renews the lease and records progress; says whether to go on.
    pub async fn heartbeat(
        &self,
        client: &Client,
        id: Uuid,
        worker: &str,
        lease: Duration,
        progress: &Value,
    ) -> Result<Heartbeat, QueueError> {
        let q = &self.q;
        let row = client
            .query_opt(
                &format!(
                    "UPDATE {q}.jobs SET lease_expires_at = now() + make_interval(secs => $3),
                         progress = $4, updated_at = now()
                     WHERE id = $1 AND state = 'running' AND lease_owner = $2
                     RETURNING cancel_requested"
                ),
                &[&id, &worker, &secs(lease), progress],
            )
            .await?;
        Ok(match row {
            None => Heartbeat::Lost,
            Some(r) if r.get::<_, bool>(0) => Heartbeat::CancelRequested,
            Some(_) => Heartbeat::Held,
        })
    }

    /// The attempt succeeded. False if the lease was lost meanwhile.
    pub async fn succeeded(
        &self,
        client: &Client,
        id: Uuid,
        worker: &str,
        stats: &Value,
    ) -> Result<bool, QueueError> {
        self.finish(client, id, worker, "succeeded", Some(stats), None)
            .await
    }

    /// The job was cancelled while running (its load rolled back).
    pub async fn cancelled(
        &self,
        client: &Client,
        id: Uuid,
        worker: &str,
    ) -> Result<bool, QueueError> {
        self.finish(client, id, worker, "cancelled", None, None)
            .await
    }

    async fn finish(
        &self,
        client: &Client,
        id: Uuid,
        worker: &str,
        state: &str,
        stats: Option<&Value>,
        error: Option<&str>,
    ) -> Result<bool, QueueError> {
        let q = &self.q;
        let stats = stats.map(storable_json);
        let error = error.map(storable_text);
        // One statement, one round trip: the outcome and its event.
        let n = client
            .execute_typed(
                &format!(
                    "WITH done AS (
                         UPDATE {q}.jobs SET state = $3, stats = coalesce($4, stats), error = $5,
                             lease_owner = NULL, lease_expires_at = NULL,
                             finished_at = now(), updated_at = now()
                         WHERE id = $1 AND state = 'running' AND lease_owner = $2
                         RETURNING id)
                     INSERT INTO {q}.job_events (job_id, kind, data)
                     SELECT id, $3, jsonb_build_object('error', $5) FROM done"
                ),
                &[
                    (&id, Type::UUID),
                    (&worker, Type::TEXT),
                    (&state, Type::TEXT),
                    (&stats, Type::JSONB),
                    (&error, Type::TEXT),
                ],
            )
            .await?;
        Ok(n == 1)
    }

    /// The attempt failed. A `retriable` failure with attempts left is queued again after
    /// the backoff; otherwise the job fails. Returns the job's new state (`None` if the
    /// lease was lost meanwhile).
    pub async fn failed(
        &self,
        client: &Client,
        id: Uuid,
        worker: &str,
        error: &str,
        retriable: bool,
        stats: Option<&Value>,
    ) -> Result<Option<JobState>, QueueError> {
        let q = &self.q;
        let stats = stats.map(storable_json);
        let error = storable_text(error);
        let row = client
            .query_opt(
                &format!(
                    "UPDATE {q}.jobs SET
                         state = CASE WHEN $3 AND attempt < max_attempts AND NOT cancel_requested
                                      THEN 'queued' ELSE 'failed' END,
                         run_after = now() + make_interval(secs =>
                             least($5::float8, $4::float8 * power(2, attempt - 1)) * (0.5 + random() * 0.5)),
                         error = $6,
                         stats = coalesce($7, stats),
                         attempt_errors = attempt_errors || jsonb_build_object(
                             'attempt', attempt, 'error', $6::text, 'retriable', $3, 'at', now()),
                         lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
                         finished_at = CASE WHEN $3 AND attempt < max_attempts AND NOT cancel_requested
                                            THEN NULL ELSE now() END
                     WHERE id = $1 AND state = 'running' AND lease_owner = $2
                     RETURNING state"
                ),
                &[
                    &id,
                    &worker,
                    &retriable,
                    &secs(self.backoff.base),
                    &secs(self.backoff.max),
                    &error,
                    &stats,
                ],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let state = JobState::parse(row.get(0)).expect("known state");
        let kind = match state {
            JobState::Queued => "retry_scheduled",
            _ => "failed",
        };
        self.event(client, id, kind, &serde_json::json!({"error": error}))
            .await?;
        if state == JobState::Queued {
            self.notify(client).await?;
        }
        Ok(Some(state))
    }

    /// Puts back the running jobs whose lease expired (their worker died or hung): queued
    /// again while attempts are left, failed otherwise. Returns how many it touched.
    pub async fn rescue(&self, client: &Client) -> Result<u64, QueueError> {
        let q = &self.q;
        let rows = client
            .query(
                &format!(
                    "UPDATE {q}.jobs SET
                         state = CASE WHEN attempt < max_attempts AND NOT cancel_requested THEN 'queued'
                                      WHEN cancel_requested THEN 'cancelled' ELSE 'failed' END,
                         error = 'the worker ' || coalesce(lease_owner, '?') || ' stopped renewing its lease',
                         attempt_errors = attempt_errors || jsonb_build_object(
                             'attempt', attempt, 'error', 'lease expired', 'retriable', true, 'at', now()),
                         run_after = now(),
                         lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
                         finished_at = CASE WHEN attempt < max_attempts AND NOT cancel_requested
                                            THEN NULL ELSE now() END
                     WHERE id IN (SELECT id FROM {q}.jobs
                                  WHERE state = 'running' AND lease_expires_at < now()
                                  FOR UPDATE SKIP LOCKED)
                     RETURNING id, state"
                ),
                &[],
            )
            .await?;
        let mut requeued = false;
        for r in &rows {
            let state: String = r.get(1);
            requeued |= state == "queued";
            self.event(
                client,
                r.get(0),
                "lease_expired",
                &serde_json::json!({"now": state}),
            )
            .await?;
        }
        if requeued {
            self.notify(client).await?;
        }
        Ok(rows.len() as u64)
    }
}
