//! The load's options as clap definitions, and the [`LoadRequest`] they ask for. The
//! command line and the job API parse with these same definitions, so both accept and
//! refuse exactly the same things.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use encoding_rs::Encoding;
use ingest_core::TextFormat;
use ingest_formats::csv::CsvOptions;
use ingest_formats::xlsx::XlsxLimits;
use ingest_formats::{Compression, DecompressLimits, Format};
use ingest_pg::{ConnectSource, DuplicatePolicy, LoadMode};

use ingest_quality::RuleSet;
use ingest_queue::Schema;

use crate::{LoadRequest, RejectLimit, TableShape, TextOptions};

const EXAMPLES: &str = "Examples:
  ingest load orders.csv --into public.orders                     # append
  ingest load updates.csv --into orders --key id --mode upsert    # insert or update by key
  ingest load export.csv --into orders --locale pt-BR             # ';', 1.234,56, dd/mm/yyyy, Windows-1252
  ingest load big.csv --into orders --max-errors 100 --errors-file rejects.csv --json
  ingest load big.csv --into orders --dry-run                     # validate everything, write nothing
  ingest load frota.csv --into veiculos --rules veiculos.yaml --report q.html   # quality rules
  ingest load frota.csv --into veiculos --key placa --mode upsert --dry-run --diff-file d.ndjson
  ingest load day.csv --into sales --mode merge --delete-missing --scope store=12
  ingest load events.ndjson.gz --into events                      # NDJSON, gzip-compressed
  ingest load vendas.xlsx --into vendas --sheet Plan1 --locale pt-BR
  ingest load s3://landing/orders.parquet --into orders --key id --mode upsert
  ingest load https://partner.example/export.csv.gz --into partner_rows
  zcat day.csv.gz | ingest load - --into sales                    # from standard input

The target changes only when the whole file went through: a reject over --max-errors,
an error, Ctrl-C or a kill leaves it exactly as it was. Rules registered with the table
(`ingest rules apply`) apply to every load, before any given with --rules.

