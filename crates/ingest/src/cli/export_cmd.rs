//! `ingest export`: a table or a query to Parquet, CSV or NDJSON, on disk or in a store.

use clap::Args;
use ingest::export::columns::NumericAs;
use ingest::export::{self, ExportFormat, ExportRequest, ExportSource};
use ingest_pg::ConnectSource;

use crate::cli::Failure;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  ingest export --table public.orders --to orders.parquet
  ingest export --table public.orders --to s3://lake/orders/orders.parquet
  ingest export --query \"select * from orders where status = 'pago'\" --to pagos.csv.gz
  ingest export --table events --to events.ndjson.zst

The rows are read in one snapshot (REPEATABLE READ, read-only): a query that writes is
refused. Parquet is zstd-compressed, in row groups of about --row-group-mb, with
statistics; numeric(p,s) is decimal128(p,s), timestamptz a UTC timestamp, uuid a UUID,
json/jsonb JSON strings, enums dictionaries. CSV has a header; .gz and .zst compress.
Nothing appears under the destination's name until the file is whole.")]
pub struct ExportArgs {
    /// The table to export (`table` or `schema.table`)
    #[arg(long, conflicts_with = "query", required_unless_present = "query")]
    pub table: Option<String>,

    /// A read-only query whose rows to export
    #[arg(long)]
    pub query: Option<String>,

    /// Destination: a path, file://, s3://, gs:// or az:// URL
    #[arg(long)]
    pub to: String,

    /// parquet, csv or ndjson (default: from the destination's name)
    #[arg(long, value_enum)]
    pub format: Option<ExportFormat>,

    /// Unconstrained numeric columns: refused (error), or exported as their exact text
    #[arg(long, value_enum, default_value = "error")]
    pub numeric_as: NumericAs,

    /// CSV field delimiter
    #[arg(long, default_value = ",")]
    pub delimiter: char,

    /// Parquet row group size, in MiB of encoded data
    #[arg(long, default_value_t = 128)]
    pub row_group_mb: usize,

    /// PostgreSQL URL; the libpq variables PGHOST, PGPORT, PGUSER, ... otherwise
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Print the summary as JSON on stdout
    #[arg(long)]
    pub json: bool,

    /// No progress and no closing line
    #[arg(short, long)]
    pub quiet: bool,
}

pub async fn run(a: ExportArgs) -> i32 {
    crate::cli::exit_code(export(a).await)
}

async fn export(a: ExportArgs) -> Result<(), Failure> {
    let format = match a.format.or_else(|| ExportFormat::from_name(&a.to)) {
        Some(f) => f,
        None => {
            return Err((
                2,
                format!(
                    "{}: cannot tell the format from the name; pass --format parquet, csv or ndjson",
                    a.to
                ),
            ));
        }
    };
    if !a.delimiter.is_ascii() {
        return Err((2, "--delimiter must be one ASCII character".into()));
    }
    let source = match (a.table, a.query) {
        (Some(t), _) => ExportSource::Table(t),
        (None, Some(q)) => ExportSource::Query(q),
        (None, None) => return Err((2, "--table or --query is required".into())),
    };
    let req = ExportRequest {
        source,
        to: a.to,
        format,
        database: match a.database_url {
            Some(url) => ConnectSource::Url(url),
            None => ConnectSource::Env,
        },
        numeric_as: a.numeric_as,
        delimiter: a.delimiter as u8,
        row_group_bytes: a.row_group_mb.max(1) << 20,
    };
    let progress = ingest::progress::Progress::new(a.quiet || a.json);
    progress.start(0);
    let result = export::run(&req, &|rows| progress.update(0, rows)).await;
    progress.finish();
    let summary = result.map_err(|e| (e.exit_code(), e.to_string()))?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string(&summary).expect("summary serialises")
        );
    } else if !a.quiet {
        eprintln!(
            "ingest: exported {} rows of {} to {} ({}, {} bytes) in {:.2} s",
            summary.rows,
            summary.source,
            summary.to,
            summary.format,
            summary.bytes_written,
            summary.seconds
        );
    }
    Ok(())
}
