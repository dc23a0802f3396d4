//! `ingest pull SPEC`: one run of a pull source, here, against DATABASE_URL.

use std::path::PathBuf;

use clap::Args;
use ingest_load::LoadSummary;
use ingest_pg::ConnectSource;
use ingest_sources::{PullOptions, SourceSpec, pull};

use super::load_cmd::{describe, interruptible};

const EXAMPLES: &str = "Examples:
  ingest pull carrier.yaml                  # fetch what changed since the last run, load it, store the cursor
  ingest pull carrier.yaml --dry-run        # fetch and validate; write nothing, leave the cursor
  ingest pull erp_customers.yaml --full     # ignore the cursor once (a backfill), then go on incrementally

A spec names the source (type: http, mysql or postgres), the incremental cursor, the
target and an optional schedule (used by `ingest sources apply`). Secrets are written as
${env:NAME} and read from this process's environment. See README.md, \"Pull sources\".";

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct PullArgs {
    /// The source's spec, YAML or JSON
    pub spec: PathBuf,
    /// Fetch and validate everything; write nothing and leave the cursor where it is
    #[arg(long)]
    pub dry_run: bool,
    /// Read from the start (or `initial`), ignoring the stored cursor this once
    #[arg(long)]
    pub full: bool,
    /// Rejected records tolerated: a count (`10`) or a share of those read (`1%`);
    /// default: the spec's target.max_errors, else 0
    #[arg(long)]
    pub max_errors: Option<String>,
    /// Write every rejected record here (CSV, or NDJSON for .ndjson/.jsonl)
    #[arg(long)]
    pub errors_file: Option<PathBuf>,
    /// Write the quality report as one HTML page
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// The PostgreSQL to load into and keep the cursor in (default: PG* variables)
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Print the run's summary (the load's, and what was fetched) as JSON on stdout
    #[arg(long)]
    pub json: bool,
    /// No progress output
    #[arg(short, long)]
    pub quiet: bool,
}

pub async fn run(args: PullArgs) -> i32 {
    let spec = match read_spec(&args.spec) {
        Ok(spec) => spec,
        Err(msg) => {
            eprintln!("ingest: {msg}");
            return 2;
        }
    };
    let max_errors = match args.max_errors.as_deref().map(str::parse).transpose() {
        Ok(m) => m.unwrap_or_else(|| spec.reject_limit()),
        Err(e) => {
            eprintln!("ingest: --max-errors {e}");
            return 2;
        }
    };
    let options = PullOptions {
        database: match &args.database_url {
            Some(url) => ConnectSource::Url(url.clone()),
            None => ConnectSource::Env,
        },
        dry_run: args.dry_run,
        full: args.full,
        max_errors,
        errors_file: args.errors_file.clone(),
        report: args.report.clone(),
        ..PullOptions::default()
    };
    let progress = crate::progress::progress(args.quiet);
    let mut summary = LoadSummary::default();
    let Some(result) =
        interruptible(pull(&spec, &options, &mut summary, &progress), &progress).await
    else {
        return 130;
    };
    if args.json {
        let mut out = serde_json::to_value(&summary).expect("summary serialises");
        if let Ok(outcome) = &result {
            out["pull"] = serde_json::to_value(outcome).expect("outcome serialises");
        }
        println!("{out}");
    }
    match result {
        Ok(outcome) => {
            if !args.json && !args.quiet {
                let c = &outcome.counts;
                eprintln!(
                    "ingest: {}: {} records in {} pages or batches ({} requests, {} retries); {}",
                    spec.name,
                    summary.rows_read,
                    c.pages.max(1),
                    c.requests,
                    c.retries,
                    describe(&summary)
                );
                if let Some(cursor) = &outcome.cursor_to {
                    let verb = if args.dry_run { "stays at" } else { "now at" };
                    eprintln!("ingest: cursor {verb} {}", cursor.value);
                }
            }
            0
        }
        Err(e) => {
            eprintln!("ingest: {e}");
            if let Some(path) = &summary.errors_file
                && summary.rows_rejected > 0
            {
                eprintln!("ingest: every rejected record is listed in {path}");
            }
            e.exit_code()
        }
    }
}

/// A spec file, read and checked (errors name the file, the key and its line).
pub fn read_spec(path: &std::path::Path) -> Result<SourceSpec, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    SourceSpec::parse(&text, &path.display().to_string()).map_err(|e| e.to_string())
}
