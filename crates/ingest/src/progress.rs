//! Progress on stderr: a bar on a terminal, a plain line every few seconds otherwise.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ingest_load::{Progress, ProgressView};

const LOG_EVERY: Duration = Duration::from_secs(5);

/// A load's or an export's progress as the command line shows it; nothing with `quiet`.
pub fn progress(quiet: bool) -> Progress {
    if quiet {
        return Progress::quiet();
    }
    let kind = if std::io::stderr().is_terminal() {
        Kind::Bar(ProgressBar::with_draw_target(
            Some(0),
            ProgressDrawTarget::stderr(),
        ))
    } else {
        Kind::Lines
    };
    let now = Instant::now();
    Progress::shown(Box::new(Terminal {
        kind,
        times: Mutex::new(Times {
            total: 0,
            started: now,
            last_log: now,
        }),
    }))
}

struct Terminal {
    kind: Kind,
    times: Mutex<Times>,
}

enum Kind {
    Bar(ProgressBar),
    Lines,
}

struct Times {
    total: u64,
    started: Instant,
    last_log: Instant,
}

impl ProgressView for Terminal {
    fn start(&self, total_bytes: u64) {
        let mut t = self.times.lock().unwrap();
        t.total = total_bytes;
        t.started = Instant::now();
        t.last_log = t.started;
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

    fn update(&self, bytes: u64, rows: u64) {
        let mut t = self.times.lock().unwrap();
        match &self.kind {
            Kind::Bar(bar) => {
                bar.set_position(bytes);
                let rate = rows as f64 / t.started.elapsed().as_secs_f64().max(1e-3);
                bar.set_message(format!("{rows} rows, {rate:.0} rows/s"));
            }
            Kind::Lines => {
                if t.last_log.elapsed() >= LOG_EVERY {
                    t.last_log = Instant::now();
                    let secs = t.started.elapsed().as_secs_f64();
                    let pct = if t.total > 0 {
                        format!(" ({:.0}%)", bytes as f64 * 100.0 / t.total as f64)
                    } else {
                        String::new()
                    };
                    eprintln!(
                        "ingest: {} of {} bytes{pct}, {rows} rows, {:.0} rows/s",
                        bytes,
                        t.total,
                        rows as f64 / secs.max(1e-9)
                    );
                }
            }
        }
    }

    fn println(&self, line: &str) {
        match &self.kind {
            Kind::Bar(bar) => bar.println(line),
            Kind::Lines => eprintln!("{line}"),
        }
    }

    fn finish(&self, more_rejects: u64) {
        if let Kind::Bar(bar) = &self.kind {
            bar.finish_and_clear();
        }
        if more_rejects > 0 {
            eprintln!("ingest: … and {more_rejects} more rejected values");
        }
    }
}