Exit codes: 0 ok, 1 load failed on the data (rejects over the limit, a bad file, a value
the server refuses), 2 usage or configuration error, 3 worth a retry (connection, server).";

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Mode {
    /// Append the rows
    Insert,
    /// Insert new keys, update changed rows; identical rows are not rewritten
    Upsert,
    /// Upsert, and with --delete-missing delete rows absent from the file (within --scope)
    Merge,
    /// Swap the table's contents for the file's, atomically
    Replace,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OnDuplicate {
    /// The first row of a key in the file wins
    First,
    /// The last row of a key in the file wins
    Last,
    /// Every row of a duplicated key is rejected
    Reject,
}

#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct LoadArgs {
    /// The file to load: a path, `-` for standard input, or a URL: s3://bucket/key,
    /// gs://bucket/key, az://container/path, http(s)://host/path, file:///path. Its format
    /// comes from the extension (.csv .tsv .txt .json .ndjson .jsonl .parquet .avro
    /// .xlsx), checked against its first bytes; .gz/.zst/.bz2 decompresses it on the fly.
    /// Store credentials come from the environment (AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL,
    /// GOOGLE_APPLICATION_CREDENTIALS, AZURE_STORAGE_ACCOUNT_NAME, ...)
    pub file: PathBuf,

    /// Target table: `orders`, `public.orders`, or a quoted name like `"Odd Name"`
    #[arg(long = "into", value_name = "TABLE")]
    pub into: String,

    /// PostgreSQL URL; the libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE
    /// are used when neither this nor DATABASE_URL is set
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    #[arg(long, value_enum, default_value = "insert")]
    pub mode: Mode,

    /// Key columns for upsert and merge, comma-separated (default: the primary key)
    #[arg(long, value_delimiter = ',')]
    pub key: Vec<String>,

    /// Which row wins when a key appears twice in the file
    #[arg(long, value_enum, default_value = "last")]
    pub on_duplicate: OnDuplicate,

    /// With --mode merge: delete target rows whose key is not in the file
    #[arg(long)]
    pub delete_missing: bool,

    /// Limit --delete-missing to rows where COLUMN=VALUE (repeatable)
    #[arg(long, value_name = "COLUMN=VALUE")]
    pub scope: Vec<String>,

    /// Map a file column to a table column (repeatable)
    #[arg(long, value_name = "SOURCE=COLUMN")]
    pub map: Vec<String>,

    /// Skip file columns the table does not have (default: refuse the file)
    #[arg(long)]
    pub ignore_unknown: bool,

    /// Create the table when it does not exist, with the file's columns and the types
    /// their values fit (`ingest infer` shows them first); with --key, its primary key
    #[arg(long)]
    pub create: bool,

    /// Add the file's columns the table lacks (nullable); existing columns never change
    #[arg(long)]
    pub evolve: bool,

    /// Records of a CSV or JSON file sampled to infer types for --create and --evolve, or
    /// `all` for a first pass over the whole file (a later row that does not fit is a
    /// reject like any other)
    #[arg(long, value_name = "N|all", default_value = "10000")]
    pub infer_rows: String,

    /// Rejected rows tolerated: a count or a percentage of the rows read (e.g. 100, 0.5%)
    #[arg(long, default_value = "0", value_name = "N|N%")]
    pub max_errors: String,

    /// Write every rejected value (line or row, column, value, reason) to this file: CSV, or
    /// NDJSON when it ends in .ndjson/.jsonl/.json
    #[arg(long, value_name = "PATH")]
    pub errors_file: Option<PathBuf>,

    /// Quality rules for this load (YAML or JSON: cleaning, checks, after_load SQL),
    /// applied after the table's own (`ingest rules apply`); `ingest rules schema` prints
    /// their JSON Schema
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,

    /// Write the quality report (each rule's failures, each column's profile, charts) as
    /// one self-contained HTML page
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,

    /// With upsert or merge: write each key that changes, with its columns' old and new
    /// values, as NDJSON (with --dry-run: what a real run would change)
    #[arg(long, value_name = "FILE")]
    pub diff_file: Option<PathBuf>,

    /// Validate the whole file against the table and its rules, write nothing; with
    /// upsert or merge, count what would be inserted, updated, unchanged and deleted
    #[arg(long)]
    pub dry_run: bool,

    /// Accept an empty file or a header with no rows (default: an error)
    #[arg(long)]
    pub allow_empty: bool,

    #[command(flatten)]
    pub source: SourceArgs,

    /// Print one JSON summary on stdout
    #[arg(long)]
    pub json: bool,

    /// The service's schema, where tables' registered rules are kept
    #[arg(long, env = "INGEST_SCHEMA", default_value = "ingest", hide = true)]
    pub service_schema: String,

    /// No progress or reject lines on stderr
    #[arg(long, short)]
    pub quiet: bool,
}

const INFER_EXAMPLES: &str = "Examples:
  ingest infer orders.csv                          # CREATE TABLE \"orders\" (...) on stdout
  ingest infer vendas.csv --locale pt-BR --key id  # with a primary key
  ingest infer s3://landing/day.parquet --into staging.day
  ingest infer big.csv --infer-rows all            # judge every row, not the first 10,000

Parquet and Avro columns take the types the file declares; CSV, JSON and xlsx columns
the narrowest type every sampled value fits (smallint, integer, bigint, numeric(p,s),
double precision, boolean, date, timestamp, timestamptz, time, uuid, jsonb, text), read
with the same options and coercion as `ingest load`. `ingest load --create` makes this
table in the load's own transaction.";

/// `ingest infer`: the table a file would make.
#[derive(Debug, Args)]
#[command(after_help = INFER_EXAMPLES)]
pub struct InferArgs {
    /// The file: a path, `-` for standard input, or a URL (as for `ingest load`)
    pub file: PathBuf,

    /// The table's name (default: the file's name without its extensions)
    #[arg(long = "into", value_name = "TABLE")]
    pub into: Option<String>,

    /// Primary key columns, comma-separated
    #[arg(long, value_delimiter = ',')]
    pub key: Vec<String>,

    /// Map a file column to a table column name (repeatable)
    #[arg(long, value_name = "SOURCE=COLUMN")]
    pub map: Vec<String>,

    /// Records of a CSV or JSON file judged, or `all` for the whole file
    #[arg(long, value_name = "N|all", default_value = "10000")]
    pub infer_rows: String,

