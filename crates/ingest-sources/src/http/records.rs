//! The pages' records as a load's input: each page's NDJSON through the same JSON decoder
//! a file goes through (numbers kept as written, nested values as JSON text), one batch
//! per page, named by the page. A record's line is its position in the run (1 for the
//! first record of the first page).

use std::collections::VecDeque;
use std::sync::Arc;

use ingest_formats::json::{JsonDecoder, JsonOptions};
use ingest_formats::{RecordSource, SourceBatch, SourceError, TextBatch};
use tokio::sync::mpsc;

use super::HttpError;
use super::pages::Page;

pub struct HttpRecords {
    pages: mpsc::Receiver<Result<Page, HttpError>>,
    decoder: JsonDecoder,
    /// Batches decoded, with the page each came from.
    ready: VecDeque<(TextBatch, Arc<str>)>,
    current_page: Option<Arc<str>>,
    ended: bool,
}

impl HttpRecords {
    pub fn new(pages: mpsc::Receiver<Result<Page, HttpError>>) -> HttpRecords {
        HttpRecords {
            pages,
            decoder: JsonDecoder::new(JsonOptions::default()),
            ready: VecDeque::new(),
            current_page: None,
            ended: false,
        }
    }

    /// Waits for the next page and decodes it; false at the end.
    fn read_page(&mut self) -> Result<bool, SourceError> {
        if self.ended {
            return Ok(false);
        }
        let page = match self.pages.blocking_recv() {
            Some(Ok(page)) => page,
            Some(Err(e)) => {
                self.ended = true;
                return Err(SourceError::Next(Box::new(e)));
            }
            None => {
                self.ended = true;
                self.decoder.finish()?;
                if let Some(batch) = self.decoder.flush() {
                    self.ready.push_back((batch, Arc::from("the last page")));
                }
                return Ok(false);
            }
        };
        let label: Arc<str> = Arc::from(format!("page {}", page.number));
        let mut data = &page.ndjson[..];
        while !data.is_empty() {
            let used = self.decoder.decode(data)?;
            data = &data[used..];
            if !data.is_empty()
                && let Some(batch) = self.decoder.flush()
            {
                self.ready.push_back((batch, label.clone()));
            }
        }
        if let Some(batch) = self.decoder.flush() {
            self.ready.push_back((batch, label));
        }
        Ok(true)
    }
}

impl RecordSource for HttpRecords {
    fn header(&mut self) -> Result<Option<Vec<String>>, SourceError> {
        while self.ready.is_empty() && self.read_page()? {}
        Ok((!self.decoder.keys().is_empty()).then(|| self.decoder.keys().to_vec()))
    }

    fn next_batch(&mut self) -> Result<Option<SourceBatch>, SourceError> {
        while self.ready.is_empty() && self.read_page()? {}
        Ok(self.ready.pop_front().map(|(batch, page)| {
            self.current_page = Some(page);
            SourceBatch::Text(batch)
        }))
    }

    fn current_file(&self) -> Option<Arc<str>> {
        self.current_page.clone()
    }
}
