//! Feeding a `CsvDecoder` the way a pipeline does, collecting what it produces.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use arrow_array::Array;
use ingest_formats::RecordReject;
use ingest_formats::csv::{CsvDecoder, CsvError, CsvOptions};

#[derive(Debug, PartialEq)]
pub struct Decoded {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub lines: Vec<u64>,
    pub rejects: Vec<RecordReject>,
    /// Rows (plus rejects) per batch.
    pub batch_sizes: Vec<usize>,
}

/// Feeds `input` in chunks of `chunk` bytes.
pub fn run(input: &[u8], options: &CsvOptions, chunk: usize) -> Result<Decoded, CsvError> {
    run_chunked(input, options, &[chunk])
}

/// Feeds `input` in chunks of the sizes in `chunks` (cycled) the way a pipeline would: decode
/// until a chunk is used up, flushing whenever the decoder takes less than offered.
pub fn run_chunked(
    input: &[u8],
    options: &CsvOptions,
    chunks: &[usize],
) -> Result<Decoded, CsvError> {
    let mut decoder = CsvDecoder::new(options.clone());
    let mut out = Decoded {
        header: Vec::new(),
        rows: Vec::new(),
        lines: Vec::new(),
        rejects: Vec::new(),
        batch_sizes: Vec::new(),
    };
    let mut last_bytes_read = 0;
    let mut take = |decoder: &mut CsvDecoder, out: &mut Decoded| -> Result<bool, CsvError> {
        let Some(batch) = decoder.flush()? else {
            return Ok(false);
        };
        let ncols = decoder.header().expect("a batch implies a header").len();
        assert_eq!(batch.columns.len(), ncols);
        assert!(batch.num_rows() + batch.rejects.len() > 0);
        for column in &batch.columns {
            assert_eq!(column.len(), batch.num_rows());
        }
        for r in 0..batch.num_rows() {
            out.rows.push(
                batch
                    .columns
                    .iter()
                    .map(|c| c.value(r).to_owned())
                    .collect(),
            );
        }
        assert!(batch.bytes_read >= last_bytes_read);
        assert!(batch.bytes_read <= input.len() as u64);
        last_bytes_read = batch.bytes_read;
        out.lines.extend(&batch.lines);
        out.batch_sizes.push(batch.num_rows() + batch.rejects.len());
        out.rejects.extend(batch.rejects);
        Ok(true)
    };
    let mut sizes = chunks.iter().copied().cycle();
    let mut rest = input;
    while !rest.is_empty() {
        let size = sizes
            .next()
            .expect("at least one chunk size")
            .clamp(1, rest.len());
        let (piece, tail) = rest.split_at(size);
        rest = tail;
        let mut off = 0;
        while off < piece.len() {
            let n = decoder.decode(&piece[off..])?;
            off += n;
            if off < piece.len() {
                assert!(
                    take(&mut decoder, &mut out)?,
                    "took less but had nothing to flush"
                );
            }
        }
    }
    decoder.finish()?;
    take(&mut decoder, &mut out)?;
    assert!(decoder.flush()?.is_none());
    if !out.batch_sizes.is_empty() && options.encoding.is_none() {
        // All consumed, save line terminators taken after the last batch was flushed.
        let trailing = input
            .iter()
            .rev()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        assert!(last_bytes_read >= (input.len() - trailing) as u64);
    }
    out.header = decoder.header().expect("finish succeeded").to_vec();
    Ok(out)
}