    #[command(flatten)]
    pub source: SourceArgs,
}

impl InferArgs {
    /// The load of this file, as far as inferring its table needs one.
    pub fn request(&self) -> Result<LoadRequest, String> {
        let table = match &self.into {
            Some(t) => t.clone(),
            None => table_name_of(&self.file.to_string_lossy()),
        };
        let args = LoadArgs {
            file: self.file.clone(),
            into: table,
            database_url: None,
            mode: Mode::Insert,
            key: self.key.clone(),
            on_duplicate: OnDuplicate::Last,
            delete_missing: false,
            scope: Vec::new(),
            map: self.map.clone(),
            ignore_unknown: false,
            create: true,
            evolve: false,
            infer_rows: self.infer_rows.clone(),
            max_errors: "0".into(),
            errors_file: None,
            rules: None,
            report: None,
            diff_file: None,
            dry_run: true,
            allow_empty: false,
            source: self.source.clone(),
            json: false,
            service_schema: "ingest".into(),
            quiet: true,
        };
        request(&args)
    }
}

/// `orders` for `s3://b/in/orders.csv.gz`: the last path segment before its first dot.
fn table_name_of(file: &str) -> String {
    let path = file.split('?').next().unwrap_or(file);
    let last = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let stem = last.split('.').next().unwrap_or(last);
    if stem.is_empty() || stem == "-" {
        "input".to_string()
    } else {
        stem.to_string()
    }
}

/// How to read the file: its format and codec, the text's spelling, and the limits that
/// guard memory. Shared by `load` and `infer`.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// The file's format, whatever its name says: csv, tsv, json (NDJSON or an array of
    /// objects), parquet, avro, xlsx
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,

    /// The file's compression, whatever its name says: none, gzip, zstd, bzip2, xz
    #[arg(long, value_name = "CODEC")]
    pub compression: Option<String>,

    /// Stop decompressing past this many bytes (a guard against decompression bombs)
    #[arg(long, default_value_t = DecompressLimits::default().max_bytes, value_name = "BYTES")]
    pub max_decompressed_bytes: u64,

    /// Stop decompressing when the output passes this many times the input (checked after
    /// the first 16 MiB; real data compresses 5-50x, a bomb 1000x)
    #[arg(long, default_value_t = DecompressLimits::default().max_ratio, value_name = "N")]
    pub max_compression_ratio: u64,

    /// The xlsx sheet to load (default: the first)
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,

    /// Largest xlsx file accepted: a workbook is read whole into memory
    #[arg(long, default_value_t = XlsxLimits::default().max_file_bytes, value_name = "BYTES")]
    pub max_xlsx_bytes: u64,

    /// Largest total an xlsx may inflate to (its zip members), a guard against zip bombs
    #[arg(long, default_value_t = XlsxLimits::default().max_unpacked_bytes, value_name = "BYTES")]
    pub max_xlsx_unpacked_bytes: u64,

    /// Seconds a remote read may wait for the next byte before the load fails
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub read_timeout: u64,

    /// A locale profile: pt-BR sets ';', decimal comma with '.' thousands, dd/mm/yyyy dates
    /// and Windows-1252; each can still be overridden by its own option
    #[arg(long, value_name = "LOCALE")]
    pub locale: Option<String>,

    /// Field delimiter: one character, or `tab` (default ',', ';' with --locale pt-BR)
    #[arg(long)]
    pub delimiter: Option<String>,

    /// Quote character
    #[arg(long, default_value = "\"")]
    pub quote: String,

    /// Escape character inside quotes (default: quotes are escaped by doubling them)
    #[arg(long)]
    pub escape: Option<String>,

    /// The first line names the columns (the default)
    #[arg(long, overrides_with = "no_header")]
    pub header: bool,

    /// There is no header: fields are the table's columns in order
    #[arg(long, overrides_with = "header")]
    pub no_header: bool,

    /// Text encoding, e.g. utf-8 (default), windows-1252, latin1, utf-16le
    #[arg(long)]
    pub encoding: Option<String>,

    /// A field equal to this is NULL (default: the empty field)
    #[arg(long, value_name = "TEXT")]
    pub null: Option<String>,

    /// Numbers use ',' as the decimal separator (1.234,56)
    #[arg(long)]
    pub decimal_comma: bool,

    /// Thousands separator accepted in numbers (e.g. '.' or ',')
    #[arg(long, value_name = "CHAR")]
    pub thousands: Option<char>,

    /// Date format in chrono/strftime syntax, tried before ISO 8601 (e.g. %d/%m/%Y)
    #[arg(long, value_name = "FORMAT")]
    pub date_format: Vec<String>,

    /// Timestamp format, tried before ISO 8601 (e.g. "%d/%m/%Y %H:%M:%S")
    #[arg(long, value_name = "FORMAT")]
    pub timestamp_format: Vec<String>,

    /// Time zone of timestamps without an offset loaded into timestamptz columns
    /// (default: the database session's TimeZone, as psql \copy does)
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,

    /// Largest record accepted, in bytes (protects memory from a runaway quote)
    #[arg(long, default_value_t = CsvOptions::default().max_record_bytes, value_name = "BYTES")]
    pub max_line_bytes: usize,
}

