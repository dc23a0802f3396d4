//! Several files read as one input (a glob or a prefix): each opened when the one before
//! it ends, all with the same columns, into one atomic load.

use std::sync::Arc;

use tokio::runtime::Handle;

use crate::LoadError;
use crate::LoadRequest;
use crate::open::{Opened, open_source};
use ingest_formats::{RecordSource, SourceBatch, SourceError};
use ingest_store::SourceFile;

pub(crate) struct MultiSource {
    current: Box<dyn RecordSource>,
    current_name: Arc<str>,
    header: Option<Vec<String>>,
    types: Option<Vec<arrow_schema::DataType>>,
    /// The files still to read.
    rest: std::vec::IntoIter<SourceFile>,
    req: LoadRequest,
    handle: Handle,
    /// Stored bytes of the files finished, for progress.
    bytes_before: u64,
    bytes_current: u64,
}

impl MultiSource {
    /// `first` is opened (its header read); `rest` are opened in turn.
    pub(crate) fn new(
        first: Opened,
        first_name: String,
        rest: Vec<SourceFile>,
        req: LoadRequest,
        handle: Handle,
    ) -> Self {
        MultiSource {
            types: first.source.column_types(),
            current: first.source,
            current_name: first_name.into(),
            header: first.header,
            rest: rest.into_iter(),
            req,
            handle,
            bytes_before: 0,
            bytes_current: first.size,
        }
    }

    /// Opens the next file and checks it has the first one's columns.
    fn advance(&mut self) -> Result<bool, LoadError> {
        let Some(SourceFile { source, name, .. }) = self.rest.next() else {
            return Ok(false);
        };
        let opened = open_source(&self.req, &source, &name, &self.handle)?;
        let differ = |what: &str| LoadError::Format {
            file: name.clone(),
            reason: format!(
                "its {what} differ from those of {}, the first file: every file of one load must have the same columns",
                self.current_name
            ),
        };
        if opened.header.is_some() && opened.header != self.header {
            return Err(differ("columns"));
        }
        if opened.source.column_types() != self.types {
            return Err(differ("column types"));
        }
        self.bytes_before += self.bytes_current;
        self.bytes_current = opened.size;
        self.current = opened.source;
        self.current_name = name.into();
        Ok(true)
    }
}

impl RecordSource for MultiSource {
    fn header(&mut self) -> Result<Option<Vec<String>>, SourceError> {
        Ok(self.header.clone())
    }

    fn column_types(&self) -> Option<Vec<arrow_schema::DataType>> {
        self.types.clone()
    }

    fn next_batch(&mut self) -> Result<Option<SourceBatch>, SourceError> {
        loop {
            let batch = self.current.next_batch().map_err(|e| {
                SourceError::Next(Box::new(crate::open::input_error(&self.current_name, e)))
            })?;
            match batch {
                Some(mut b) => {
                    match &mut b {
                        SourceBatch::Text(t) => t.bytes_read += self.bytes_before,
                        SourceBatch::Typed(t) => t.bytes_read += self.bytes_before,
                    }
                    return Ok(Some(b));
                }
                None => {
                    if !self.advance().map_err(|e| SourceError::Next(Box::new(e)))? {
                        return Ok(None);
                    }
                }
            }
        }
    }

    fn current_file(&self) -> Option<Arc<str>> {
        Some(self.current_name.clone())
    }
}
