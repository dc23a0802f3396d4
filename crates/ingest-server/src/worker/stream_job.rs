//! A stream consumer as a job: it consumes under the job's lease (held by heartbeat, the
//! consumer's counters as progress) until it is stopped (cancelled), fails for good, or
//! the worker dies, when another worker runs it again from the positions stored with the
//! last committed batch.

use std::sync::{Arc, Mutex};

use ingest_queue::Job;
use ingest_streams::ConsumeStats;
use serde_json::json;
use tokio_postgres::Client;

use super::{Ctx, Outcome, invalid_job, supervise};
use crate::job_request::stream_request;

pub(super) async fn run_stream(ctx: &Arc<Ctx>, client: &Client, worker: &str, job: Job) {
    let (url, group, mut options) = match stream_request(&job.payload, &ctx.source) {
        Ok(r) => r,
        Err(e) => return invalid_job(ctx, client, worker, &job, &e).await,
    };
    options.service_schema = Some(ctx.queue.schema().name().to_string());
    // Each rejected message becomes one of the job's rejects, with its batch.
    options.job = Some(job.id);
    let stats = Arc::new(Mutex::new(ConsumeStats::default()));
    let seen = stats.clone();
    let report = move |s: &ConsumeStats| {
        if let Ok(mut shared) = seen.lock() {
            *shared = s.clone();
        }
    };
    let progress = || {
        let s = stats.lock().map(|s| s.clone()).unwrap_or_default();
        json!({"rows_read": s.messages, "stream": s})
    };
    let outcome = supervise(
        ctx,
        client,
        worker,
        job.id,
        ingest_streams::consume(&url, &group, &options, &report),
        &progress,
        // Each batch commits on its own: a stop may come at any moment.
        &|| false,
    )
    .await;
    let final_stats = json!({"stream": stats.lock().map(|s| s.clone()).unwrap_or_default()});
    let result = match outcome {
        Outcome::LeaseLost => None,
        Outcome::CancelRequested => Some(
            ctx.queue
                .cancelled(client, job.id, worker)
                .await
                .map(|_| ()),
        ),
        Outcome::Done(Ok(_)) => Some(
            ctx.queue
                .succeeded(client, job.id, worker, &final_stats)
                .await
                .map(|_| ()),
        ),
        Outcome::Done(Err(e)) => Some(
            ctx.queue
                .failed(
                    client,
                    job.id,
                    worker,
                    &e.to_string(),
                    false,
                    Some(&final_stats),
                )
                .await
                .map(|_| ()),
        ),
    };
    if let Some(Err(e)) = result {
        eprintln!("ingest: job {}: recording its outcome failed: {e}", job.id);
    }
}