/// How text spells values: a locale first, then each explicit option over it.
fn text_options(a: &SourceArgs) -> Result<TextOptions, String> {
    let mut text = TextOptions::default();
    match a.locale.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("c") | Some("en") | Some("en-us") | Some("en_us") => {}
        Some("pt-br") | Some("pt_br") => {
            text.csv.delimiter = b';';
            text.delimiter_given = true;
            text.csv.encoding = Some(encoding_rs::WINDOWS_1252);
            text.encoding_is_a_guess = true;
            text.format = TextFormat::pt_br();
        }
        Some(other) => {
            return Err(format!(
                "--locale {other:?}: known locales are pt-BR and en-US"
            ));
        }
    }
    if let Some(d) = &a.delimiter {
        text.csv.delimiter = single_byte("--delimiter", d)?;
        text.delimiter_given = true;
    }
    text.csv.quote = single_byte("--quote", &a.quote)?;
    text.csv.escape = a
        .escape
        .as_deref()
        .map(|e| single_byte("--escape", e))
        .transpose()?;
    text.csv.has_header = !a.no_header;
    if let Some(label) = &a.encoding {
        let enc = Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
            format!(
                "--encoding {label:?}: unknown encoding (try utf-8, windows-1252, latin1, utf-16le)"
            )
        })?;
        text.csv.encoding = (enc != encoding_rs::UTF_8).then_some(enc);
        text.encoding_is_a_guess = false;
    }
    if let Some(null) = &a.null {
        text.format.null = Some(null.clone());
    }
    if a.decimal_comma {
        text.format.decimal_comma = true;
    }
    if a.thousands.is_some() {
        text.format.thousands = a.thousands;
    }
    if !a.date_format.is_empty() {
        text.format.date_formats = a.date_format.clone();
    }
    if !a.timestamp_format.is_empty() {
        text.format.timestamp_formats = a.timestamp_format.clone();
    }
    if let Some(tz) = &a.timezone {
        text.timezone = Some(tz.parse().map_err(|_| {
            format!("--timezone {tz:?}: not a time zone name (e.g. UTC, America/Sao_Paulo)")
        })?);
    }
    if a.max_line_bytes == 0 {
        return Err("--max-line-bytes must be positive".into());
    }
    text.csv.max_record_bytes = a.max_line_bytes;
    Ok(text)
}

/// A `--rules` file, read and checked (its columns are checked against the table later);
/// `ingest submit --rules` reads its file the same way.
pub fn read_rules(path: &std::path::Path) -> Result<RuleSet, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("--rules {}: {e}", path.display()))?;
    RuleSet::parse(&text, &path.display().to_string()).map_err(|e| e.to_string())
}

/// `ingest load`'s defaults for a load into `table` whose input is not a file (a pull
/// source's records): one place decides what a load does when nothing is said.
pub fn defaults(table: &str) -> LoadArgs {
    use clap::Parser;
    #[derive(Parser)]
    struct Defaults {
        #[command(flatten)]
        load: LoadArgs,
    }
    Defaults::try_parse_from(["load", "-", "--into", table])
        .expect("the defaults parse")
        .load
}

