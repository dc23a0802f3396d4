//! `GET /v1/jobs/{id}/events`: a job's progress as server-sent events.

use std::time::Duration;

use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::Value;
use uuid::Uuid;

use super::Shared;
use super::auth::Access;
use super::jobs::{find, job_json};
use super::problem::{PathOf, Problem};
use crate::openapi::ProblemView;

/// What the events stream remembers between polls.
struct Watch {
    api: Shared,
    id: Uuid,
    last_event: i64,
    last_progress: Option<Value>,
    done: bool,
    ended: tokio::sync::broadcast::Receiver<Uuid>,
}

/// Live progress as server-sent events until the job ends: `progress` (the job, when it
/// changed), one event per job event (`created`, `started`, `retry_scheduled`, ...), and
/// a last `end` with the final job.
#[utoipa::path(get, path = "/v1/jobs/{id}/events", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, description = "text/event-stream until the job ends", content_type = "text/event-stream"), (status = 404, body = ProblemView, content_type = "application/problem+json"),
              (status = 400, body = ProblemView, content_type = "application/problem+json", description = "A malformed request"), (status = 401, body = ProblemView, content_type = "application/problem+json", description = "No valid bearer token (once any token exists)"), (status = 403, body = ProblemView, content_type = "application/problem+json", description = "The token does not reach this table"), (status = 503, body = ProblemView, content_type = "application/problem+json", description = "The database is not reachable")))]
pub async fn job_events(
    State(api): State<Shared>,
    Extension(access): Extension<Access>,
    PathOf(id): PathOf<String>,
) -> Result<Response, Problem> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let (_, job) = find(&api, &access, &id).await?;
    let ended = api.ended.subscribe();
    let watch = Watch {
        api,
        id: job.id,
        last_event: 0,
        last_progress: None,
        done: false,
        ended,
    };
    let stream = futures_util::stream::unfold(watch, |mut w| async move {
        if w.done {
            return None;
        }
        let mut events: Vec<Event> = Vec::new();
        while events.is_empty() {
            let Ok(c) = w.api.pool.get().await else {
                return None;
            };
            let q = w.api.queue.schema().quoted();
            if let Ok(rows) = c
                .query(
                    &format!("SELECT id, kind, data FROM {q}.job_events WHERE job_id = $1 AND id > $2 ORDER BY id"),
                    &[&w.id, &w.last_event],
                )
                .await
            {
                for r in rows {
                    w.last_event = r.get(0);
                    let kind: String = r.get(1);
                    let data: Value = r.get(2);
                    events.push(Event::default().event(kind).data(data.to_string()));
                }
            }
            let Ok(Some(job)) = w.api.queue.get(&c, w.id).await else {
                return None;
            };
            let view = job_json(&job);
            if job.state.is_final() {
                events.push(Event::default().event("end").data(view.to_string()));
                w.done = true;
            } else if w.last_progress.as_ref() != Some(&view) {
                events.push(Event::default().event("progress").data(view.to_string()));
                w.last_progress = Some(view);
            }
            // The pooled connection is not held while this stream waits.
            drop(c);
            if events.is_empty() {
                // Progress is looked at twice a second; the end is heard at once.
                tokio::select! {
                    _ = super::ended(&mut w.ended, w.id) => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        }
        let batch = futures_util::stream::iter(events.into_iter().map(Ok::<_, std::convert::Infallible>));
        Some((batch, w))
    })
    .flatten();
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}
