//! `ingest worker`: runs queued jobs. Any number of workers, on any number of machines,
//! share one queue in PostgreSQL (see `ingest_queue`): each claims a due job, holds its
//! lease by heartbeat while the load runs, stores the outcome and the rejected rows, and
//! waits on LISTEN when there is nothing to do.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use futures_util::FutureExt;
use ingest_load::Progress;
use ingest_load::{self as load, BeforeCommit, LoadSummary};
use ingest_pg::ConnectSource;
use ingest_queue::{Heartbeat, Job, Queue, Schema};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_postgres::Client;
use uuid::Uuid;

use crate::Failure;
use crate::job_request::{export_request, load_request, uploaded_url};
use crate::listen::{Listener, listen};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  ingest worker                         # as many workers as cores, schema `ingest`
  ingest worker --workers 4 --lease 60  # on a machine of its own, beside `ingest serve`

A worker that dies mid-job loses its lease; after --lease seconds another worker runs the
job again. The target table is untouched until a load commits, so nothing is doubled.")]
pub struct WorkerArgs {
    #[command(flatten)]
    pub db: crate::QueueDb,

    /// Jobs run at once by this process (default: the number of cores)
    #[arg(long)]
    pub workers: Option<usize>,

    /// Seconds a job's lease lasts without a heartbeat (heartbeats come every third of it)
    #[arg(long, default_value_t = 30)]
    pub lease: u64,
}

/// What every worker task shares.
struct Ctx {
    source: ConnectSource,
    queue: Queue,
    lease: Duration,
    wake: Notify,
    /// The jobs running in this process, signalled when a cancel is asked for.
    cancels: Mutex<HashMap<Uuid, Arc<Notify>>>,
    errors_dir: tempfile::TempDir,
}

/// Runs queued jobs (`ingest worker`) until Ctrl-C.
pub async fn run_workers(a: WorkerArgs) -> Result<(), Failure> {
    let (source, schema, _) = a.db.migrated().await?;
    let workers = a.workers.unwrap_or_else(crate::worker::default_count);
    start(source, schema, workers, Duration::from_secs(a.lease)).await?;
    let _ = tokio::signal::ctrl_c().await;
    // Running loads are dropped: their transactions roll back, their leases expire, and
    // another worker runs them again.
    eprintln!("ingest: stopping; running jobs go back to the queue when their lease expires");
    Ok(())
}

/// Workers when `--workers` is not given: one per core.
pub fn default_count() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Starts `workers` job loops (at least one), the LISTEN connection and the rescuer, on
/// the current runtime. The schema must be migrated.
pub async fn start(
    source: ConnectSource,
    schema: Schema,
    workers: usize,
    lease: Duration,
) -> Result<(), (i32, String)> {
    let workers = workers.max(1);
    let ctx = Arc::new(Ctx {
        source,
        queue: Queue::new(schema),
        lease: lease.max(Duration::from_secs(1)),
        wake: Notify::new(),
        cancels: Mutex::new(HashMap::new()),
        errors_dir: tempfile::tempdir().map_err(|e| (2, e.to_string()))?,
    });
    let channel = ctx.queue.schema().channel();
    listen(ctx.source.clone(), channel, ctx.clone())
        .await
        .map_err(|e| (3, e))?;
    let host = hostname();
    for n in 0..workers {
        let ctx = ctx.clone();
        let name = format!("{host}:{}:{n}", std::process::id());
        tokio::spawn(async move { worker_loop(ctx, name).await });
    }
    tokio::spawn(rescuer(ctx.clone()));
    eprintln!(
        "ingest: {workers} worker{} on queue {}",
        if workers == 1 { "" } else { "s" },
        ctx.queue.schema().name()
    );
    Ok(())
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "worker".into())
}

