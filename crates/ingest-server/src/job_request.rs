//! A job's payload as a load: the API's options are the CLI's `load` options, parsed by
//! the very same clap definitions, so both accept and refuse exactly the same things.

use clap::Parser;
use ingest_load::LoadRequest;
use ingest_pg::ConnectSource;
use serde_json::Value;

use ingest_export::ExportRequest;
use ingest_export::args::ExportArgs;
use ingest_load::args::LoadArgs;

/// Options a job may not set: the worker decides where the data goes and what it prints,
/// and no option names a file on the worker's disk (a job's rules come inline, as `rules`;
/// its quality report is served at /v1/jobs/{id}/report).
const WORKER_OWNED: [&str; 9] = [
    "database_url",
    "errors_file",
    "json",
    "quiet",
    "dry_run",
    "rules",
    "report",
    "diff_file",
    "service_schema",
];

#[derive(Debug, Parser)]
#[command(name = "job", no_binary_name = true)]
struct JobArgs {
    #[command(flatten)]
    load: LoadArgs,
}

/// The load a job asks for, against `database`, its rejects written to `errors_file`.
pub fn load_request(
    payload: &Value,
    database: &ConnectSource,
    errors_file: &std::path::Path,
) -> Result<LoadRequest, String> {
    let source = payload
        .pointer("/source/url")
        .and_then(Value::as_str)
        .ok_or("the job has no source.url")?;
    // The API stores the table it checked, quoted, as `target.resolved`.
    let table = payload
        .pointer("/target/resolved")
        .or_else(|| payload.pointer("/target/table"))
        .and_then(Value::as_str)
        .ok_or("the job has no target.table")?;
    let mut argv: Vec<String> = vec![source.into(), "--into".into(), table.into()];
    if let Some(mode) = payload.get("mode").and_then(Value::as_str) {
        argv.extend(["--mode".into(), mode.into()]);
    }
    if let Some(keys) = payload.pointer("/target/key").and_then(Value::as_array) {
        let keys: Vec<&str> = keys.iter().filter_map(Value::as_str).collect();
        if !keys.is_empty() {
            argv.extend(["--key".into(), keys.join(",")]);
        }
    }
    if let Some(format) = payload.get("format").and_then(Value::as_str) {
        argv.extend(["--format".into(), format.into()]);
    }
    argv.extend(options_argv(payload, &WORKER_OWNED)?);
    argv.extend([
        "--quiet".into(),
        "--errors-file".into(),
        errors_file.display().to_string(),
    ]);
    let args = JobArgs::try_parse_from(&argv).map_err(parse_error)?;
    let mut req = ingest_load::args::request(&args.load)?;
    req.database = database.clone();
    // A Check: the whole file validated and counted, nothing written.
    req.dry_run = is_check(payload);
    if let Some(rules) = payload.get("rules") {
        let set = ingest_quality::RuleSet::parse(&rules.to_string(), "rules")
            .map_err(|e| e.to_string())?;
        req.rules = Some(set);
        // The API let SQL through only for a token allowed to send it.
        req.rules_may_run_sql = true;
    }
    Ok(req)
}

/// Whether a job is a Check (a dry run of the whole file, as the console's Check button
/// makes), rather than a load.
pub fn is_check(payload: &Value) -> bool {
    payload.get("check").and_then(Value::as_bool) == Some(true)
}

/// Whether a job's file is uploaded to the API (rather than named by a URL).
pub fn is_upload(payload: &Value) -> bool {
    payload.pointer("/source/upload").and_then(Value::as_bool) == Some(true)
}

/// Where an upload job's file was stored, once it arrived: the only URL the server (and
/// not the caller) writes, so the only one the service ever deletes.
pub fn uploaded_url(payload: &Value) -> Option<&str> {
    is_upload(payload)
        .then(|| payload.pointer("/source/url").and_then(Value::as_str))
        .flatten()
}

