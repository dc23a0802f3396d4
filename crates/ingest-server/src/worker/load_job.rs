//! The jobs that load: a file or URL (`load`) or a pull source's run (`pull`), each one
//! load whose success is recorded in its own transaction; and exports.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ingest_load::{self as load, BeforeCommit, LoadRequest, LoadSummary, Progress};
use ingest_queue::{Job, Queue};
use ingest_sources::stats::PullStats;
use ingest_sources::{PullError, PullOptions, SourceSpec};
use serde_json::{Value, json};
use tokio_postgres::Client;
use uuid::Uuid;

use super::{Ctx, Outcome, invalid_job, supervise};
use crate::job_request::{export_request, load_request, pull_request, uploaded_url};

/// What a loading job runs.
enum Work {
    Load(Box<LoadRequest>),
    Pull(Box<SourceSpec>, Box<PullOptions>),
}

/// Why a loading job failed.
enum JobError {
    Load(load::LoadError),
    Pull(PullError),
}

impl JobError {
    fn exit_code(&self) -> i32 {
        match self {
            JobError::Load(e) => e.exit_code(),
            JobError::Pull(e) => e.exit_code(),
        }
    }

    /// The before-commit step refused the commit.
    fn vetoed(&self) -> bool {
        matches!(
            self,
            JobError::Load(load::LoadError::Vetoed(_))
                | JobError::Pull(PullError::Load(load::LoadError::Vetoed(_)))
        )
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobError::Load(e) => e.fmt(f),
            JobError::Pull(e) => e.fmt(f),
        }
    }
}

pub(super) async fn run_job(
    ctx: &Arc<Ctx>,
    client: &Client,
    worker: &str,
    job: Job,
    load_connection: &mut Option<Arc<Client>>,
) {
    if job.kind == "export" {
        return run_export(ctx, client, worker, job).await;
    }
    if job.kind == "stream" {
        return super::stream_job::run_stream(ctx, client, worker, job).await;
    }
    let errors_file = ctx.errors_dir.path().join(format!("{}.ndjson", job.id));
    let work = match job.kind.as_str() {
        "pull" => pull_request(&job.payload, &ctx.source, &errors_file)
            .map(|(spec, options)| Work::Pull(Box::new(spec), Box::new(options))),
        _ => load_request(&job.payload, &ctx.source, &errors_file).map(|r| Work::Load(Box::new(r))),
    };
    let work = match work {
        Ok(w) => w,
        Err(e) => return invalid_job(ctx, client, worker, &job, &e).await,
    };
    // Reused only after a load that succeeded: any other end may leave the connection
    // in a COPY or a failed transaction.
    let connection = match load_connection.take().filter(|c| !c.is_closed()) {
        Some(c) => Some(c),
        // When this fails, the load's own attempt fails the same way, as a load error.
        None => ingest_pg::connect(&ctx.source).await.ok().map(Arc::new),
    };
    let recorded = Arc::new(Recorded::default());
    let pulled = Arc::new(PullStats::default());
    let success = record_success(ctx, &job, worker, &errors_file, &recorded, &pulled);
    let progress = Progress::quiet();
    let mut summary = LoadSummary::default();
    // The tables' registered rules and the sources' cursors are in this service's schema.
    let schema = ctx.queue.schema().clone();
    let run = async {
        match work {
            Work::Load(mut req) => {
                req.service_schema = schema;
                req.connection = connection.clone();
                req.before_commit = Some(success);
                load::run(&req, &mut summary, &progress)
                    .await
                    .map_err(JobError::Load)
            }
            Work::Pull(spec, mut options) => {
                options.service_schema = Some(schema.name().to_string());
                options.connection = connection.clone();
                options.before_commit = Some(success);
                options.stats = pulled.clone();
                ingest_sources::pull(&spec, &options, &mut summary, &progress)
                    .await
                    .map(|_| ())
                    .map_err(JobError::Pull)
            }
        }
    };
    let outcome = supervise(
        ctx,
        client,
        worker,
        job.id,
        run,
        &|| {
            let (total, bytes, rows) = progress.snapshot();
            let mut p = json!({"bytes_total": total, "bytes_read": bytes, "rows_read": rows});
            if job.kind == "pull" {
                p["pull"] = serde_json::to_value(pulled.counts()).unwrap_or(Value::Null);
            }
            p
        },
        &|| progress.committing(),
    )
    .await;
    match &outcome {
        // The connection is kept for the next job only after a load that succeeded.
        Outcome::Done(Ok(())) => *load_connection = connection,
        // A stopped load may be mid-statement or mid-transaction: its statement is
        // cancelled and its connection closed, so the server rolls back and lets go of
        // the table (and of the job's row) before the outcome is recorded.
        _ => {
            progress.cancel_server_side().await;
            drop(connection);
        }
    }
    let stats = job_stats(&summary, &job, &pulled);
    let result = match outcome {
        Outcome::LeaseLost => None,
        Outcome::CancelRequested => {
            discard_upload(&job).await;
            Some(
                ctx.queue
                    .cancelled(client, job.id, worker)
                    .await
                    .map(|_| ()),
            )
        }
        // Recorded in the load's own transaction (see record_success).
        Outcome::Done(Ok(())) if recorded.success.load(Ordering::SeqCst) => {
            discard_upload(&job).await;
            None
        }
        Outcome::Done(Ok(())) => {
            if let Err(e) = store_rejects(&ctx.queue, client, job.id, &errors_file).await {
                eprintln!("ingest: job {}: storing its rejects failed: {e}", job.id);
            }
            discard_upload(&job).await;
            Some(
                ctx.queue
                    .succeeded(client, job.id, worker, &stats)
                    .await
                    .map(|_| ()),
            )
        }
        // Another worker holds the job now: this one's load was not committed.
        Outcome::Done(Err(e)) if e.vetoed() && recorded.lease_lost.load(Ordering::SeqCst) => None,
        Outcome::Done(Err(e)) => {
            if let Err(e) = store_rejects(&ctx.queue, client, job.id, &errors_file).await {
                eprintln!("ingest: job {}: storing its rejects failed: {e}", job.id);
            }
            // Exit code 3 (connection, database, store failures, a failed before-commit
            // step, an API that asks to wait) may succeed on retry; a bad file or a bad
            // request will not.
            let retriable = e.exit_code() == 3;
            Some(
                ctx.queue
                    .failed(
                        client,
                        job.id,
                        worker,
                        &e.to_string(),
                        retriable,
                        Some(&stats),
                    )
                    .await
                    .map(|_| ()),
            )
        }
    };
    if let Some(Err(e)) = result {
        eprintln!("ingest: job {}: recording its outcome failed: {e}", job.id);
    }
    let _ = std::fs::remove_file(&errors_file);
}

