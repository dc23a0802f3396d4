//! The bridge between a driver's task on the runtime and the load's blocking thread: a
//! bounded channel, so the task reads at most two batches ahead of the load, and a
//! closed channel tells the task to stop.

use std::future::Future;

use arrow_schema::DataType;
use ingest_formats::{RecordSource, SourceBatch, SourceError};
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use super::DbError;

/// Batches in flight between the task and the load.
const AHEAD: usize = 2;

/// What the task says, in order: `Started` or `Failed` first, then batches, then `End`
/// or `Failed`.
pub(crate) enum Msg {
    Started {
        header: Vec<String>,
        types: Option<Vec<DataType>>,
    },
    Batch(SourceBatch),
    End,
    Failed(DbError),
}

/// The task's end of the channel.
pub(crate) struct Feed {
    tx: mpsc::Sender<Msg>,
}

/// The load has dropped the source: the task should stop reading.
#[derive(Debug)]
pub(crate) struct Gone;

/// Why a reader's rows stopped before their end: the source was dropped, or the driver
/// failed.
pub(crate) enum Stop {
    Gone,
    Failed(super::DbError),
}

impl From<Gone> for Stop {
    fn from(_: Gone) -> Stop {
        Stop::Gone
    }
}

impl Feed {
    /// Waits for room (the load works on the last batches meanwhile).
    pub(crate) async fn send(&self, msg: Msg) -> Result<(), Gone> {
        self.tx.send(msg).await.map_err(|_| Gone)
    }
}

/// Spawns `task` on `handle` and waits (blocking) for its first word: the header, or why
/// the query cannot run.
pub(crate) fn start<F, Fut>(
    handle: &Handle,
    db: String,
    task: F,
) -> Result<Box<dyn RecordSource>, DbError>
where
    F: FnOnce(Feed) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, mut rx) = mpsc::channel(AHEAD);
    handle.spawn(task(Feed { tx }));
    match rx.blocking_recv() {
        Some(Msg::Started { header, types }) => Ok(Box::new(ChannelSource {
            db,
            header,
            types,
            rx,
            ended: false,
        })),
        Some(Msg::Failed(e)) => Err(e),
        Some(Msg::Batch(_) | Msg::End) | None => Err(DbError::Stopped { db }),
    }
}

/// The load's end: a [`RecordSource`] whose batches come from the task.
struct ChannelSource {
    db: String,
    header: Vec<String>,
    types: Option<Vec<DataType>>,
    rx: mpsc::Receiver<Msg>,
    ended: bool,
}

impl RecordSource for ChannelSource {
    fn header(&mut self) -> Result<Option<Vec<String>>, SourceError> {
        Ok(Some(self.header.clone()))
    }

    fn column_types(&self) -> Option<Vec<DataType>> {
        self.types.clone()
    }

    fn next_batch(&mut self) -> Result<Option<SourceBatch>, SourceError> {
        if self.ended {
            return Ok(None);
        }
        let failed = |e: DbError| Err(SourceError::Next(Box::new(e)));
        match self.rx.blocking_recv() {
            Some(Msg::Batch(batch)) => Ok(Some(batch)),
            Some(Msg::End) => {
                self.ended = true;
                Ok(None)
            }
            Some(Msg::Failed(e)) => {
                self.ended = true;
                failed(e)
            }
            // A closed channel without `End` is not the end of the rows: the task died.
            Some(Msg::Started { .. }) | None => {
                self.ended = true;
                failed(DbError::Stopped {
                    db: self.db.clone(),
                })
            }
        }
    }
}
