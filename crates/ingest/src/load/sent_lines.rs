//! The source lines of the rows most recently sent with COPY, so that a row the server
//! refuses (a CHECK, a foreign key, a unique index) is reported by its line in the file.
//!
//! The server reports the failing row by its position in the COPY stream; it can only be
//! behind what was sent by what sits in buffers on the way, so the last million rows are
//! plenty and memory stays bounded (8 MiB).

use std::collections::VecDeque;

const KEEP_ROWS: usize = 1 << 20;

#[derive(Debug, Default)]
pub struct SentLines {
    /// (COPY row number of the first row, source lines of the batch's rows).
    batches: VecDeque<(u64, Vec<u64>)>,
    kept: usize,
    next_row: u64,
}

impl SentLines {
    /// Records the lines of the rows just sent, in COPY order.
    pub fn record(&mut self, lines: Vec<u64>) {
        let first = self.next_row + 1;
        self.next_row += lines.len() as u64;
        self.kept += lines.len();
        self.batches.push_back((first, lines));
        while self.kept > KEEP_ROWS && self.batches.len() > 1 {
            let (_, old) = self.batches.pop_front().expect("not empty");
            self.kept -= old.len();
        }
    }

    /// The source line of COPY row `row` (1-based, as the server counts), if still known.
    pub fn line_of(&self, row: u64) -> Option<u64> {
        let (first, lines) = self.batches.iter().rev().find(|(first, _)| *first <= row)?;
        lines.get((row - first) as usize).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_map_to_lines_across_batches() {
        let mut s = SentLines::default();
        s.record(vec![2, 3, 5]);
        s.record(vec![9, 10]);
        assert_eq!(s.line_of(1), Some(2));
        assert_eq!(s.line_of(3), Some(5));
        assert_eq!(s.line_of(4), Some(9));
        assert_eq!(s.line_of(5), Some(10));
        assert_eq!(s.line_of(6), None);
        assert_eq!(s.line_of(0), None);
    }
}
