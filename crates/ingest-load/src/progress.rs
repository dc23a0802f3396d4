//! What a caller watches while a load runs: bytes and rows so far, the first rejects,
//! whether the load is committing; and how it stops the server's statement. A
//! [`ProgressView`] shows it (the binary's bar on a terminal, log lines otherwise); a
//! worker's loads have none and are read through [`Progress::snapshot`].

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::Reject;

/// How many rejects are shown as they come.
const SHOWN_REJECTS: usize = 5;

/// Shows a load's progress to a person.
pub trait ProgressView: Send + Sync {
    /// The load starts reading `total_bytes` (0 when unknown, as for standard input).
    fn start(&self, total_bytes: u64);
    /// `bytes` of the total read so far, `rows` of them.
    fn update(&self, bytes: u64, rows: u64);
    /// A line for the user, already prefixed (`ingest: …`).
    fn println(&self, line: &str);
    /// The load ended; `more_rejects` were not shown one by one.
    fn finish(&self, more_rejects: u64);
}

pub struct Progress {
    view: Option<Box<dyn ProgressView>>,
    state: Mutex<State>,
    /// Set while the load's `COMMIT` is in flight: an interrupt or a cancel then can no
    /// longer promise that nothing was written, so it lets the commit finish instead.
    committing: AtomicBool,
    /// Cancels the load's statement on the server, for a caller that stops the load: the
    /// server then rolls back at once instead of when it next reads from the connection.
    cancel: Mutex<Option<tokio_postgres::CancelToken>>,
}

#[derive(Default)]
struct State {
    total: u64,
    bytes: u64,
    rows: u64,
    rejects_shown: usize,
    rejects_more: u64,
}

impl Progress {
    /// Progress that nobody sees but [`Progress::snapshot`].
    pub fn quiet() -> Self {
        Progress {
            view: None,
            state: Mutex::default(),
            committing: AtomicBool::new(false),
            cancel: Mutex::new(None),
        }
    }

    /// Progress shown by `view`.
    pub fn shown(view: Box<dyn ProgressView>) -> Self {
        Progress {
            view: Some(view),
            ..Progress::quiet()
        }
    }

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

    /// `(total bytes, bytes read, rows read)` so far, for a job's heartbeat.
    pub fn snapshot(&self) -> (u64, u64, u64) {
        let s = self.state.lock().unwrap();
        (s.total, s.bytes, s.rows)
    }

    pub fn start(&self, total_bytes: u64) {
        self.state.lock().unwrap().total = total_bytes;
        if let Some(view) = &self.view {
            view.start(total_bytes);
        }
    }

    pub fn update(&self, bytes: u64, rows: u64) {
        let mut s = self.state.lock().unwrap();
        s.bytes = bytes;
        s.rows = rows;
        if let Some(view) = &self.view {
            view.update(bytes, rows);
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
        if let Some(view) = &self.view {
            view.finish(s.rejects_more);
        }
    }

    /// A line for the user (`ingest: …`), through the bar when there is one.
    pub fn note(&self, message: &str) {
        self.println(&format!("ingest: {message}"));
    }

    fn println(&self, line: &str) {
        if let Some(view) = &self.view {
            view.println(line);
        }
    }
}
