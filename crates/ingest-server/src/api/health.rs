//! Readiness and Prometheus metrics.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Shared;
use super::problem::{Problem, client, internal_problem, problem};
use crate::openapi::ProblemView;

#[utoipa::path(get, path = "/readyz", security(()), responses((status = 200, description = "The database answers and the schema is current"), (status = 503, body = ProblemView, content_type = "application/problem+json")))]
pub async fn readyz(State(api): State<Shared>) -> Result<&'static str, Problem> {
    let c = client(&api).await?;
    let v = ingest_queue::applied_version(&c, api.queue.schema())
        .await
        .map_err(internal_problem)?;
    if v != ingest_queue::LATEST {
        return Err(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-migrated",
            &format!(
                "schema at version {v}, {} expected: run ingest migrate",
                ingest_queue::LATEST
            ),
        ));
    }
    Ok("ready")
}

/// Upper bounds of the job duration histogram's buckets, in seconds.
const DURATION_BUCKETS: [f64; 10] = [0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];

/// Prometheus text: jobs by state, rows and bytes loaded, queue depth and age, and
/// a histogram of job durations.
#[utoipa::path(get, path = "/metrics", security(()), responses((status = 200, description = "Prometheus text", content_type = "text/plain")))]
pub async fn metrics(State(api): State<Shared>) -> Result<Response, Problem> {
    let c = client(&api).await?;
    let schema = api.queue.schema().quoted();
    let by_state = c
        .query(
            &format!("SELECT state, count(*) FROM {schema}.jobs GROUP BY state"),
            &[],
        )
        .await;
    let totals = c
        .query_one(
            &format!(
                "SELECT coalesce(sum((stats->>'rows_inserted')::bigint + (stats->>'rows_updated')::bigint), 0)::bigint,
                        coalesce(sum((stats->>'bytes_read')::bigint), 0)::bigint,
                        coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'queued')), 0)::float8
                 FROM {schema}.jobs"
            ),
            &[],
        )
        .await;
    let durations = c
        .query_one(
            &format!(
                "SELECT ARRAY[{}]::bigint[], count(*), coalesce(sum(d), 0)::float8
                 FROM (SELECT extract(epoch FROM finished_at - started_at)::float8 AS d
                       FROM {schema}.jobs
                       WHERE finished_at IS NOT NULL AND started_at IS NOT NULL) AS done",
                DURATION_BUCKETS
                    .iter()
                    .map(|b| format!("count(*) FILTER (WHERE d <= {b})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            &[],
        )
        .await;
    let (Ok(by_state), Ok(totals), Ok(durations)) = (by_state, totals, durations) else {
        return Err(problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "database-unavailable",
            "metrics need the database",
        ));
    };
    let mut out = String::from("# HELP ingest_jobs Jobs by state.\n# TYPE ingest_jobs gauge\n");
    let mut queued = 0i64;
    for state in [
        "pending_upload",
        "queued",
        "running",
        "succeeded",
        "failed",
        "cancelled",
    ] {
        let n: i64 = by_state
            .iter()
            .find(|r| r.get::<_, String>(0) == state)
            .map_or(0, |r| r.get(1));
        if state == "queued" {
            queued = n;
        }
        out.push_str(&format!("ingest_jobs{{state=\"{state}\"}} {n}\n"));
    }
    let (rows, bytes, age): (i64, i64, f64) = (totals.get(0), totals.get(1), totals.get(2));
    out.push_str(&format!(
        "# HELP ingest_queue_depth Jobs waiting to run.\n# TYPE ingest_queue_depth gauge\ningest_queue_depth {queued}\n\
         # HELP ingest_queue_oldest_seconds Age of the oldest queued job.\n# TYPE ingest_queue_oldest_seconds gauge\ningest_queue_oldest_seconds {age}\n\
         # HELP ingest_rows_loaded_total Rows inserted or updated by finished jobs.\n# TYPE ingest_rows_loaded_total counter\ningest_rows_loaded_total {rows}\n\
         # HELP ingest_bytes_read_total Bytes read by finished jobs.\n# TYPE ingest_bytes_read_total counter\ningest_bytes_read_total {bytes}\n"
    ));
    let (counts, n, sum): (Vec<i64>, i64, f64) =
        (durations.get(0), durations.get(1), durations.get(2));
    out.push_str(
        "# HELP ingest_job_duration_seconds From a job's start to its end, for finished jobs.\n\
         # TYPE ingest_job_duration_seconds histogram\n",
    );
    for (le, count) in DURATION_BUCKETS.iter().zip(&counts) {
        out.push_str(&format!(
            "ingest_job_duration_seconds_bucket{{le=\"{le}\"}} {count}\n"
        ));
    }
    out.push_str(&format!(
        "ingest_job_duration_seconds_bucket{{le=\"+Inf\"}} {n}\n\
         ingest_job_duration_seconds_sum {sum}\ningest_job_duration_seconds_count {n}\n"
    ));
    if let Ok(sources) = api.queue.source_metrics(&c).await {
        out.push_str(&source_metrics(&sources));
    }
    out.push_str(&stream_metrics(&c, &schema).await);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response())
}

