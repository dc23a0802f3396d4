//! `ingest worker`: runs queued jobs. Any number of workers, on any number of machines,
//! share one queue in PostgreSQL (see `ingest_queue`): each claims a due job, holds its
//! lease by heartbeat while the load runs, stores the outcome and the rejected rows, and
//! waits on LISTEN when there is nothing to do.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use futures_util::FutureExt;
use ingest_pg::ConnectSource;
use ingest_queue::{Heartbeat, Job, Queue, Schema};
use serde_json::Value;
use tokio::sync::Notify;
use tokio_postgres::Client;
use uuid::Uuid;

use crate::Failure;
use crate::listen::{Listener, listen};

mod load_job;
mod stream_job;

use load_job::run_job;

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
    tokio::spawn(crate::schedule::run(ctx.source.clone(), ctx.queue.clone()));
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

/// A job whose request does not parse fails at once: a retry would not parse it either.
async fn invalid_job(ctx: &Ctx, client: &Client, worker: &str, job: &Job, error: &str) {
    let message = format!("invalid job: {error}");
    let _ = ctx
        .queue
        .failed(client, job.id, worker, &message, false, None)
        .await;
}
