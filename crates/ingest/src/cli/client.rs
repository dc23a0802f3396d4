//! The Bulk API from the command line: `submit`, `status`, `wait`, `cancel`, `errors`
//! against `INGEST_API_URL`, with `INGEST_TOKEN` as the bearer token.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use clap::Args;
use futures_util::StreamExt;
use ingest_formats::Compression;
use serde_json::{Map, Value, json};
use tokio::io::AsyncReadExt;

use crate::cli::Failure;

/// Where the API is and who calls it.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// The API's base URL
    #[arg(long, env = "INGEST_API_URL", default_value = "http://127.0.0.1:8080")]
    pub api_url: String,

    /// Bearer token (from `ingest token create`), if the API needs one
    #[arg(long, env = "INGEST_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  ingest submit s3://landing/in/orders.csv --into public.orders --key id --mode upsert --wait
  ingest submit ./orders.csv.gz --into orders -o locale=pt-BR -o max_errors=100
  ID=$(ingest submit big.parquet --into events); ingest wait $ID

A local file is uploaded (streamed) to the API; a URL is fetched by a worker. Options (-o)
are `ingest load`'s, by their long name: -o delimiter=';' -o map=cliente=customer -o
ignore_unknown=true. Prints the job id; with --wait, the finished job as JSON.
Exit codes: 0 succeeded (or queued, without --wait); 1 the job failed or was cancelled;
2 the API refused the request; 3 the API could not be reached.")]
pub struct SubmitArgs {
    /// A local file (uploaded) or a URL the workers can read (s3://, gs://, az://, https://)
    pub source: String,

    /// Target table (`table` or `schema.table`)
    #[arg(long)]
    pub into: String,

    /// insert (default), upsert, merge or replace
    #[arg(long)]
    pub mode: Option<String>,

    /// Key columns for upsert and merge, comma-separated (default: the primary key)
    #[arg(long, value_delimiter = ',')]
    pub key: Vec<String>,

    /// The file's format, when its name does not tell
    #[arg(long)]
    pub format: Option<String>,

    /// A load option, NAME=VALUE (repeat it; a repeated name gives a list)
    #[arg(short = 'o', long = "option", value_name = "NAME=VALUE")]
    pub options: Vec<String>,

    /// Quality rules for this job (YAML or JSON, as for `ingest load --rules`), sent with
    /// the request and applied after the table's registered rules
    #[arg(long, value_name = "FILE")]
    pub rules: Option<std::path::PathBuf>,

    /// Submitting twice with the same key gives the same job (safe to retry)
    #[arg(long)]
    pub idempotency_key: Option<String>,

    /// Wait for the job to end; print it as JSON
    #[arg(long)]
    pub wait: bool,

    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(Debug, Args)]
pub struct JobArgs {
    /// The job's id
    pub id: String,

    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(Debug, Args)]
pub struct ErrorsArgs {
    /// The job's id
    pub id: String,

    /// csv or ndjson
    #[arg(long, default_value = "csv")]
    pub format: String,

    #[command(flatten)]
    pub api: ApiArgs,
}

/// A client of one API.
pub(crate) struct Api {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Api {
    pub(crate) fn new(a: &ApiArgs) -> Result<Api, Failure> {
        ingest_store::install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| (3, e.to_string()))?;
        Ok(Api {
            base: a.api_url.trim_end_matches('/').to_string(),
            token: a.token.clone(),
            http,
        })
    }

    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// Sends, and turns a problem answer into a failure that says what the API said.
    pub(crate) async fn send(
        &self,
        r: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Failure> {
        let response = r
            .send()
            .await
            .map_err(|e| (3, format!("{}: {}", self.base, cause_chain(&e))))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        let detail = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|p| p["detail"].as_str().map(str::to_string))
            .unwrap_or(body);
        let code = if status.is_server_error() { 3 } else { 2 };
        Err((code, format!("{status}: {detail}")))
    }

    pub(crate) async fn json(&self, r: reqwest::RequestBuilder) -> Result<Value, Failure> {
        let response = self.send(r).await?;
        let body = response.bytes().await.map_err(|e| (3, e.to_string()))?;
        serde_json::from_slice(&body).map_err(|e| (3, format!("the API's answer is not JSON: {e}")))
    }

