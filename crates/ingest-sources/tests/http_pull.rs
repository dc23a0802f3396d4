//! `pull` from a REST API (the in-process mock of `support/mock_api.rs`) into a real
//! PostgreSQL: every record once, the cursor with the rows, retries after Retry-After, the
//! requests/second budget, and each kind of bad answer failing with nothing changed.

mod support;

use std::time::{Duration, Instant};

use ingest_load::{LoadSummary, Progress};
use ingest_sources::cursor::Cursor;
use ingest_sources::{
    Auth, HttpSource, PullError, PullOptions, PullOutcome, SourceKind, SourceSpec, pull,
};
use support::mock_api::{self, TOKEN};
use support::pg::Db;

const TABLE: &str = "(id bigint primary key, plate text not null, fare numeric(30,6), updated_at timestamptz, route jsonb)";

fn spec(db: &Db, base: &str, path: &str, table: &str, extra: &str) -> SourceSpec {
    let yaml = format!(
        r#"
name: {table}
source:
  type: http
  base_url: {base}/v2
  auth: {{type: bearer, token: "${{env:MOCK_TOKEN}}"}}
  request: {{path: {path}, params: {{updated_since: "{{cursor}}", per_page: 10}}}}
  records: $.data[*]
  pagination: {{type: cursor, cursor_path: $.meta.next, param: cursor}}
  retry: {{max_attempts: 3, max_wait: 5s}}
{extra}
incremental: {{cursor_field: updated_at, tie_breaker: id, initial: "2026-01-01T00:00:00Z"}}
target: {{table: {}.{table}, mode: upsert, key: [id]}}
"#,
        db.schema
    );
    SourceSpec::parse(&yaml, "test.yaml").unwrap()
}

async fn run(
    db: &Db,
    spec: &SourceSpec,
    options: PullOptions,
) -> (Result<PullOutcome, PullError>, LoadSummary) {
    let options = PullOptions {
        database: ingest_pg::ConnectSource::Url(db.url.clone()),
        service_schema: Some(db.schema.clone()),
        ..options
    };
    let mut summary = LoadSummary::default();
    let result = pull(spec, &options, &mut summary, &Progress::quiet()).await;
    (result, summary)
}