/// Per running stream consumer: the messages it loaded and whether it is consuming.
async fn stream_metrics(c: &deadpool_postgres::Object, schema: &str) -> String {
    let rows = c
        .query(
            &format!(
                "SELECT id::text, coalesce(target_table, ''), coalesce((progress->'stream'->>'messages')::bigint, 0),
                        coalesce(progress->'stream'->>'status', ''), (progress->'stream'->>'lag')::bigint
                 FROM {schema}.jobs WHERE kind = 'stream' AND state = 'running' ORDER BY created_at"
            ),
            &[],
        )
        .await
        .unwrap_or_default();
    let mut out = String::from(
        "# HELP ingest_stream_messages_total Messages a running stream consumer loaded.\n# TYPE ingest_stream_messages_total counter\n",
    );
    for r in &rows {
        let (id, table, n): (String, String, i64) = (r.get(0), r.get(1), r.get(2));
        out.push_str(&format!(
            "ingest_stream_messages_total{{job=\"{id}\",table=\"{}\"}} {n}\n",
            table.replace(['"', '\\', '\n'], "_")
        ));
    }
    out.push_str("# HELP ingest_stream_lag Messages in the source not read yet (Kafka).\n# TYPE ingest_stream_lag gauge\n");
    for r in &rows {
        let (id, lag): (String, Option<i64>) = (r.get(0), r.get(4));
        if let Some(lag) = lag {
            out.push_str(&format!("ingest_stream_lag{{job=\"{id}\"}} {lag}\n"));
        }
    }
    out.push_str("# HELP ingest_stream_consuming 1 while a running consumer consumes, 0 while it waits or reconnects.\n# TYPE ingest_stream_consuming gauge\n");
    for r in &rows {
        let (id, status): (String, String) = (r.get(0), r.get(3));
        out.push_str(&format!(
            "ingest_stream_consuming{{job=\"{id}\"}} {}\n",
            u8::from(status == "consuming")
        ));
    }
    out
}

/// Per pull source: its last success and failure, the records its runs pulled, how far
/// its cursor lags behind now (when the cursor is a time), and whether it is paused.
fn source_metrics(sources: &[ingest_queue::SourceMetrics]) -> String {
    let mut out = String::new();
    let now = chrono::Utc::now();
    let mut family =
        |name: &str,
         kind: &str,
         help: &str,
         value: &dyn Fn(&ingest_queue::SourceMetrics) -> Option<f64>| {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for s in sources {
                if let Some(v) = value(s) {
                    // Source names are letters, digits, `_` and `-`: nothing to escape.
                    out.push_str(&format!("{name}{{source=\"{}\"}} {v}\n", s.name));
                }
            }
        };
    family(
        "ingest_source_last_success_timestamp_seconds",
        "gauge",
        "When a run of the source last succeeded.",
        &|s| s.last_success.map(|t| t.timestamp() as f64),
    );
    family(
        "ingest_source_last_failure_timestamp_seconds",
        "gauge",
        "When a run of the source last failed.",
        &|s| s.last_failure.map(|t| t.timestamp() as f64),
    );
    family(
        "ingest_source_records_pulled_total",
        "counter",
        "Records fetched by the source's successful runs.",
        &|s| Some(s.records as f64),
    );
    family(
        "ingest_source_cursor_lag_seconds",
        "gauge",
        "How far the source's stored cursor is behind now.",
        &|s| {
            let at = ingest_sources::track::instant(s.cursor.as_deref()?)?;
            Some((now - at).num_milliseconds() as f64 / 1000.0)
        },
    );
    family(
        "ingest_source_paused",
        "gauge",
        "1 while the source is paused.",
        &|s| Some(f64::from(u8::from(s.paused))),
    );
    out
}
