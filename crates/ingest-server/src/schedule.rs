//! The schedule of registered pull sources. Every `serve` and `worker` process ticks it
//! (each tick one transaction, sources locked with SKIP LOCKED), so any number of them
//! may run: each due tick makes exactly one job, at most one run per source is queued or
//! running, and the next tick follows from the scheduled one and the database's clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ingest_pg::ConnectSource;
use ingest_queue::{Queue, SourceRow};
use ingest_sources::SourceSpec;
use ingest_sources::schedule::Ticks;

use crate::job_request::pull_job;

/// How often due sources are looked for: the finest schedule is a second.
const EVERY: Duration = Duration::from_millis(500);

/// Files uploaded to the console are kept this long (a Check, then a Load, then a
/// download of the rejects read them), then deleted unless a job still reads them.
const FILES_KEPT: Duration = Duration::from_secs(24 * 3600);
/// How often old files are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// Deletes the console's uploaded files older than [`FILES_KEPT`].
async fn sweep_files(client: &tokio_postgres::Client, queue: &Queue) {
    let before = chrono::Utc::now() - chrono::Duration::from_std(FILES_KEPT).expect("a day fits");
    match queue.expire_files(client, before).await {
        Ok(files) => {
            for f in files {
                if let Err(e) = ingest_store::delete_object(&f.url).await {
                    eprintln!(
                        "ingest: deleting the old upload {}: {e}",
                        ingest_store::redacted(&f.url)
                    );
                }
            }
        }
        Err(e) => eprintln!("ingest: looking for old uploads: {e}"),
    }
}

/// Ticks the schedule of `queue`'s sources until the process ends (and, now and then,
/// deletes the console's old uploads).
pub async fn run(source: ConnectSource, queue: Queue) {
    let mut swept = std::time::Instant::now() - SWEEP_EVERY;
    loop {
        if let Ok(mut client) = ingest_pg::connect(&source).await {
            loop {
                if swept.elapsed() >= SWEEP_EVERY {
                    sweep_files(&client, &queue).await;
                    swept = std::time::Instant::now();
                }
                match queue
                    .tick_sources(&mut client, &next_tick, &|s| {
                        pull_job(s, false, s.created_by.clone())
                    })
                    .await
                {
                    Ok(ticks) => {
                        for t in ticks.iter().filter(|t| t.started.is_none()) {
                            eprintln!(
                                "ingest: source {}: the run due at {} was skipped: one is still queued or running",
                                t.source, t.scheduled_for
                            );
                        }
                    }
                    Err(e) => {
                        eprintln!("ingest: the sources' schedule: {e}; reconnecting");
                        break;
                    }
                }
                tokio::time::sleep(EVERY).await;
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// The tick after `scheduled` for `source`'s schedule; `None` when it has none (or its
/// spec no longer reads, which registration prevents).
pub fn next_tick(
    source: &SourceRow,
    scheduled: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    ticks(source).map(|t| t.after(scheduled, now))
}

/// The first tick of a source registered or resumed at `now`.
pub fn first_tick(spec: &SourceSpec, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let schedule = spec.schedule.as_ref()?;
    Ticks::of(schedule).ok().map(|t| t.first(now))
}

fn ticks(source: &SourceRow) -> Option<Ticks> {
    let spec: SourceSpec = serde_json::from_value(source.spec.clone()).ok()?;
    Ticks::of(spec.schedule.as_ref()?).ok()
}