fn set_token() {
    // SAFETY: every test sets the same value before any thread reads it.
    unsafe { std::env::set_var("MOCK_TOKEN", TOKEN) };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_arrive_once_and_the_cursor_moves_with_them() {
    set_token();
    let db = Db::new("http_once").await;
    db.exec(&format!("CREATE TABLE {}.trips {TABLE}", db.schema))
        .await;
    let (base, api) = mock_api::start(mock_api::trips(35)).await;
    api.lock().unwrap().throttle_every = 3;
    let spec = spec(&db, &base, "/trips", "trips", "");

    let (result, summary) = run(&db, &spec, PullOptions::default()).await;
    let outcome = result.unwrap();
    assert_eq!((summary.rows_read, summary.rows_inserted), (35, 35));
    assert_eq!(outcome.counts.pages, 4);
    // Every third request was a 429, each retried after its Retry-After (1 s).
    {
        let api = api.lock().unwrap();
        let asked = &api.log;
        assert_eq!(asked[0].params["updated_since"], "2026-01-01T00:00:00Z");
        assert!(
            outcome.counts.retries >= 1
                && outcome.counts.retries as usize
                    == asked.iter().filter(|a| a.status == 429).count()
        );
        for (i, a) in asked.iter().enumerate().filter(|(_, a)| a.status == 429) {
            let again = &asked[i + 1];
            assert_eq!((again.status, &again.params), (200, &a.params));
            assert!(
                again.at - a.at >= Duration::from_millis(950),
                "retried after {:?}",
                again.at - a.at
            );
        }
    }
    let stored = db.cursor("trips").await.unwrap();
    assert_eq!(
        stored,
        Cursor {
            value: "2026-01-01T00:35:00.000Z".into(),
            tie: Some("35".into())
        }
    );
    // Every digit of a 20-digit number, and nested values as JSON.
    let row = db
        .query_one(&format!(
            "SELECT fare::text, route->>'from', (route->'toll')::text FROM {}.trips WHERE id = 12",
            db.schema
        ))
        .await;
    assert_eq!(
        row,
        ["12000012.123456", "São Paulo", "12345678901234567890.5"]
    );

    // A dry run after a change: nothing written, the cursor where it was.
    {
        let mut api = api.lock().unwrap();
        api.throttle_every = 0;
        api.trips[4].updated = 40 * 60;
        api.trips[4].plate = "NEW1A23".into();
        api.trips.extend(mock_api::trips(38).into_iter().skip(35));
        api.log.clear();
    }
    let (result, summary) = run(
        &db,
        &spec,
        PullOptions {
            dry_run: true,
            ..PullOptions::default()
        },
    )
    .await;
    result.unwrap();
    assert_eq!(summary.rows_read, 4);
    assert_eq!(db.count("trips", "plate = 'NEW1A23'").await, 0);
    assert_eq!(db.cursor("trips").await, Some(stored.clone()));

    // The next run asks from the cursor and reads only what changed.
    api.lock().unwrap().log.clear();
    let (result, summary) = run(&db, &spec, PullOptions::default()).await;
    result.unwrap();
    assert_eq!(
        api.lock().unwrap().log[0].params["updated_since"],
        "2026-01-01T00:35:00Z"
    );
    assert_eq!(
        (
            summary.rows_read,
            summary.rows_inserted,
            summary.rows_updated
        ),
        (4, 3, 1)
    );
    assert_eq!(db.count("trips", "true").await, 38);
    assert_eq!(
        db.cursor("trips").await.unwrap().value,
        "2026-01-01T00:40:00.000Z"
    );

    // Nothing new: a run of 0 records succeeds and leaves the cursor.
    let (result, summary) = run(&db, &spec, PullOptions::default()).await;
    assert_eq!((result.unwrap().counts.records, summary.rows_read), (0, 0));
    assert_eq!(
        db.cursor("trips").await.unwrap().value,
        "2026-01-01T00:40:00.000Z"
    );

    // --full reads everything again, and the cursor stays at the largest value.
    let (result, summary) = run(
        &db,
        &spec,
        PullOptions {
            full: true,
            ..PullOptions::default()
        },
    )
    .await;
    result.unwrap();
    assert_eq!((summary.rows_read, summary.rows_unchanged), (38, 38));
    assert_eq!(
        db.cursor("trips").await.unwrap().value,
        "2026-01-01T00:40:00.000Z"
    );
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_answers_fail_and_change_nothing() {
    set_token();
    let db = Db::new("http_bad").await;
    db.exec(&format!("CREATE TABLE {}.trips {TABLE}", db.schema))
        .await;
    let (base, api) = mock_api::start(mock_api::trips(25)).await;
    let failing = |path: &str, extra: &str| spec(&db, &base, path, "trips", extra);

    // A run that fails on its third page: no row, no cursor.
    api.lock().unwrap().pages_before_failure = Some(2);
    let (result, _) = run(&db, &failing("/trips", ""), PullOptions::default()).await;
    let e = result.unwrap_err();
    assert!(e.to_string().contains("answered 500 3 times"), "{e}");
    assert_eq!(e.exit_code(), 3);
    assert_eq!(
        (db.count("trips", "true").await, db.cursor("trips").await),
        (0, None)
    );
    api.lock().unwrap().pages_before_failure = None;

    let cases: [(&str, &str, &str, i32); 5] = [
        ("/loop", "", "pagination loop", 1),
        ("/bad", "", "not JSON", 1),
        ("/nothing", "", "answered 404", 2),
        (
            "/trips",
            "$.items[*]",
            "$.items is not in the page (its keys: data, meta)",
            1,
        ),
        (
            "/storm",
            "",
            "asks to wait 120s, longer than source.retry.max_wait (5s)",
            3,
        ),
    ];
    api.lock().unwrap().retry_after = "120".into();
    for (path, records, said, code) in cases {
        let mut s = failing(path, "");
        if !records.is_empty() {
            http(&mut s).records = records.into();
        }
        let started = Instant::now();
        let (result, _) = run(&db, &s, PullOptions::default()).await;
        let e = result.unwrap_err();
        assert!(e.to_string().contains(said), "{path}: {e}");
        assert_eq!(e.exit_code(), code, "{path}: {e}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{path} took {:?}",
            started.elapsed()
        );
        assert_eq!(
            (db.count("trips", "true").await, db.cursor("trips").await),
            (0, None),
            "{path}"
        );
    }

    // A wrong token: one request, a 401, not retried; the token is in no message.
    let mut s = failing("/trips", "");
    http(&mut s).auth = Some(Auth::Bearer {
        token: "wrong-7f3a".into(),
    });
    api.lock().unwrap().log.clear();
    let (result, _) = run(&db, &s, PullOptions::default()).await;
    let e = result.unwrap_err();
    assert!(e.to_string().contains("answered 401"), "{e}");
    assert!(!e.to_string().contains("wrong-7f3a") && !e.to_string().contains(TOKEN));
    assert_eq!(api.lock().unwrap().log.len(), 1);

    // An API that cannot be reached.
    let mut s = failing("/trips", "");
    http(&mut s).base_url = "http://127.0.0.1:9/v2".into();
    let e = run(&db, &s, PullOptions::default()).await.0.unwrap_err();
    assert!(e.to_string().contains("cannot be reached"), "{e}");
    assert_eq!(e.exit_code(), 3);

    // A page larger than max_page_bytes is an error, not an out-of-memory.
    let mut s = failing("/trips", "");
    http(&mut s).max_page_bytes = Some(1000);
    let e = run(&db, &s, PullOptions::default()).await.0.unwrap_err();
    assert!(
        e.to_string().contains("page 1 is larger than 1000 bytes"),
        "{e}"
    );
    assert_eq!(
        (db.count("trips", "true").await, db.cursor("trips").await),
        (0, None)
    );

    // A first run that finds no record is an error, unless allow_empty.
    api.lock().unwrap().trips.clear();
    let e = run(&db, &failing("/trips", ""), PullOptions::default())
        .await
        .0
        .unwrap_err();
    assert!(
        e.to_string().contains("matched no record in a first run"),
        "{e}"
    );
    let (result, summary) = run(
        &db,
        &failing("/trips", "  allow_empty: true"),
        PullOptions::default(),
    )
    .await;
    result.unwrap();
    assert_eq!(summary.rows_read, 0);
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_that_does_not_fit_is_a_reject_named_by_page_and_record() {
    set_token();
    let db = Db::new("http_reject").await;
    db.exec(&format!("CREATE TABLE {}.trips (id smallint primary key, plate text, fare numeric(30,6), updated_at timestamptz, route jsonb)", db.schema)).await;
    let mut trips = mock_api::trips(12);
    trips[11].id = 70_000; // the 12th record, on page 2: too large for smallint
    let (base, _api) = mock_api::start(trips).await;
    let s = spec(&db, &base, "/trips", "trips", "");
    let (result, summary) = run(&db, &s, PullOptions::default()).await;
    let e = result.unwrap_err();
    assert!(e.to_string().contains("rejected"), "{e}");
    assert_eq!(
        (db.count("trips", "true").await, db.cursor("trips").await),
        (0, None)
    );
    let reject = &summary.rejects_sample[0];
    assert_eq!(
        (
            reject.file.as_deref(),
            reject.line,
            reject.column.as_deref()
        ),
        (Some("page 2"), 12, Some("id"))
    );
    // Within --max-errors the rest loads, and the cursor covers the records read.
    let (result, summary) = run(
        &db,
        &s,
        PullOptions {
            max_errors: "1".parse().unwrap(),
            ..PullOptions::default()
        },
    )
    .await;
    result.unwrap();
    assert_eq!((summary.rows_inserted, summary.rows_rejected), (11, 1));
    assert_eq!(
        db.cursor("trips").await.unwrap().tie.as_deref(),
        Some("70000")
    );
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_budget_holds_and_oauth2_refreshes_its_token_once() {
    set_token();
    let db = Db::new("http_rate").await;
    db.exec(&format!("CREATE TABLE {}.trips {TABLE}", db.schema))
        .await;
    let (base, api) = mock_api::start(mock_api::trips(120)).await;
    let mut s = spec(
        &db,
        &base,
        "/oauth",
        "trips",
        "  rate_limit: {requests_per_second: 8}",
    );
    http(&mut s).auth = Some(Auth::Oauth2ClientCredentials {
        token_url: format!("{base}/oauth/token"),
        client_id: "app".into(),
        client_secret: "s3cret".into(),
        scope: None,
    });
    // The first token expires after the fifth request.
    let (result, summary) = {
        let api = api.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let mut a = api.lock().unwrap();
                if a.log.len() >= 5 {
                    a.oauth_token = Some("expired-for-good".into());
                    break;
                }
            }
        });
        run(&db, &s, PullOptions::default()).await
    };
    result.unwrap();
    assert_eq!(summary.rows_inserted, 120);
    let (tokens, times): (u64, Vec<Instant>) = {
        let api = api.lock().unwrap();
        (api.tokens_issued, api.log.iter().map(|a| a.at).collect())
    };
    assert_eq!(tokens, 2, "one token at the start, one after the 401");
    // No more than 8 requests to the API in any one-second window.
    let most = (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|t| **t - times[i] < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    assert!(
        most <= 8 && times.len() >= 13,
        "{most} requests in one second, {} in all",
        times.len()
    );
    db.drop().await;
}

/// The HTTP part of a spec, to change in a test.
fn http(spec: &mut SourceSpec) -> &mut HttpSource {
    match &mut spec.source {
        SourceKind::Http(h) => h,
        _ => unreachable!("an HTTP spec"),
    }
}