    async fn job(&self, id: &str) -> Result<Value, Failure> {
        self.json(self.request(reqwest::Method::GET, &format!("/v1/jobs/{id}")))
            .await
    }

    /// Waits for the job to end (long polls: the API answers as soon as it ends), telling
    /// its progress on stderr every few seconds.
    async fn wait(&self, id: &str) -> Result<Value, Failure> {
        let path = format!("/v1/jobs/{id}?wait=2");
        let mut last = String::new();
        loop {
            let job = self.json(self.request(reqwest::Method::GET, &path)).await?;
            let state = job["state"].as_str().unwrap_or("").to_string();
            if matches!(state.as_str(), "succeeded" | "failed" | "cancelled") {
                return Ok(job);
            }
            let rows = job["progress"]["rows_read"].as_u64().unwrap_or(0);
            let line = format!("job {id}: {state}, {rows} rows read");
            if line != last {
                eprintln!("ingest: {line}");
                last = line;
            }
        }
    }
}

fn cause_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// `-o name=value` options as the API's `options` object: `true`/`false` are flags, a
/// repeated name is a list.
fn options(pairs: &[String]) -> Result<Map<String, Value>, Failure> {
    let mut out = Map::new();
    for pair in pairs {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| (2, format!("-o {pair}: expected NAME=VALUE")))?;
        let name = name.trim().trim_start_matches("--").replace('-', "_");
        let value = match value {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            v => Value::String(v.to_string()),
        };
        match out.get_mut(&name) {
            Some(Value::Array(items)) => items.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
            None => {
                out.insert(name, value);
            }
        }
    }
    Ok(out)
}

/// A job that ended: printed as JSON; its state is the exit code.
fn finished(job: &Value) -> Result<(), Failure> {
    println!("{}", serde_json::to_string_pretty(job).unwrap_or_default());
    match job["state"].as_str() {
        Some("succeeded") => Ok(()),
        Some(state) => Err((
            1,
            format!(
                "job {} {state}: {}",
                job["id"].as_str().unwrap_or(""),
                job["error"].as_str().unwrap_or("cancelled")
            ),
        )),
        None => Err((3, "the API's answer has no state".into())),
    }
}

pub async fn submit(a: SubmitArgs) -> i32 {
    crate::cli::exit_code(submit_job(a).await)
}

async fn submit_job(a: SubmitArgs) -> Result<(), Failure> {
    let api = Api::new(&a.api)?;
    let local = !ingest_store::is_url(&a.source) && a.source != "-";
    let file = Path::new(a.source.strip_prefix("file://").unwrap_or(&a.source));
    if local && !file.is_file() {
        return Err((2, format!("{}: no such file", file.display())));
    }
    let mut request = json!({
        "source": if local { json!({"upload": true}) } else { json!({"url": a.source}) },
        "target": {"table": a.into},
        "options": options(&a.options)?,
    });
    if !a.key.is_empty() {
        request["target"]["key"] = json!(a.key);
    }
    if let Some(mode) = &a.mode {
        request["mode"] = json!(mode);
    }
    if let Some(path) = &a.rules {
        let set = ingest_load::args::read_rules(path).map_err(|e| (2, e))?;
        request["rules"] = serde_json::to_value(&set).expect("a rule set is JSON");
    }
    // An upload is stored under the job's name: what the file's name told (its format
    // and compression) must travel in the request. Gzip travels as Content-Encoding.
    let (name_format, compression) = if local {
        upload_kind(file)?
    } else {
        (None, Compression::None)
    };
    if let Some(format) = a.format.clone().or(name_format) {
        request["format"] = json!(format);
    }
    if !matches!(compression, Compression::None | Compression::Gzip)
        && request["options"].get("compression").is_none()
    {
        request["options"]["compression"] = json!(compression.name());
    }
    let mut post = api
        .request(reqwest::Method::POST, "/v1/jobs")
        .header("content-type", "application/json")
        .body(request.to_string());
    if let Some(key) = &a.idempotency_key {
        post = post.header("idempotency-key", key);
    }
    let job = api.json(post).await?;
    let id = job["id"]
        .as_str()
        .ok_or((3, "the API's answer has no job id".to_string()))?
        .to_string();
    if local && job["state"] == "pending_upload" {
        upload(&api, &id, file, compression == Compression::Gzip).await?;
    }
    if a.wait {
        return finished(&api.wait(&id).await?);
    }
    eprintln!(
        "ingest: job {id} {}; follow it with: ingest wait {id}",
        if local {
            "uploaded and queued"
        } else {
            "queued"
        }
    );
    println!("{id}");
    Ok(())
}