/// A job's statistics: the load's summary, and for a pull what it asked of its source.
fn job_stats(summary: &LoadSummary, job: &Job, pulled: &PullStats) -> Value {
    let mut stats = serde_json::to_value(summary).unwrap_or(Value::Null);
    if job.kind == "pull" {
        stats["pull"] = serde_json::to_value(pulled.counts()).unwrap_or(Value::Null);
    }
    stats
}

/// An export job: the export runs under the job's lease; its summary is the job's stats.
/// (Its files are outside the database: a rerun after a lost lease writes them again, in
/// place, as whole files.)
async fn run_export(ctx: &Ctx, client: &Client, worker: &str, job: Job) {
    let req = match export_request(&job.payload, &ctx.source) {
        Ok(r) => r,
        Err(e) => return invalid_job(ctx, client, worker, &job, &e).await,
    };
    let rows = AtomicU64::new(0);
    let outcome = supervise(
        ctx,
        client,
        worker,
        job.id,
        ingest_export::run(&req, &|n| rows.store(n, Ordering::Relaxed)),
        &|| json!({"rows_read": rows.load(Ordering::Relaxed)}),
        &|| req.committing.load(Ordering::SeqCst),
    )
    .await;
    let result = match outcome {
        Outcome::LeaseLost => None,
        Outcome::CancelRequested => Some(ctx.queue.cancelled(client, job.id, worker).await),
        Outcome::Done(Ok(summary)) => {
            let stats = serde_json::to_value(&summary).unwrap_or(Value::Null);
            Some(ctx.queue.succeeded(client, job.id, worker, &stats).await)
        }
        Outcome::Done(Err(e)) => Some(
            ctx.queue
                .failed(
                    client,
                    job.id,
                    worker,
                    &e.to_string(),
                    e.exit_code() == 3,
                    None,
                )
                .await
                .map(|_| true),
        ),
    };
    if let Some(Err(e)) = result {
        eprintln!("ingest: job {}: recording its outcome failed: {e}", job.id);
    }
}

/// What the before-commit step found: the success written, or the lease gone.
#[derive(Default)]
struct Recorded {
    success: AtomicBool,
    lease_lost: AtomicBool,
}

