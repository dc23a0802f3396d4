//! Avro object container files, read block by block as a stream (any codec arrow-avro
//! has), refusing a file cut off mid-block.

use std::io::{BufReader, Read};
use std::sync::{Arc, Mutex};

use arrow_schema::{DataType, SchemaRef};

use crate::compression::ByteCounter;
use crate::source::{
    BATCH_ROWS, RecordSource, SourceBatch, SourceError, field_names, field_types, typed,
};

/// An Avro object container file, read as a stream (any codec arrow-avro has).
pub struct AvroSource {
    schema: SchemaRef,
    reader: arrow_avro::reader::Reader<BufReader<TailKeeper>>,
    sync: [u8; 16],
    /// The last bytes of the file, once read.
    last: Arc<Mutex<Vec<u8>>>,
    next_row: u64,
    raw_bytes: ByteCounter,
}

impl AvroSource {
    pub fn open(reader: Box<dyn Read + Send>, raw_bytes: ByteCounter) -> Result<Self, SourceError> {
        let last = Arc::new(Mutex::new(Vec::with_capacity(32)));
        let tail = TailKeeper {
            inner: reader,
            last: last.clone(),
        };
        let reader = arrow_avro::reader::ReaderBuilder::new()
            .with_batch_size(BATCH_ROWS)
            .build(BufReader::with_capacity(1 << 20, tail))
            .map_err(avro_error)?;
        Ok(AvroSource {
            schema: reader.schema(),
            sync: reader.avro_header().sync(),
            reader,
            last,
            next_row: 1,
            raw_bytes,
        })
    }
}

impl RecordSource for AvroSource {
    fn header(&mut self) -> Result<Option<Vec<String>>, SourceError> {
        Ok(Some(field_names(&self.schema)))
    }

    fn column_types(&self) -> Option<Vec<DataType>> {
        Some(field_types(&self.schema))
    }

    fn next_batch(&mut self) -> Result<Option<SourceBatch>, SourceError> {
        match self.reader.next().transpose().map_err(avro_error)? {
            Some(batch) => Ok(Some(typed(batch, &mut self.next_row, self.raw_bytes.get()))),
            None => {
                // arrow-avro ends quietly at a cut-off block: a whole file ends with the
                // sync marker (the header's, when there are no blocks).
                if *self.last.lock().expect("tail") != self.sync {
                    return Err(SourceError::Avro(
                        "the file is truncated: it does not end with a complete block".into(),
                    ));
                }
                Ok(None)
            }
        }
    }
}

fn avro_error(e: arrow_schema::ArrowError) -> SourceError {
    let msg = e.to_string();
    let msg = msg.strip_prefix("Avro error: ").unwrap_or(&msg).to_string();
    SourceError::Avro(msg)
}

/// A reader that remembers the last 16 bytes it passed on.
pub(crate) struct TailKeeper {
    inner: Box<dyn Read + Send>,
    last: Arc<Mutex<Vec<u8>>>,
}

impl Read for TailKeeper {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut last = self.last.lock().expect("tail");
        last.extend_from_slice(&buf[..n]);
        let excess = last.len().saturating_sub(16);
        last.drain(..excess);
        Ok(n)
    }
}
