//! Progress on stderr: a bar on a terminal, a plain line every few seconds otherwise.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::load::Reject;

/// How many rejects are printed on stderr as they come.
const SHOWN_REJECTS: usize = 5;
const LOG_EVERY: Duration = Duration::from_secs(5);

pub struct Progress {
    kind: Kind,
    state: Mutex<State>,
    /// Set while the load's `COMMIT` is in flight: an interrupt or a cancel then can no
    /// longer promise that nothing was written, so it lets the commit finish instead.
    committing: AtomicBool,
    /// Cancels the load's statement on the server, for a caller that stops the load: the
    /// server then rolls back at once instead of when it next reads from the connection.
    cancel: Mutex<Option<tokio_postgres::CancelToken>>,
}

enum Kind {
    Quiet,
    Bar(ProgressBar),
    Lines,
}

struct State {
    total: u64,
    bytes: u64,
    rows: u64,
    started: Instant,
    last_log: Instant,
    rejects_shown: usize,
    rejects_more: u64,
}

impl Progress {
    /// Whether this load is committing right now.
    pub fn committing(&self) -> bool {
        self.committing.load(Ordering::SeqCst)
    }

    pub(crate) fn set_committing(&self, on: bool) {
        self.committing.store(on, Ordering::SeqCst);
    }

    pub(crate) fn set_cancel_token(&self, token: tokio_postgres::CancelToken) {
        if let Ok(mut cancel) = self.cancel.lock() {
            *cancel = Some(token);
        }
    }

    /// Asks the server to cancel the load's running statement (before the load is
    /// dropped: a dropped connection alone is noticed only when the server reads from it,
    /// which a slow COPY may not do for a while, holding its locks meanwhile).
    pub async fn cancel_server_side(&self) {
        let token = self.cancel.lock().ok().and_then(|mut c| c.take());
        if let Some(token) = token {
            let _ = token.cancel_query(tokio_postgres::NoTls).await;
        }
    }

    /// A bar when stderr is a terminal, log lines otherwise; nothing with `quiet`.
    pub fn new(quiet: bool) -> Self {
        let kind = if quiet {
            Kind::Quiet
        } else if std::io::stderr().is_terminal() {
            Kind::Bar(ProgressBar::with_draw_target(
                Some(0),
                ProgressDrawTarget::stderr(),
            ))
        } else {
            Kind::Lines
        };
        let now = Instant::now();
        Progress {
            kind,
            committing: AtomicBool::new(false),
            cancel: Mutex::new(None),
            state: Mutex::new(State {
                total: 0,
                bytes: 0,
                rows: 0,
                started: now,
                last_log: now,
                rejects_shown: 0,
                rejects_more: 0,
            }),
        }
    }

    /// `(total bytes, bytes read, rows read)` so far, for a job's heartbeat.
    pub fn snapshot(&self) -> (u64, u64, u64) {
        let s = self.state.lock().unwrap();
        (s.total, s.bytes, s.rows)
    }

    pub fn start(&self, total_bytes: u64) {
        let mut s = self.state.lock().unwrap();
        s.total = total_bytes;
        s.started = Instant::now();
        s.last_log = s.started;
        if let Kind::Bar(bar) = &self.kind {
            // Standard input has no known size: no bar, no ETA, the rest as usual.
            let template = if total_bytes > 0 {
                bar.set_length(total_bytes);
                "{bar:30.cyan/blue} {binary_bytes}/{binary_total_bytes} {msg} ({binary_bytes_per_sec}, eta {eta})"
            } else {
                "{spinner} {binary_bytes} {msg} ({binary_bytes_per_sec})"
            };
            bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
        }
    }

    pub fn update(&self, bytes: u64, rows: u64) {
        let mut s = self.state.lock().unwrap();
        s.bytes = bytes;
        s.rows = rows;
        match &self.kind {
            Kind::Quiet => {}
            Kind::Bar(bar) => {
                bar.set_position(bytes);
                let rate = rows as f64 / s.started.elapsed().as_secs_f64().max(1e-3);
                bar.set_message(format!("{rows} rows, {rate:.0} rows/s"));
            }
            Kind::Lines => {
                if s.last_log.elapsed() >= LOG_EVERY {
                    s.last_log = Instant::now();
                    let secs = s.started.elapsed().as_secs_f64();
                    let pct = if s.total > 0 {
                        format!(" ({:.0}%)", bytes as f64 * 100.0 / s.total as f64)
                    } else {
                        String::new()
                    };
                    eprintln!(
                        "ingest: {} of {} bytes{pct}, {rows} rows, {:.0} rows/s",
                        bytes,
                        s.total,
                        rows as f64 / secs.max(1e-9)
                    );
                }
            }
        }
    }

    /// Shows the first few rejects as they come.
    pub fn rejects(&self, rejects: &[Reject]) {
        let mut s = self.state.lock().unwrap();
        for r in rejects {
            if s.rejects_shown < SHOWN_REJECTS {
                s.rejects_shown += 1;
                self.println(&format!("ingest: rejected {r}"));
            } else {
                s.rejects_more += 1;
            }
        }
    }

    pub fn finish(&self) {
        let s = self.state.lock().unwrap();
        if let Kind::Bar(bar) = &self.kind {
            bar.finish_and_clear();
        }
        if s.rejects_more > 0 && !matches!(self.kind, Kind::Quiet) {
            eprintln!("ingest: … and {} more rejected values", s.rejects_more);
        }
    }

    /// A line for the user (`ingest: …`), through the bar when there is one.
    pub fn note(&self, message: &str) {
        self.println(&format!("ingest: {message}"));
    }

    fn println(&self, line: &str) {
        match &self.kind {
            Kind::Quiet => {}
            Kind::Bar(bar) => bar.println(line),
            Kind::Lines => eprintln!("{line}"),
        }
    }
}
