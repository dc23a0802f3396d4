//! The export's options as clap definitions, and the [`ExportRequest`] they ask for: the
//! command line and the job API parse with these same definitions.

use clap::Args;
use ingest_pg::ConnectSource;

use crate::columns::NumericAs;
use crate::request::{ExportFormat, ExportRequest, ExportSource, PartitionBy};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  ingest export --table public.orders --to orders.parquet
  ingest export --table public.orders --to s3://lake/orders/orders.parquet
  ingest export --query \"select * from orders where status = 'pago'\" --to pagos.csv.gz
  ingest export --table orders --to pedidos.csv --locale pt-BR --encoding windows-1252
  ingest export --table events --to events.ndjson.zst
  ingest export --table public.orders --to s3://lake/orders/ --partition-by ordered_at:month

The rows are read in one snapshot (REPEATABLE READ, read-only): a query that writes is
refused. Parquet is zstd-compressed, in row groups of about --row-group-mb, with
statistics; numeric(p,s) is decimal128(p,s) (unconstrained numeric: as wide as its values), timestamptz a UTC timestamp, uuid a UUID,
json/jsonb JSON strings, enums dictionaries. CSV has a header; .gz and .zst compress.
Nothing appears under the destination's name until the file is whole. A directory export
(--partition-by, --max-file-size, or --to ending in /) writes col=value/part-0000.parquet
files and a _manifest.json (files, rows, snapshot time) last.")]
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

    /// Unconstrained numeric columns: the narrowest decimal128 their values fit (found by
    /// a pass over them), or their exact text
    #[arg(long, value_enum, default_value = "decimal")]
    pub numeric_as: NumericAs,

    /// CSV field delimiter (default `,`; `;` with --locale pt-BR)
    #[arg(long)]
    pub delimiter: Option<char>,

    /// CSV as a locale's spreadsheets expect it: pt-BR writes `;`, decimal commas and
    /// dd/mm/yyyy dates
    #[arg(long, value_name = "LOCALE")]
    pub locale: Option<String>,

    /// CSV text encoding: utf-8 (default), windows-1252 or latin1; a character the
    /// encoding cannot hold is an error
    #[arg(long)]
    pub encoding: Option<String>,

    /// Parquet into Hive-style directories by a column (`status`) or a date or timestamp
    /// column's day, month or year (`ordered_at:month`); --to is then a directory or prefix
    #[arg(long, value_name = "COLUMN[:day|month|year]")]
    pub partition_by: Option<String>,

    /// Parquet: start a new part file once one reaches this size (`512MB`, `1GB`); --to is
    /// then a directory or prefix
    #[arg(long, value_name = "SIZE")]
    pub max_file_size: Option<String>,

    /// Parquet from a table: connections reading its blocks at once, sharing one snapshot
    /// (default: one per core, at most 4, for a table over 128 MiB; else 1)
    #[arg(long)]
    pub readers: Option<usize>,

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

/// The export the arguments ask for.
/// Every error is a usage error (exit code 2).
pub fn request(a: &ExportArgs) -> Result<ExportRequest, String> {
    // A directory export (a trailing `/`, partitions, parts) is Parquet unless told.
    let directory = a.to.ends_with('/') || a.partition_by.is_some() || a.max_file_size.is_some();
    let format = match a
        .format
        .or_else(|| ExportFormat::from_name(&a.to))
        .or(directory.then_some(ExportFormat::Parquet))
    {
        Some(f) => f,
        None => {
            return Err(format!(
                "{}: cannot tell the format from the name; pass --format parquet, csv or ndjson",
                a.to
            ));
        }
    };
    let brazilian = match a.locale.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("c" | "en" | "en-us") => false,
        Some("pt-br" | "pt_br") => true,
        Some(other) => {
            return Err(format!("--locale {other}: pt-BR or en-US"));
        }
    };
    let delimiter = a.delimiter.unwrap_or(if brazilian { ';' } else { ',' });
    if !delimiter.is_ascii() {
        return Err("--delimiter must be one ASCII character".into());
    }
    let encoding = match a
        .encoding
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("utf-8" | "utf8") => None,
        Some("windows-1252" | "cp1252" | "win1252") => Some("WIN1252".to_string()),
        Some("latin1" | "iso-8859-1") => Some("LATIN1".to_string()),
        Some(other) => {
            return Err(format!("--encoding {other}: utf-8, windows-1252 or latin1"));
        }
    };
    if (brazilian || encoding.is_some()) && format != ExportFormat::Csv {
        return Err("--locale and --encoding apply to CSV".into());
    }
    let source = match (a.table.clone(), a.query.clone()) {
        (Some(t), _) => ExportSource::Table(t),
        (None, Some(q)) => ExportSource::Query(q),
        (None, None) => return Err("--table or --query is required".into()),
    };
    let req = ExportRequest {
        source,
        to: a.to.clone(),
        format,
        database: match a.database_url.clone() {
            Some(url) => ConnectSource::Url(url),
            None => ConnectSource::Env,
        },
        numeric_as: a.numeric_as,
        delimiter: delimiter as u8,
        row_group_bytes: a.row_group_mb.max(1) << 20,
        partition_by: a
            .partition_by
            .as_deref()
            .map(PartitionBy::parse)
            .transpose()?,
        max_file_bytes: a.max_file_size.as_deref().map(parse_size).transpose()?,
        statement_timeout: None,
        committing: Default::default(),
        readers: a.readers,
        brazilian,
        encoding,
    };
    Ok(req)
}

/// `512MB`, `1GB`, `64k`, `1048576`: bytes (K, M, G are powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&t[..i], t[i..].trim()),
        None => (t, ""),
    };
    let shift = match unit {
        "" => 0,
        "k" | "ki" => 10,
        "m" | "mi" => 20,
        "g" | "gi" => 30,
        _ => return Err(format!("--max-file-size {text}: a size like 512MB or 1GB")),
    };
    match digits.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n << shift),
        _ => Err(format!("--max-file-size {text}: a size like 512MB or 1GB")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::parse_size("512MB"), Ok(512 << 20));
        assert_eq!(super::parse_size("1g"), Ok(1 << 30));
        assert_eq!(super::parse_size("4096"), Ok(4096));
        assert!(super::parse_size("lots").is_err());
        assert!(super::parse_size("0").is_err());
    }
}
