//! `ingest load`: arguments to a [`LoadRequest`], the run, the summary and the exit code.

use encoding_rs::Encoding;
use ingest::load::{self, LoadError, LoadRequest, LoadSummary, RejectLimit, TextOptions};
use ingest::progress::Progress;
use ingest_core::TextFormat;
use ingest_formats::xlsx::XlsxLimits;
use ingest_formats::{Compression, DecompressLimits, Format};
use ingest_pg::{ConnectSource, DuplicatePolicy, LoadMode};

use crate::cli::load_args::{LoadArgs, Mode, OnDuplicate};

pub async fn run(args: LoadArgs) -> i32 {
    let req = match request(&args) {
        Ok(req) => req,
        Err(msg) => {
            eprintln!("ingest: {msg}");
            return 2;
        }
    };
    let progress = Progress::new(args.quiet);
    let mut summary = LoadSummary::default();
    let result = {
        let run = load::run(&req, &mut summary, &progress);
        tokio::pin!(run);
        loop {
            tokio::select! {
                r = &mut run => break r,
                _ = tokio::signal::ctrl_c() => {
                    if progress.committing() {
                        eprintln!("ingest: interrupt received while committing; letting the commit finish");
                        continue;
                    }
                    // The statement is cancelled and the connection dropped: the server
                    // rolls the transaction back.
                    progress.cancel_server_side().await;
                    eprintln!("ingest: interrupted; nothing was written");
                    return 130;
                }
            }
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&summary).expect("summary serialises")
        );
    }
    match result {
        Ok(()) => {
            if !args.json && !args.quiet {
                eprintln!("ingest: {}", describe(&summary));
            }
            0
        }
        Err(e) => {
            eprintln!("ingest: {e}");
            if let (LoadError::Rejected { .. }, Some(path)) = (&e, &summary.errors_file) {
                eprintln!("ingest: every rejected value is listed in {path}");
            }
            e.exit_code()
        }
    }
}

fn describe(s: &LoadSummary) -> String {
    let verb = if s.dry_run { "checked" } else { "read" };
    let mut out = format!(
        "{verb} {} rows from {} into {} ({})",
        s.rows_read, s.file, s.table, s.mode
    );
    if !s.dry_run {
        out.push_str(&format!(
            ": {} inserted, {} updated, {} unchanged",
            s.rows_inserted, s.rows_updated, s.rows_unchanged
        ));
        if let Some(d) = s.rows_deleted.filter(|d| *d > 0) {
            out.push_str(&format!(", {d} deleted"));
        }
    }
    if s.rows_rejected > 0 {
        out.push_str(&format!(", {} rejected", s.rows_rejected));
    }
    if s.rows_duplicate > 0 {
        out.push_str(&format!(", {} duplicate keys dropped", s.rows_duplicate));
    }
    out.push_str(&format!(
        " in {:.2}s ({:.0} rows/s)",
        s.seconds, s.rows_per_second
    ));
    out
}

/// Resolves options: a locale first, then each explicit option over it.
pub fn request(a: &LoadArgs) -> Result<LoadRequest, String> {
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
            .format
            .as_deref()
            .map(|f| {
                Format::parse(f)
                    .ok_or_else(|| format!("--format {f:?}: known formats are {}", Format::NAMES))
            })
            .transpose()?,
        compression: a
            .compression
            .as_deref()
            .map(|c| {
                Compression::parse(c).ok_or_else(|| {
                    format!("--compression {c:?}: known codecs are none, gzip, zstd, bzip2, xz")
                })
            })
            .transpose()?,
        read_timeout: std::time::Duration::from_secs(a.read_timeout),
        sheet: a.sheet.clone(),
        xlsx: XlsxLimits {
            max_file_bytes: a.max_xlsx_bytes,
            max_unpacked_bytes: a.max_xlsx_unpacked_bytes,
        },
        decompress: DecompressLimits {
            max_bytes: a.max_decompressed_bytes,
            max_ratio: a.max_compression_ratio,
        },
        text,
        max_errors: a
            .max_errors
            .parse::<RejectLimit>()
            .map_err(|e| format!("--max-errors {e}"))?,
        errors_file: a.errors_file.clone(),
        dry_run: a.dry_run,
        allow_empty: a.allow_empty,
        before_commit: None,
        connection: None,
    })
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