/// The load these options ask for, or why they make no sense together.
pub fn request(a: &LoadArgs) -> Result<LoadRequest, String> {
    let text = text_options(&a.source)?;
    let mode = match a.mode {
        Mode::Insert => LoadMode::Insert,
        Mode::Upsert => LoadMode::Upsert,
        Mode::Merge => LoadMode::Merge,
        Mode::Replace => LoadMode::Replace,
    };
    if (a.delete_missing || !a.scope.is_empty()) && mode != LoadMode::Merge {
        return Err("--delete-missing and --scope go with --mode merge".into());
    }
    if !a.scope.is_empty() && !a.delete_missing {
        return Err("--scope limits --delete-missing; add --delete-missing".into());
    }
    Ok(LoadRequest {
        file: a.file.clone(),
        records: None,
        table: a.into.clone(),
        database: match &a.database_url {
            Some(url) => ConnectSource::Url(url.clone()),
            None => ConnectSource::Env,
        },
        mode,
        key: a
            .key
            .iter()
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect(),
        on_duplicate: match a.on_duplicate {
            OnDuplicate::First => DuplicatePolicy::First,
            OnDuplicate::Last => DuplicatePolicy::Last,
            OnDuplicate::Reject => DuplicatePolicy::Reject,
        },
        delete_missing: a.delete_missing,
        scope: pairs("--scope", &a.scope)?,
        maps: pairs("--map", &a.map)?,
        ignore_unknown: a.ignore_unknown,
        format: a
            .source
            .format
            .as_deref()
            .map(|f| {
                Format::parse(f)
                    .ok_or_else(|| format!("--format {f:?}: known formats are {}", Format::NAMES))
            })
            .transpose()?,
        compression: a
            .source
            .compression
            .as_deref()
            .map(|c| {
                Compression::parse(c).ok_or_else(|| {
                    format!("--compression {c:?}: known codecs are none, gzip, zstd, bzip2, xz")
                })
            })
            .transpose()?,
        read_timeout: std::time::Duration::from_secs(a.source.read_timeout),
        sheet: a.source.sheet.clone(),
        xlsx: XlsxLimits {
            max_file_bytes: a.source.max_xlsx_bytes,
            max_unpacked_bytes: a.source.max_xlsx_unpacked_bytes,
        },
        decompress: DecompressLimits {
            max_bytes: a.source.max_decompressed_bytes,
            max_ratio: a.source.max_compression_ratio,
        },
        text,
        max_errors: a
            .max_errors
            .parse::<RejectLimit>()
            .map_err(|e| format!("--max-errors {e}"))?,
        errors_file: a.errors_file.clone(),
        rules: a.rules.as_deref().map(read_rules).transpose()?,
        rules_may_run_sql: true,
        service_schema: Schema::new(&a.service_schema).map_err(|e| e.to_string())?,
        report: a.report.clone(),
        diff_file: match (&a.diff_file, mode) {
            (Some(_), LoadMode::Insert | LoadMode::Replace) => {
                return Err(
                    "--diff-file lists changes by key: it goes with --mode upsert or merge".into(),
                );
            }
            (d, _) => d.clone(),
        },
        dry_run: a.dry_run,
        allow_empty: a.allow_empty,
        shape: TableShape {
            create: a.create,
            evolve: a.evolve,
            infer_rows: infer_rows(&a.infer_rows)?,
        },
        before_commit: None,
        connection: None,
    })
}

/// `--infer-rows`: a positive count, or `all` (`None`).
pub fn infer_rows(text: &str) -> Result<Option<u64>, String> {
    if text.trim().eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    match text.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(format!(
            "--infer-rows {text:?}: a number of records, or all"
        )),
    }
}

fn single_byte(option: &str, value: &str) -> Result<u8, String> {
    match value {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        v if v.len() == 1 && v.is_ascii() => Ok(v.as_bytes()[0]),
        v => Err(format!(
            "{option} {v:?}: must be one ASCII character (or `tab`)"
        )),
    }
}

fn pairs(option: &str, items: &[String]) -> Result<Vec<(String, String)>, String> {
    items
        .iter()
        .map(|item| {
            item.split_once('=')
                .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
                .filter(|(a, b)| !a.is_empty() && !b.is_empty())
                .ok_or_else(|| format!("{option} {item:?}: expected NAME=VALUE"))
        })
        .collect()
}
