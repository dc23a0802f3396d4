//! CSV and NDJSON: PostgreSQL's own output, streamed through the file's compression.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};

use bytes::Bytes;
use tokio_postgres::Client;

use crate::error::{ExportError, query_error};
use crate::output::{OutputError, TextSink};
use crate::request::{ExportFormat, ExportRequest};
use crate::run::forward;

/// The rows as a Brazilian spreadsheet expects them: decimal commas, `dd/mm/yyyy`
/// dates, `dd/mm/yyyy hh:mm:ss` times (in the session's time zone; fractions only when
/// there are any). Formatted by the server, which knows every value's exact text.
async fn brazilian_select(client: &Client, select: &str) -> Result<String, ExportError> {
    use tokio_postgres::types::Type;
    let statement = client
        .prepare(&format!("SELECT * FROM ({select}) AS q"))
        .await
        .map_err(query_error("the query"))?;
    let trim = |e: String| format!("regexp_replace({e}, '\\.?0+$', '')");
    let list = statement
        .columns()
        .iter()
        .map(|c| {
            let q = ingest_pg::ident::quote_ident(c.name());
            let value = match *c.type_() {
                Type::NUMERIC | Type::FLOAT4 | Type::FLOAT8 => {
                    format!("replace(q.{q}::text, '.', ',')")
                }
                Type::DATE => format!("to_char(q.{q}, 'DD/MM/YYYY')"),
                Type::TIMESTAMP | Type::TIMESTAMPTZ => {
                    trim(format!("to_char(q.{q}, 'DD/MM/YYYY HH24:MI:SS.US')"))
                }
                _ => format!("q.{q}"),
            };
            format!("{value} AS {q}")
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(format!("SELECT {list} FROM ({select}) AS q"))
}

fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A one-byte SQL string literal, as an escape so no byte needs quoting.
fn literal(byte: u8) -> String {
    format!("E'\\x{byte:02x}'")
}

/// CSV and NDJSON: PostgreSQL's own output, streamed through the file's compression.
pub(crate) async fn write_text(
    req: &ExportRequest,
    client: &Client,
    select: &str,
    file: std::fs::File,
    rows_seen: &(dyn Fn(u64) + Sync),
) -> Result<u64, ExportError> {
    let copy = match req.format {
        ExportFormat::Csv => {
            let select = match req.brazilian {
                true => brazilian_select(client, select).await?,
                false => select.to_string(),
            };
            let encoding = match &req.encoding {
                Some(e) => format!(", ENCODING {}", quote_literal(e)),
                None => String::new(),
            };
            format!(
                "COPY ({select}) TO STDOUT (FORMAT csv, HEADER, DELIMITER {}{encoding})",
                literal(req.delimiter)
            )
        }
        // One JSON object per line: JSON escapes every control character, so with a quote
        // and a delimiter that JSON text never holds raw, CSV prints each object as it is.
        _ => format!(
            "COPY (SELECT row_to_json(q)::text FROM ({select}) AS q) TO STDOUT
             (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
        ),
    };
    let stream = client
        .copy_out(&copy)
        .await
        .map_err(query_error("the query"))?;
    let mut sink = TextSink::new(&req.to, file).map_err(|source| OutputError::Io {
        to: req.to.clone(),
        source,
    })?;
    let (tx, rx) = mpsc::sync_channel::<Bytes>(8);
    let header = req.format == ExportFormat::Csv;
    let delimiter = req.delimiter;
    let counted = Arc::new(AtomicU64::new(0));
    let written_rows = counted.clone();
    let writer = std::thread::spawn(move || -> std::io::Result<u64> {
        use std::io::Write;
        // CSV records are counted as CSV (a quoted field may hold a newline).
        let mut counter = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
        let mut records = 0u64;
        let ndjson = !header;
        let mut scratch = [0u8; 64 * 1024];
        let mut ends = [0usize; 1024];
        for chunk in rx {
            let mut input: &[u8] = &chunk;
            if ndjson {
                // One object per line, raw newlines escaped inside them.
                records += memchr::memchr_iter(b'\n', input).count() as u64;
                input = &[];
            }
            while !input.is_empty() {
                let (result, read, _, _) = counter.read_record(input, &mut scratch, &mut ends);
                input = &input[read..];
                if result == csv_core::ReadRecordResult::Record {
                    records += 1;
                }
            }
            written_rows.store(records, Ordering::Relaxed);
            sink.write_all(&chunk)?;
        }
        sink.finish()?;
        Ok(records)
    });
    let copy_error = forward(stream, &tx, &|| rows_seen(counted.load(Ordering::Relaxed))).await;
    drop(tx);
    let written = tokio::task::spawn_blocking(move || writer.join().expect("the writer panicked"))
        .await
        .expect("joining the writer");
    if let Some(e) = copy_error {
        return Err(e);
    }
    let records = written.map_err(|source| OutputError::Io {
        to: req.to.clone(),
        source,
    })?;
    let rows = records.saturating_sub(header as u64);
    rows_seen(rows);
    Ok(rows)
}