/// An uploaded file is deleted once its job has no more use for it (it succeeded or was
/// cancelled); a failed job keeps it, to be retried.
async fn discard_upload(job: &Job) {
    let Some(url) = uploaded_url(&job.payload) else {
        return;
    };
    if let Err(e) = ingest_store::delete_object(url).await {
        eprintln!("ingest: job {}: deleting its upload failed: {e}", job.id);
    }
}

/// The job's success, written in its load's transaction just before COMMIT: the rejects
/// and the `succeeded` state commit with the rows, or not at all. A worker that lost its
/// lease (another one runs the job now) finds the job no longer its own and refuses the
/// commit, so a job's rows are never committed twice.
fn record_success(
    ctx: &Arc<Ctx>,
    job: &Job,
    worker: &str,
    errors_file: &std::path::Path,
    recorded: &Arc<Recorded>,
    pulled: &Arc<PullStats>,
) -> BeforeCommit {
    let (ctx, worker, job) = (ctx.clone(), worker.to_string(), job.clone());
    let (errors_file, recorded, pulled) =
        (errors_file.to_path_buf(), recorded.clone(), pulled.clone());
    let id = job.id;
    let started = std::time::Instant::now();
    BeforeCommit(Arc::new(move |client, summary| {
        let (ctx, worker, errors_file, recorded) = (
            ctx.clone(),
            worker.clone(),
            errors_file.clone(),
            recorded.clone(),
        );
        let (job, pulled) = (job.clone(), pulled.clone());
        Box::pin(async move {
            store_rejects(&ctx.queue, client, id, &errors_file).await?;
            // As the load will report itself once committed.
            let mut summary = summary.clone();
            summary.status = "succeeded";
            summary.seconds = started.elapsed().as_secs_f64();
            if summary.seconds > 0.0 {
                summary.rows_per_second = summary.rows_read as f64 / summary.seconds;
            }
            let stats = job_stats(&summary, &job, &pulled);
            match ctx.queue.succeeded(client, id, &worker, &stats).await {
                Ok(true) => {
                    recorded.success.store(true, Ordering::SeqCst);
                    Ok(())
                }
                Ok(false) => {
                    recorded.lease_lost.store(true, Ordering::SeqCst);
                    Err("the job's lease was lost; another worker runs it".into())
                }
                Err(e) => Err(format!("recording the job's success: {e}")),
            }
        })
    }))
}

/// The attempt's rejected rows into job_errors (a job's rows are replaced each attempt).
async fn store_rejects(
    queue: &Queue,
    client: &Client,
    id: Uuid,
    errors_file: &std::path::Path,
) -> Result<(), String> {
    let q = queue.schema().quoted();
    client
        .execute(
            &format!("DELETE FROM {q}.job_errors WHERE job_id = $1"),
            &[&id],
        )
        .await
        .map_err(|e| ingest_queue::full_message(&e))?;
    // Read a thousand at a time: a load may reject millions of rows.
    let Ok(file) = std::fs::File::open(errors_file) else {
        return Ok(());
    };
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(file));
    let mut seq = 0i64;
    loop {
        let raw: Vec<String> = lines.by_ref().take(1000).map_while(Result::ok).collect();
        if raw.is_empty() {
            return Ok(());
        }
        let chunk: Vec<Value> = raw
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let seqs: Vec<i64> = (seq..seq + chunk.len() as i64).collect();
        seq += chunk.len() as i64;
        let line: Vec<i64> = chunk
            .iter()
            .map(|r| r["line"].as_i64().unwrap_or(0))
            .collect();
        // PostgreSQL's text cannot hold NUL: a rejected value may.
        let text = |k: &str| -> Vec<Option<String>> {
            chunk
                .iter()
                .map(|r| r[k].as_str().map(|v| v.replace('\0', "\u{FFFD}")))
                .collect()
        };
        let (column, value, reason, file, rule) = (
            text("column"),
            text("value"),
            text("reason"),
            text("file"),
            text("rule"),
        );
        let severity: Vec<&str> = chunk
            .iter()
            .map(|r| match r["warning"].as_bool() {
                Some(true) => "warn",
                _ => "reject",
            })
            .collect();
        let r = client
            .execute(
                &format!(
                    "INSERT INTO {q}.job_errors (job_id, seq, line, column_name, value, reason, file, rule, severity)
                     SELECT $1, s, l, c, v, coalesce(r, ''), f, ru, sv
                     FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],
                                 $8::text[], $9::text[])
                          AS x(s, l, c, v, r, f, ru, sv)"
                ),
                &[&id, &seqs, &line, &column, &value, &reason, &file, &rule, &severity],
            )
            .await;
        r.map_err(|e| ingest_queue::full_message(&e))?;
    }
}