/// A job's `options` as command-line flags: `true` is a bare flag, a list repeats it.
fn options_argv(payload: &Value, worker_owned: &[&str]) -> Result<Vec<String>, String> {
    let mut argv = Vec::new();
    if let Some(options) = payload.get("options").and_then(Value::as_object) {
        for (name, value) in options {
            if worker_owned.contains(&name.as_str()) {
                return Err(format!(
                    "option {name:?} is set by the worker, not by a job"
                ));
            }
            let flag = format!("--{}", name.replace('_', "-"));
            match value {
                Value::Bool(true) => argv.push(flag),
                Value::Bool(false) | Value::Null => {}
                Value::String(s) => argv.extend([flag, s.clone()]),
                Value::Number(n) => argv.extend([flag, n.to_string()]),
                Value::Array(items) => {
                    for item in items {
                        let v = match item {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        argv.extend([flag.clone(), v]);
                    }
                }
                Value::Object(_) => return Err(format!("option {name:?}: not an object")),
            }
        }
    }
    Ok(argv)
}

/// The first line of a clap error, without its `error: `.
fn parse_error(e: clap::Error) -> String {
    let text = e.to_string();
    text.lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_string()
}

#[derive(Debug, Parser)]
#[command(name = "export job", no_binary_name = true)]
struct ExportJobArgs {
    #[command(flatten)]
    export: ExportArgs,
}

/// Options an export job may not set.
const EXPORT_WORKER_OWNED: [&str; 3] = ["database_url", "json", "quiet"];

/// The export an export job asks for: `{"source": {"table": ...} | {"query": ...}, "to":
/// ..., "format": ..., "options": {...}}`, parsed by `ingest export`'s own definitions.
pub fn export_request(payload: &Value, database: &ConnectSource) -> Result<ExportRequest, String> {
    let mut argv: Vec<String> = Vec::new();
    match (
        payload.pointer("/source/table").and_then(Value::as_str),
        payload.pointer("/source/query").and_then(Value::as_str),
    ) {
        (Some(table), None) => argv.extend(["--table".into(), table.into()]),
        (None, Some(query)) => argv.extend(["--query".into(), query.into()]),
        _ => return Err("source needs table or query (one of them)".into()),
    }
    let to = payload
        .get("to")
        .and_then(Value::as_str)
        .ok_or("the job has no `to`")?;
    argv.extend(["--to".into(), to.into()]);
    if let Some(format) = payload.get("format").and_then(Value::as_str) {
        argv.extend(["--format".into(), format.into()]);
    }
    argv.extend(options_argv(payload, &EXPORT_WORKER_OWNED)?);
    argv.push("--quiet".into());
    let args = ExportJobArgs::try_parse_from(&argv).map_err(parse_error)?;
    let mut req = ingest_export::args::request(&args.export)?;
    req.database = database.clone();
    req.statement_timeout = payload
        .get("statement_timeout_ms")
        .and_then(Value::as_u64)
        .map(std::time::Duration::from_millis);
    Ok(req)
}

/// The payload of a pull source's run: its spec as registered (secrets are references,
/// resolved by the worker), and whether to ignore its cursor this once.
pub fn pull_payload(source: &ingest_queue::SourceRow, full: bool) -> Value {
    serde_json::json!({
        "source": {"pull": source.name, "type": source.spec.pointer("/source/type")},
        "target": source.spec.get("target"),
        "mode": source.spec.pointer("/target/mode").cloned().unwrap_or_else(|| "upsert".into()),
        "spec": source.spec,
        "full": full,
    })
}

/// A run of `source` as a new job.
pub fn pull_job(
    source: &ingest_queue::SourceRow,
    full: bool,
    created_by: Option<String>,
) -> ingest_queue::NewJob {
    ingest_queue::NewJob {
        kind: "pull".into(),
        payload: pull_payload(source, full),
        target_table: Some(source.target_table.clone()),
        awaiting_upload: false,
        max_attempts: 3,
        idempotency_key: None,
        request_hash: None,
        created_by,
        source_name: Some(source.name.clone()),
    }
}

/// The run a pull job asks for, against `database`, its rejects written to `errors_file`.
pub fn pull_request(
    payload: &Value,
    database: &ConnectSource,
    errors_file: &std::path::Path,
) -> Result<(ingest_sources::SourceSpec, ingest_sources::PullOptions), String> {
    let spec: ingest_sources::SourceSpec =
        serde_json::from_value(payload.get("spec").cloned().unwrap_or(Value::Null))
            .map_err(|e| format!("the job's spec: {e}"))?;
    spec.check().map_err(|e| e.to_string())?;
    let options = ingest_sources::PullOptions {
        database: database.clone(),
        full: payload
            .get("full")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        max_errors: spec.reject_limit(),
        errors_file: Some(errors_file.to_path_buf()),
        ..ingest_sources::PullOptions::default()
    };
    Ok((spec, options))
}

/// The consumer a stream job runs: its source URL (`${env:NAME}` in it read from the
/// worker's environment), its name, and how it loads.
pub fn stream_request(
    payload: &Value,
    database: &ConnectSource,
) -> Result<(String, String, ingest_streams::ConsumeOptions), String> {
    let url = payload
        .pointer("/source/url")
        .and_then(Value::as_str)
        .ok_or("the job has no source.url")?;
    let url = ingest_sources::expand_env(url, "source.url").map_err(|e| e.to_string())?;
    let group = payload
        .pointer("/source/group")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let table = payload
        .pointer("/target/resolved")
        .or_else(|| payload.pointer("/target/table"))
        .and_then(Value::as_str)
        .ok_or("the job has no target.table")?;
    let key: Vec<String> = payload
        .pointer("/target/key")
        .and_then(Value::as_array)
        .map(|k| {
            k.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mode = payload
        .get("mode")
        .and_then(Value::as_str)
        .unwrap_or("insert");
    if !["insert", "upsert", "merge", "replace"].contains(&mode) {
        return Err(format!("mode {mode:?}: insert, upsert, merge or replace"));
    }
    let o = payload.get("options").cloned().unwrap_or(Value::Null);
    let text = |k: &str, default: &str| -> String {
        match &o[k] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => default.to_string(),
        }
    };
    let duration = |k: &str, default: &str| {
        humantime::parse_duration(&text(k, default))
            .map_err(|e| format!("options.{k}: {e} (e.g. 1s, 500ms)"))
    };
    let bytes = ingest_streams::parse_byte_size(&text("batch_bytes", "8MB"))
        .map_err(|e| format!("options.batch_bytes: {e}"))?;
    let meta = match &o["meta"] {
        Value::Array(items) => items
            .iter()
            .map(|m| {
                let name = m.as_str().unwrap_or("");
                ingest_streams::message::Meta::parse(name).ok_or_else(|| {
                    format!(
                        "options.meta {name:?}: one of {}",
                        ingest_streams::message::Meta::NAMES
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        Value::Null => Vec::new(),
        _ => return Err("options.meta: a list (partition, offset, key, timestamp)".into()),
    };
    let max_errors = text("max_errors", "0");
    max_errors
        .parse::<ingest_load::RejectLimit>()
        .map_err(|e| format!("options.max_errors {e}"))?;
    let options = ingest_streams::ConsumeOptions {
        database: database.clone(),
        service_schema: None,
        table: table.to_string(),
        mode: mode.to_string(),
        key,
        max_errors,
        batch_rows: text("batch_rows", "10000")
            .parse::<usize>()
            .map_err(|_| "options.batch_rows: a number")?
            .max(1),
        batch_bytes: bytes,
        linger: duration("linger", "1s")?,
        dead_letter: o["dead_letter"].as_str().map(str::to_string),
        start_latest: match text("start", "earliest").as_str() {
            "earliest" => false,
            "latest" => true,
            other => return Err(format!("options.start {other:?}: earliest or latest")),
        },
        field: text("field", "data"),
        until_idle: None,
        meta,
        job: None,
    };
    Ok((url, group, options))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(payload: Value) -> Result<LoadRequest, String> {
        load_request(
            &payload,
            &ConnectSource::Env,
            std::path::Path::new("/tmp/e.ndjson"),
        )
    }

    #[test]
    fn options_are_the_cli_options() {
        let r = req(json!({
            "source": {"url": "s3://b/orders.csv"},
            "target": {"table": "public.orders", "key": ["id"]},
            "mode": "upsert",
            "options": {"locale": "pt-BR", "max_errors": 10, "map": ["a=b", "c=d"], "ignore_unknown": true}
        }))
        .unwrap();
        assert_eq!(r.table, "public.orders");
        assert_eq!(r.key, ["id"]);
        assert_eq!(r.maps, [("a".into(), "b".into()), ("c".into(), "d".into())]);
        assert!(r.ignore_unknown);
        assert_eq!(r.text.csv.delimiter, b';');
        assert_eq!(
            r.errors_file.as_deref(),
            Some(std::path::Path::new("/tmp/e.ndjson"))
        );
    }

    #[test]
    fn bad_options_are_refused_as_the_cli_refuses_them() {
        let base = |options: Value| {
            req(json!({"source": {"url": "x.csv"}, "target": {"table": "t"}, "options": options}))
        };
        assert!(
            base(json!({"no_such_option": 1}))
                .unwrap_err()
                .contains("--no-such-option")
        );
        assert!(
            base(json!({"max_errors": "lots"}))
                .unwrap_err()
                .contains("--max-errors")
        );
        assert!(
            base(json!({"database_url": "postgres://elsewhere"}))
                .unwrap_err()
                .contains("set by the worker")
        );
        assert!(
            req(json!({"target": {"table": "t"}}))
                .unwrap_err()
                .contains("source.url")
        );
    }
}