/// What a file's name says of it: its format (None when the name has no extension) and
/// its compression.
fn upload_kind(file: &Path) -> Result<(Option<String>, Compression), Failure> {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let (format, compression) = ingest_formats::format::from_name(name).map_err(|e| (2, e))?;
    Ok((format.map(|f| f.name().to_ascii_lowercase()), compression))
}

/// Streams the file to the job's upload URL (a gzip'd file says so in Content-Encoding).
async fn upload(api: &Api, id: &str, file: &Path, gzip: bool) -> Result<(), Failure> {
    let f = tokio::fs::File::open(file)
        .await
        .map_err(|e| (2, format!("{}: {e}", file.display())))?;
    let size = f.metadata().await.map(|m| m.len()).unwrap_or(0);
    let chunks = futures_util::stream::unfold(f, |mut f| async move {
        let mut buf = vec![0u8; 1 << 20];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(bytes::Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    });
    let mut put = api
        .request(reqwest::Method::PUT, &format!("/v1/jobs/{id}/data"))
        .header("content-type", "application/octet-stream")
        .header("content-length", size)
        .body(reqwest::Body::wrap_stream(chunks));
    if gzip {
        put = put.header("content-encoding", "gzip");
    }
    api.send(put).await.map(|_| ())
}

pub async fn status(a: JobArgs) -> i32 {
    crate::cli::exit_code(
        async {
            let job = Api::new(&a.api)?.job(&a.id).await?;
            println!("{}", serde_json::to_string_pretty(&job).unwrap_or_default());
            Ok(())
        }
        .await,
    )
}

pub async fn wait(a: JobArgs) -> i32 {
    crate::cli::exit_code(
        async {
            let api = Api::new(&a.api)?;
            finished(&api.wait(&a.id).await?)
        }
        .await,
    )
}

pub async fn cancel(a: JobArgs) -> i32 {
    crate::cli::exit_code(
        async {
            let api = Api::new(&a.api)?;
            let path = format!("/v1/jobs/{}/cancel", a.id);
            let job = api.json(api.request(reqwest::Method::POST, &path)).await?;
            eprintln!(
                "ingest: job {} {}",
                a.id,
                if job["state"] == "cancelled" {
                    "cancelled"
                } else {
                    "asked to stop; a running load rolls back"
                }
            );
            Ok(())
        }
        .await,
    )
}

pub async fn errors(a: ErrorsArgs) -> i32 {
    crate::cli::exit_code(
        async {
            let api = Api::new(&a.api)?;
            let path = format!("/v1/jobs/{}/errors?format={}", a.id, a.format);
            let response = api.send(api.request(reqwest::Method::GET, &path)).await?;
            let mut body = response.bytes_stream();
            let mut out = std::io::stdout().lock();
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| (3, e.to_string()))?;
                out.write_all(&chunk).map_err(|e| (3, e.to_string()))?;
            }
            out.flush().map_err(|e| (3, e.to_string()))
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_become_the_apis_object() {
        let o = options(&[
            "locale=pt-BR".into(),
            "max-errors=10".into(),
            "map=a=b".into(),
            "map=c=d".into(),
            "ignore_unknown=true".into(),
        ])
        .unwrap();
        assert_eq!(
            Value::Object(o),
            json!({"locale": "pt-BR", "max_errors": "10", "map": ["a=b", "c=d"], "ignore_unknown": true})
        );
        assert!(options(&["novalue".into()]).is_err());
    }

    #[test]
    fn an_uploads_name_tells_its_format_and_compression() {
        let kind = |n: &str| upload_kind(Path::new(n)).unwrap();
        let some = |f: &str| Some(f.to_string());
        assert_eq!(kind("/x/orders.csv.gz"), (some("csv"), Compression::Gzip));
        assert_eq!(kind("e.parquet"), (some("parquet"), Compression::None));
        assert_eq!(kind("e.ndjson.zst"), (some("json"), Compression::Zstd));
        assert_eq!(kind("noext"), (None, Compression::None));
        assert!(upload_kind(Path::new("x.doc")).is_err());
    }
}
