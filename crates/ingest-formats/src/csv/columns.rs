//! The batch being filled: one `StringArray`-shaped buffer per column, plus the start line of
//! each record and the rejected records.

use arrow_array::StringArray;
use arrow_array::builder::BooleanBufferBuilder;
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};

use crate::{RecordReject, TextBatch};

/// Values and offsets of one column, laid out as a `StringArray` will hold them.
///
/// Invariant: `values` is valid UTF-8 and every offset is a char boundary of it (the decoder
/// only pushes fields it has validated), so the array can be built without re-validation.
pub(super) struct Column {
    values: Vec<u8>,
    offsets: Vec<i32>,
    /// Validity, kept only once a NULL was pushed.
    nulls: Option<BooleanBufferBuilder>,
}

impl Column {
    fn new() -> Self {
        Column {
            values: Vec::new(),
            offsets: vec![0],
            nulls: None,
        }
    }

    /// Appends one field. The caller guarantees `field` is valid UTF-8 and that the column
    /// stays below `i32::MAX` bytes (see `Batch::bytes`).
    #[inline]
    pub(super) fn push(&mut self, field: &[u8]) {
        self.values.extend_from_slice(field);
        self.offsets.push(self.values.len() as i32);
        if let Some(n) = &mut self.nulls {
            n.append(true);
        }
    }

    /// Appends a NULL.
    pub(super) fn push_null(&mut self) {
        let len = self.offsets.len() - 1;
        self.nulls
            .get_or_insert_with(|| {
                let mut n = BooleanBufferBuilder::new(len.max(64) * 2);
                n.append_n(len, true);
                n
            })
            .append(false);
        self.offsets.push(self.values.len() as i32);
    }

    fn take_array(&mut self) -> StringArray {
        let fresh = Vec::with_capacity(self.values.len());
        let values = std::mem::replace(&mut self.values, fresh);
        let mut fresh = Vec::with_capacity(self.offsets.len());
        fresh.push(0);
        let offsets = std::mem::replace(&mut self.offsets, fresh);
        let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
        let values = Buffer::from_vec(values);
        let nulls = self.nulls.take().map(|mut n| NullBuffer::new(n.finish()));
        // SAFETY: every field pushed was checked to be valid UTF-8 on its own (the record was
        // validated as a whole and each field boundary is a char boundary), so the values are
        // valid UTF-8 and every offset is a char boundary; offsets start at 0, never decrease
        // and end at `values.len()`; `nulls`, when present, has one bit per field. That is
        // all `StringArray::try_new` checks.
        unsafe { StringArray::new_unchecked(offsets, values, nulls) }
    }
}

/// The records buffered since the last flush.
pub(super) struct Batch {
    pub(super) columns: Vec<Column>,
    pub(super) lines: Vec<u64>,
    pub(super) rejects: Vec<RecordReject>,
    /// Field bytes buffered over all columns.
    pub(super) bytes: usize,
}

impl Batch {
    pub(super) fn new() -> Self {
        Batch {
            columns: Vec::new(),
            lines: Vec::new(),
            rejects: Vec::new(),
            bytes: 0,
        }
    }

    pub(super) fn set_width(&mut self, ncols: usize) {
        self.columns = (0..ncols).map(|_| Column::new()).collect();
    }

    /// Records and rejects held (both count towards `batch_rows`).
    pub(super) fn len(&self) -> usize {
        self.lines.len() + self.rejects.len()
    }

    pub(super) fn take(&mut self, bytes_read: u64) -> Option<TextBatch> {
        if self.lines.is_empty() && self.rejects.is_empty() {
            return None;
        }
        let columns = self.columns.iter_mut().map(Column::take_array).collect();
        let fresh = Vec::with_capacity(self.lines.len());
        let lines = std::mem::replace(&mut self.lines, fresh);
        let rejects = std::mem::take(&mut self.rejects);
        self.bytes = 0;
        Some(TextBatch {
            columns,
            lines,
            rejects,
            bytes_read,
        })
    }
}
