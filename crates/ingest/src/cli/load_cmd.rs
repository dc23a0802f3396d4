//! `ingest load`: the run, Ctrl-C, the summary and the exit code.

use ingest_load::args::{LoadArgs, request};
use ingest_load::{self as load, LoadError, LoadSummary};

pub async fn run(args: LoadArgs) -> i32 {
    let req = match request(&args) {
        Ok(req) => req,
        Err(msg) => {
            eprintln!("ingest: {msg}");
            return 2;
        }
    };
    let progress = crate::progress::progress(args.quiet);
    let mut summary = LoadSummary::default();
    let Some(result) = interruptible(load::run(&req, &mut summary, &progress), &progress).await
    else {
        return 130;
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

/// Runs a load to its end, or until Ctrl-C: then the statement is cancelled and the
/// connection dropped (the server rolls back), and `None` says nothing was written. An
/// interrupt while committing lets the commit finish.
pub async fn interruptible<T>(
    run: impl std::future::Future<Output = T>,
    progress: &load::Progress,
) -> Option<T> {
    tokio::pin!(run);
    loop {
        tokio::select! {
            r = &mut run => return Some(r),
            _ = tokio::signal::ctrl_c() => {
                if progress.committing() {
                    eprintln!("ingest: interrupt received while committing; letting the commit finish");
                    continue;
                }
                progress.cancel_server_side().await;
                eprintln!("ingest: interrupted; nothing was written");
                return None;
            }
        }
    }
}

pub fn describe(s: &LoadSummary) -> String {
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
