//! The source lines of the rows sent with COPY, so that a row the server refuses (a
//! CHECK, a foreign key, a unique index, a domain) is reported by its line in the file.
//!
//! The server names the failing row only by its position in the COPY stream, and the
//! driver surfaces the error only when the COPY ends, so every row's line must be known
//! until then. Lines are kept as runs of consecutive lines (a plain file is a handful of
//! runs); a file where every record spans several lines makes one run per row, so the
//! oldest runs are dropped past a cap and their rows are reported without a line.

use std::collections::VecDeque;

/// Runs kept at most (24 bytes each: 24 MiB).
const MAX_RUNS: usize = 1 << 20;

#[derive(Debug, Default)]
pub(crate) struct SentLines {
    /// (first COPY row, its source line, rows in the run); rows and lines both step by one.
    runs: VecDeque<(u64, u64, u64)>,
    next_row: u64,
}

impl SentLines {
    /// Records the lines of the rows just sent, in COPY order.
    pub(crate) fn record(&mut self, lines: &[u64]) {
        for &line in lines {
            self.next_row += 1;
            match self.runs.back_mut() {
                Some((row, first, len))
                    if *row + *len == self.next_row && *first + *len == line =>
                {
                    *len += 1
                }
                _ => {
                    self.runs.push_back((self.next_row, line, 1));
                    if self.runs.len() > MAX_RUNS {
                        self.runs.pop_front();
                    }
                }
            }
        }
    }

    /// The source line of COPY row `row` (1-based, as the server counts), if known.
    pub(crate) fn line_of(&self, row: u64) -> Option<u64> {
        let i = self
            .runs
            .partition_point(|(first, _, _)| *first <= row)
            .checked_sub(1)?;
        let (first, line, len) = self.runs[i];
        (row < first + len).then(|| line + (row - first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_map_to_lines_across_batches_and_gaps() {
        let mut s = SentLines::default();
        s.record(&[2, 3, 5]);
        s.record(&[6, 10]);
        assert_eq!(s.runs.len(), 3, "{:?}", s.runs);
        let got: Vec<_> = (0..=6).map(|r| s.line_of(r)).collect();
        assert_eq!(
            got,
            [None, Some(2), Some(3), Some(5), Some(6), Some(10), None]
        );
    }

    #[test]
    fn a_plain_file_is_one_run_however_long() {
        let mut s = SentLines::default();
        let lines: Vec<u64> = (2..2_000_002).collect();
        s.record(&lines[..1000]);
        s.record(&lines[1000..]);
        assert_eq!(s.runs.len(), 1);
        assert_eq!(s.line_of(1_500_000), Some(1_500_001));
    }
}
