//! `ingest export`: a table or a query to Parquet, CSV or NDJSON, on disk or in a store.

use ingest_export::args::{ExportArgs, request};

use crate::cli::Failure;

pub async fn run(a: ExportArgs) -> i32 {
    crate::cli::exit_code(export(a).await)
}

async fn export(a: ExportArgs) -> Result<(), Failure> {
    let req = request(&a).map_err(|e| (2, e))?;
    let progress = crate::progress::progress(a.quiet || a.json);
    progress.start(0);
    let result = ingest_export::run(&req, &|rows| progress.update(0, rows)).await;
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