/// The workers' notifications: a new job wakes an idle worker; `cancel:<id>` stops that
/// job at once if it runs here; `ended:<id>` is for the API.
impl Listener for Ctx {
    fn notified(&self, payload: &str) {
        if let Some(id) = payload.strip_prefix("cancel:") {
            let running = Uuid::parse_str(id)
                .ok()
                .and_then(|id| self.cancels.lock().ok()?.get(&id).cloned());
            if let Some(cancel) = running {
                cancel.notify_one();
            }
        } else if !payload.starts_with("ended:") {
            self.wake.notify_waiters();
        }
    }

    /// Jobs queued while nobody listened are found by the next claim.
    fn reconnected(&self) {
        self.wake.notify_waiters();
    }
}

/// Puts back jobs whose lease expired, every half lease.
async fn rescuer(ctx: Arc<Ctx>) {
    loop {
        if let Ok(client) = ingest_pg::connect(&ctx.source).await {
            loop {
                match ctx.queue.rescue(&client).await {
                    Ok(n) if n > 0 => {
                        eprintln!("ingest: {n} job(s) whose worker stopped are back in the queue");
                        ctx.wake.notify_waiters();
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
                tokio::time::sleep(ctx.lease / 2).await;
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn worker_loop(ctx: Arc<Ctx>, name: String) {
    loop {
        let client = match ingest_pg::connect(&ctx.source).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("ingest: worker {name}: {e}; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        // The loads' connection, kept from one job to the next while they succeed.
        let mut load_connection = None;
        loop {
            match ctx.queue.claim(&client, &name, ctx.lease).await {
                Ok(Some(job)) => {
                    // A bug that panics on one job fails that job, not this worker.
                    let id = job.id;
                    let run = run_job(&ctx, &client, &name, job, &mut load_connection);
                    if std::panic::AssertUnwindSafe(run)
                        .catch_unwind()
                        .await
                        .is_err()
                    {
                        eprintln!("ingest: worker {name}: job {id} panicked; failing it");
                        load_connection = None;
                        let message =
                            "the worker failed on this job (an internal error; see its log)";
                        let _ = ctx
                            .queue
                            .failed(&client, id, &name, message, false, None)
                            .await;
                    }
                }
                Ok(None) => {
                    // Woken by a new job, or every few seconds for due retries.
                    let _ = tokio::time::timeout(Duration::from_secs(2), ctx.wake.notified()).await;
                }
                Err(e) => {
                    eprintln!("ingest: worker {name}: {e}; reconnecting");
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// How a job's run ended, as the worker saw it.
enum Outcome<T> {
    Done(T),
    CancelRequested,
    LeaseLost,
}

/// Runs a job's work while holding its lease: a heartbeat (with `progress()`) every 2 s
/// or third of the lease, and a stop when a cancel is asked for or the lease is lost.
/// While `committing()` the work is neither stopped nor interrupted by a heartbeat (a
/// load's before-commit step locks the job's row, which the heartbeat would wait for).
async fn supervise<T>(
    ctx: &Ctx,
    client: &Client,
    worker: &str,
    id: Uuid,
    work: impl Future<Output = T>,
    progress: &(dyn Fn() -> Value + Sync),
    committing: &(dyn Fn() -> bool + Sync),
) -> Outcome<T> {
    let cancel = Arc::new(Notify::new());
    if let Ok(mut running) = ctx.cancels.lock() {
        running.insert(id, cancel.clone());
    }
    tokio::pin!(work);
    let mut beat = tokio::time::interval((ctx.lease / 3).min(Duration::from_secs(2)));
    beat.tick().await;
    let outcome = loop {
        tokio::select! {
            r = &mut work => break Outcome::Done(r),
            _ = cancel.notified(), if !committing() => break Outcome::CancelRequested,
            _ = beat.tick(), if !committing() => {
                match ctx.queue.heartbeat(client, id, worker, ctx.lease, &progress()).await {
                    Ok(Heartbeat::Held) | Err(_) => {}
                    Ok(Heartbeat::CancelRequested) => break Outcome::CancelRequested,
                    Ok(Heartbeat::Lost) => break Outcome::LeaseLost,
                }
            }
        }
    };
    if let Ok(mut running) = ctx.cancels.lock() {
        running.remove(&id);
    }
    outcome
}

async fn run_job(
    ctx: &Arc<Ctx>,
    client: &Client,
    worker: &str,
    job: Job,
    load_connection: &mut Option<Arc<Client>>,
) {
    if job.kind == "export" {
        return run_export(ctx, client, worker, job).await;
    }
    let errors_file = ctx.errors_dir.path().join(format!("{}.ndjson", job.id));
    let mut req = match load_request(&job.payload, &ctx.source, &errors_file) {
        Ok(r) => r,
        Err(e) => return invalid_job(ctx, client, worker, &job, &e).await,
    };
    // The tables' registered rules are in this service's schema.
    req.service_schema = ctx.queue.schema().clone();
    // Reused only after a load that succeeded: any other end may leave the connection
    // in a COPY or a failed transaction.
    req.connection = match load_connection.take().filter(|c| !c.is_closed()) {
        Some(c) => Some(c),
        // When this fails, the load's own attempt fails the same way, as a load error.
        None => ingest_pg::connect(&ctx.source).await.ok().map(Arc::new),
    };
    let recorded = Arc::new(Recorded::default());
    req.before_commit = Some(record_success(ctx, &job, worker, &errors_file, &recorded));
    let progress = Progress::quiet();
    let mut summary = LoadSummary::default();
    let outcome = supervise(
        ctx,
        client,
        worker,
        job.id,
        load::run(&req, &mut summary, &progress),
        &|| {
            let (total, bytes, rows) = progress.snapshot();
            json!({"bytes_total": total, "bytes_read": bytes, "rows_read": rows})
        },
        &|| progress.committing(),
    )
    .await;
    match &outcome {
        // The connection is kept for the next job only after a load that succeeded.
        Outcome::Done(Ok(())) => *load_connection = req.connection.take(),
        // A stopped load may be mid-statement or mid-transaction: its statement is
        // cancelled and its connection closed, so the server rolls back and lets go of
        // the table (and of the job's row) before the outcome is recorded.
        _ => {
            progress.cancel_server_side().await;
            drop(req.connection.take());
        }
    }
    let stats = serde_json::to_value(&summary).unwrap_or(Value::Null);
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
        Outcome::Done(Err(load::LoadError::Vetoed(_)))
            if recorded.lease_lost.load(Ordering::SeqCst) =>
        {
            None
        }
        Outcome::Done(Err(e)) => {
            if let Err(e) = store_rejects(&ctx.queue, client, job.id, &errors_file).await {
                eprintln!("ingest: job {}: storing its rejects failed: {e}", job.id);
            }
            // Exit code 3 (connection, database, store failures, a failed before-commit
            // step) may succeed on retry; a bad file or a bad request will not.
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

/// A job whose request does not parse fails at once: a retry would not parse it either.
async fn invalid_job(ctx: &Ctx, client: &Client, worker: &str, job: &Job, error: &str) {
    let message = format!("invalid job: {error}");
    let _ = ctx
        .queue
        .failed(client, job.id, worker, &message, false, None)
        .await;
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
) -> BeforeCommit {
    let (ctx, id, worker) = (ctx.clone(), job.id, worker.to_string());
    let (errors_file, recorded) = (errors_file.to_path_buf(), recorded.clone());
    let started = std::time::Instant::now();
    BeforeCommit(Arc::new(move |client, summary| {
        let (ctx, worker, errors_file, recorded) = (
            ctx.clone(),
            worker.clone(),
            errors_file.clone(),
            recorded.clone(),
        );
        Box::pin(async move {
            store_rejects(&ctx.queue, client, id, &errors_file).await?;
            // As the load will report itself once committed.
            let mut summary = summary.clone();
            summary.status = "succeeded";
            summary.seconds = started.elapsed().as_secs_f64();
            if summary.seconds > 0.0 {
                summary.rows_per_second = summary.rows_read as f64 / summary.seconds;
            }
            let stats = serde_json::to_value(&summary).unwrap_or(Value::Null);
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
