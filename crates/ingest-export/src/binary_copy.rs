//! Rows of a binary `COPY ... TO STDOUT` into Arrow record batches.
//!
//! The format (PostgreSQL's "Binary Format" of COPY): an 11-byte signature, a flags word
//! and a header extension; then each row as a 16-bit field count and, per field, a 32-bit
//! length (-1 for NULL) and the value in the type's binary send format; a field count of
//! -1 ends the data. Values are decoded here rather than through a generic row API: a
//! column's builder takes its bytes directly, with no per-value allocation.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, FixedSizeBinaryBuilder,
    Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
    StringDictionaryBuilder, Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, ListArray, RecordBatch};
use arrow_buffer::{BooleanBufferBuilder, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{FieldRef, Schema};

use crate::columns::{ColumnKind, ExportColumn};

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";
/// Days and microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_DAYS: i32 = 10_957;
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the COPY data is not PostgreSQL's binary format")]
    Signature,
    #[error("row {row}: expected {expected} fields, got {got}")]
    FieldCount { row: u64, expected: usize, got: i16 },
    #[error("row {row}, column {column:?}: {reason}")]
    Value {
        row: u64,
        column: String,
        reason: String,
    },
    #[error("the COPY data ended in the middle of a row")]
    Truncated,
}

enum Builder {
    Bool(BooleanBuilder),
    Int2(Int16Builder),
    Int4(Int32Builder),
    Int8(Int64Builder),
    Float4(Float32Builder),
    Float8(Float64Builder),
    Decimal(Decimal128Builder, u8, i8),
    Text(StringBuilder),
    Enum(StringDictionaryBuilder<Int32Type>),
    Jsonb(StringBuilder),
    Bytea(BinaryBuilder),
    Uuid(FixedSizeBinaryBuilder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    Time(Time64MicrosecondBuilder),
    /// A one-dimensional array: its items in `items`, where each row's list ends.
    List {
        items: Box<Builder>,
        offsets: Vec<i32>,
        valid: BooleanBufferBuilder,
        field: FieldRef,
    },
}

impl Builder {
    fn new(kind: &ColumnKind) -> Builder {
        match kind {
            ColumnKind::Bool => Builder::Bool(BooleanBuilder::new()),
            ColumnKind::Int2 => Builder::Int2(Int16Builder::new()),
            ColumnKind::Int4 => Builder::Int4(Int32Builder::new()),
            ColumnKind::Int8 => Builder::Int8(Int64Builder::new()),
            ColumnKind::Float4 => Builder::Float4(Float32Builder::new()),
            ColumnKind::Float8 => Builder::Float8(Float64Builder::new()),
            ColumnKind::Decimal { precision, scale } => Builder::Decimal(
                Decimal128Builder::new()
                    .with_precision_and_scale(*precision, *scale)
                    .expect("columns.rs plans only scale <= precision <= 38"),
                *precision,
                *scale,
            ),
            ColumnKind::NumericText
            | ColumnKind::NumericUnsized
            | ColumnKind::Text
            | ColumnKind::Json => Builder::Text(StringBuilder::new()),
            ColumnKind::Enum => Builder::Enum(StringDictionaryBuilder::new()),
            ColumnKind::Jsonb => Builder::Jsonb(StringBuilder::new()),
            ColumnKind::Bytea => Builder::Bytea(BinaryBuilder::new()),
            ColumnKind::Uuid => Builder::Uuid(FixedSizeBinaryBuilder::new(16)),
            ColumnKind::Date => Builder::Date(Date32Builder::new()),
            ColumnKind::Timestamp => Builder::Timestamp(TimestampMicrosecondBuilder::new()),
            ColumnKind::Timestamptz => {
                Builder::Timestamp(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
            }
            ColumnKind::Time => Builder::Time(Time64MicrosecondBuilder::new()),
            ColumnKind::List(element) => Builder::List {
                items: Box::new(Builder::new(element)),
                offsets: vec![0],
                valid: BooleanBufferBuilder::new(1024),
                field: match crate::columns::field_of_kind(kind) {
                    arrow_schema::DataType::List(f) => f,
                    _ => unreachable!("a list's type is a list"),
                },
            },
        }
    }

    fn null(&mut self) {
        match self {
            Builder::Bool(b) => b.append_null(),
            Builder::Int2(b) => b.append_null(),
            Builder::Int4(b) => b.append_null(),
            Builder::Int8(b) => b.append_null(),
            Builder::Float4(b) => b.append_null(),
            Builder::Float8(b) => b.append_null(),
            Builder::Decimal(b, ..) => b.append_null(),
            Builder::Text(b) | Builder::Jsonb(b) => b.append_null(),
            Builder::Enum(b) => b.append_null(),
            Builder::Bytea(b) => b.append_null(),
            Builder::Uuid(b) => b.append_null(),
            Builder::Date(b) => b.append_null(),
            Builder::Timestamp(b) => b.append_null(),
            Builder::Time(b) => b.append_null(),
            Builder::List { offsets, valid, .. } => {
                offsets.push(*offsets.last().expect("starts with 0"));
                valid.append(false);
            }
        }
    }

    /// Appends one value in its binary send format.
    fn value(&mut self, v: &[u8]) -> Result<(), String> {
        match self {
            Builder::Bool(b) => b.append_value(fixed::<1>(v)?[0] != 0),
            Builder::Int2(b) => b.append_value(i16::from_be_bytes(fixed(v)?)),
            Builder::Int4(b) => b.append_value(i32::from_be_bytes(fixed(v)?)),
            Builder::Int8(b) => b.append_value(i64::from_be_bytes(fixed(v)?)),
            Builder::Float4(b) => b.append_value(f32::from_be_bytes(fixed(v)?)),
            Builder::Float8(b) => b.append_value(f64::from_be_bytes(fixed(v)?)),
            Builder::Decimal(b, precision, scale) => {
                b.append_value(numeric_to_i128(v, *precision, *scale)?)
            }
            Builder::Text(b) => b.append_value(utf8(v)?),
            Builder::Enum(b) => {
                b.append(utf8(v)?).map_err(|e| e.to_string())?;
            }
            Builder::Jsonb(b) => match v.split_first() {
                Some((1, text)) => b.append_value(utf8(text)?),
                _ => return Err("unknown jsonb version".into()),
            },
            Builder::Bytea(b) => b.append_value(v),
            Builder::Uuid(b) => b.append_value(fixed::<16>(v)?).map_err(|e| e.to_string())?,
            Builder::Date(b) => {
                let days = i32::from_be_bytes(fixed(v)?);
                if days == i32::MAX || days == i32::MIN {
                    return Err("an infinite date has no Parquet value".into());
                }
                b.append_value(
                    days.checked_add(PG_EPOCH_DAYS)
                        .ok_or("a date too far in the future")?,
                )
            }
            Builder::Timestamp(b) => {
                let micros = i64::from_be_bytes(fixed(v)?);
                if micros == i64::MAX || micros == i64::MIN {
                    return Err("an infinite timestamp has no Parquet value".into());
                }
                b.append_value(
                    micros
                        .checked_add(PG_EPOCH_MICROS)
                        .ok_or("a timestamp too far in the future")?,
                )
            }
            Builder::Time(b) => b.append_value(i64::from_be_bytes(fixed(v)?)),
            Builder::List {
                items,
                offsets,
                valid,
                ..
            } => {
                let count = array_items(v, items)?;
                let end = offsets.last().expect("starts with 0") + count;
                offsets.push(end);
                valid.append(true);
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Int2(b) => Arc::new(b.finish()),
            Builder::Int4(b) => Arc::new(b.finish()),
            Builder::Int8(b) => Arc::new(b.finish()),
            Builder::Float4(b) => Arc::new(b.finish()),
            Builder::Float8(b) => Arc::new(b.finish()),
            Builder::Decimal(b, ..) => Arc::new(b.finish()),
            Builder::Text(b) | Builder::Jsonb(b) => Arc::new(b.finish()),
            Builder::Enum(b) => Arc::new(b.finish()),
            Builder::Bytea(b) => Arc::new(b.finish()),
            Builder::Uuid(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Timestamp(b) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
            Builder::List {
                items,
                offsets,
                valid,
                field,
            } => {
                let offsets =
                    OffsetBuffer::new(ScalarBuffer::from(std::mem::replace(offsets, vec![0])));
                let nulls = NullBuffer::new(valid.finish());
                Arc::new(
                    ListArray::try_new(field.clone(), offsets, items.finish(), Some(nulls))
                        .expect("offsets and items agree"),
                )
            }
        }
    }
}

/// A binary array value (dimensions, a null flag, the element type, then each element
/// with its length) into `items`; returns how many it held. One dimension, or none for
/// an empty array.
fn array_items(v: &[u8], items: &mut Builder) -> Result<i32, String> {
    let word = |at: usize| -> Result<i32, String> {
        v.get(at..at + 4)
            .map(|b| i32::from_be_bytes(b.try_into().expect("4 bytes")))
            .ok_or_else(|| "an array shorter than its header".to_string())
    };
    let dims = word(0)?;
    if dims == 0 {
        return Ok(0);
    }
    if dims != 1 {
        return Err(format!(
            "an array of {dims} dimensions; export one-dimensional arrays (or cast to text)"
        ));
    }
    let count = word(12)?;
    let mut at = 20;
    for _ in 0..count {
        let len = word(at)?;
        at += 4;
        if len < 0 {
            items.null();
            continue;
        }
        let value = v
            .get(at..at + len as usize)
            .ok_or_else(|| "an array element past its end".to_string())?;
        items.value(value)?;
        at += len as usize;
    }
    Ok(count)
}

fn fixed<const N: usize>(v: &[u8]) -> Result<[u8; N], String> {
    v.try_into()
        .map_err(|_| format!("{} bytes where {N} were expected", v.len()))
}

fn utf8(v: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(v).map_err(|e| format!("not UTF-8 ({e})"))
}

/// A binary numeric (base-10000 digits, a weight, a sign, a display scale) as an integer
/// scaled by 10^`scale`. A digit past `scale`, or a value of more than `precision`
/// digits, is an error, never rounded or wrapped.
fn numeric_to_i128(v: &[u8], precision: u8, scale: i8) -> Result<i128, String> {
    if v.len() < 8 {
        return Err("a numeric shorter than its header".into());
    }
    let ndigits = i16::from_be_bytes([v[0], v[1]]) as usize;
    let weight = i16::from_be_bytes([v[2], v[3]]) as i32;
    let sign = u16::from_be_bytes([v[4], v[5]]);
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Err("NaN has no decimal value".into()),
        _ => return Err("an infinite numeric has no decimal value".into()),
    }
    if v.len() != 8 + 2 * ndigits {
        return Err("a numeric whose length does not match its digits".into());
    }
    let too_wide = || format!("a value wider than decimal128({precision}, {scale})");
    let mut acc: i128 = 0;
    for i in 0..ndigits {
        let digit = u16::from_be_bytes([v[8 + 2 * i], v[9 + 2 * i]]) as i128;
        // This digit stands for digit × 10000^(weight - i); scaled, × 10^scale.
        let exp10 = 4 * (weight - i as i32) + scale as i32;
        let term = if exp10 >= 0 {
            10i128
                .checked_pow(exp10 as u32)
                .and_then(|p| digit.checked_mul(p))
                .ok_or_else(too_wide)?
        } else if exp10 > -4 {
            let unit = 10i128.pow((-exp10) as u32);
            if digit % unit != 0 {
                return Err(format!("a value with more than {scale} decimal places"));
            }
            digit / unit
        } else if digit != 0 {
            return Err(format!("a value with more than {scale} decimal places"));
        } else {
            0
        };
        acc = acc.checked_add(term).ok_or_else(too_wide)?;
    }
    if acc >= 10i128.pow(precision as u32) {
        return Err(too_wide());
    }
    Ok(if sign == 0x4000 { -acc } else { acc })
}

/// Turns binary COPY data, fed in chunks of any size, into record batches.
pub struct BatchDecoder {
    columns: Vec<ExportColumn>,
    schema: Arc<Schema>,
    builders: Vec<Builder>,
    /// Bytes received but not yet decoded (the rest of a row split across chunks).
    pending: Vec<u8>,
    header_done: bool,
    ended: bool,
    rows_in_batch: usize,
    rows: u64,
    batch_rows: usize,
}

impl BatchDecoder {
    pub fn new(columns: Vec<ExportColumn>, batch_rows: usize) -> BatchDecoder {
        let schema = crate::columns::schema(&columns);
        let builders = columns.iter().map(|c| Builder::new(&c.kind)).collect();
        BatchDecoder {
            columns,
            schema,
            builders,
            pending: Vec::new(),
            header_done: false,
            ended: false,
            rows_in_batch: 0,
            rows: 0,
            batch_rows,
        }
    }

    pub fn schema(&self) -> Arc<Schema> {
        self.schema.clone()
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Decodes what `chunk` completes; full batches are handed to `emit`.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        emit: &mut dyn FnMut(RecordBatch),
    ) -> Result<(), DecodeError> {
        // Decode from the chunk itself when nothing is pending (the common case), else
        // from the pending bytes with the chunk appended.
        let owned;
        let data: &[u8] = if self.pending.is_empty() {
            chunk
        } else {
            self.pending.extend_from_slice(chunk);
            owned = std::mem::take(&mut self.pending);
            &owned
        };
        let used = self.decode(data, emit)?;
        self.pending = data[used..].to_vec();
        Ok(())
    }

    /// Decodes whole rows from `data`; returns how many bytes they took.
    fn decode(
        &mut self,
        data: &[u8],
        emit: &mut dyn FnMut(RecordBatch),
    ) -> Result<usize, DecodeError> {
        let mut at = 0;
        if !self.header_done {
            if data.len() < SIGNATURE.len() + 8 {
                return Ok(0);
            }
            if &data[..SIGNATURE.len()] != SIGNATURE {
                return Err(DecodeError::Signature);
            }
            let ext = u32::from_be_bytes(data[15..19].try_into().expect("4 bytes")) as usize;
            if data.len() < 19 + ext {
                return Ok(0);
            }
            at = 19 + ext;
            self.header_done = true;
        }
        let width = self.columns.len();
        while !self.ended && data.len() >= at + 2 {
            let count = i16::from_be_bytes([data[at], data[at + 1]]);
            if count == -1 {
                self.ended = true;
                at += 2;
                break;
            }
            if count as usize != width {
                return Err(DecodeError::FieldCount {
                    row: self.rows + 1,
                    expected: width,
                    got: count,
                });
            }
            // The whole row must be here before any of it is appended.
            let mut end = at + 2;
            for _ in 0..width {
                if data.len() < end + 4 {
                    return Ok(at);
                }
                let len = i32::from_be_bytes(data[end..end + 4].try_into().expect("4 bytes"));
                end += 4 + len.max(0) as usize;
            }
            if data.len() < end {
                return Ok(at);
            }
            let mut p = at + 2;
            for (i, builder) in self.builders.iter_mut().enumerate() {
                let len = i32::from_be_bytes(data[p..p + 4].try_into().expect("4 bytes"));
                p += 4;
                if len < 0 {
                    builder.null();
                    continue;
                }
                let value = &data[p..p + len as usize];
                p += len as usize;
                builder.value(value).map_err(|reason| DecodeError::Value {
                    row: self.rows + 1,
                    column: self.columns[i].name.clone(),
                    reason,
                })?;
            }
            at = end;
            self.rows += 1;
            self.rows_in_batch += 1;
            if self.rows_in_batch == self.batch_rows {
                emit(self.take_batch());
            }
        }
        Ok(at)
    }

    /// The rows decoded since the last batch, as one (None when there are none).
    pub fn finish(&mut self) -> Result<Option<RecordBatch>, DecodeError> {
        if !self.pending.is_empty() || !self.ended && self.header_done {
            return Err(DecodeError::Truncated);
        }
        Ok((self.rows_in_batch > 0).then(|| self.take_batch()))
    }

    fn take_batch(&mut self) -> RecordBatch {
        self.rows_in_batch = 0;
        let arrays = self.builders.iter_mut().map(Builder::finish).collect();
        RecordBatch::try_new(self.schema.clone(), arrays).expect("builders match the schema")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(digits: &[u16], weight: i16, negative: bool, dscale: u16) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend((digits.len() as i16).to_be_bytes());
        v.extend(weight.to_be_bytes());
        v.extend((if negative { 0x4000u16 } else { 0 }).to_be_bytes());
        v.extend(dscale.to_be_bytes());
        for d in digits {
            v.extend(d.to_be_bytes());
        }
        v
    }

    #[test]
    fn numerics_become_scaled_integers() {
        // 12345.67 = [1, 2345, 6700] with weight 1
        assert_eq!(
            numeric_to_i128(&numeric(&[1, 2345, 6700], 1, false, 2), 12, 2),
            Ok(1_234_567)
        );
        // -0.05 at scale 2 = [500] with weight -1
        assert_eq!(numeric_to_i128(&numeric(&[500], -1, true, 2), 5, 2), Ok(-5));
        // 10000 at scale 0 = [1] with weight 1
        assert_eq!(
            numeric_to_i128(&numeric(&[1], 1, false, 0), 5, 0),
            Ok(10_000)
        );
        assert_eq!(numeric_to_i128(&numeric(&[], 0, false, 0), 5, 3), Ok(0));
        assert!(numeric_to_i128(&[0, 0, 0, 0, 0xC0, 0, 0, 0], 5, 2).is_err());
        // Never rounded, never wrapped: 0.005 at scale 2, 10000 in 4 digits.
        assert!(numeric_to_i128(&numeric(&[50], -1, false, 3), 5, 2).is_err());
        assert!(numeric_to_i128(&numeric(&[1], 1, false, 0), 4, 0).is_err());
    }
}
