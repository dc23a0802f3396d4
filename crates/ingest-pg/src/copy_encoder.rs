//! Arrow columns to PostgreSQL binary COPY.
//!
//! Each column's array is downcast once per batch into a [`ValueWriter`]; rows are then
//! written in order with one `match` per value and no allocation. Layout (PostgreSQL docs,
//! "COPY … Binary Format"): a signature header, then per row an `i16` field count and per
//! field an `i32` length (-1 for NULL) and the value in the type's `send` format.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Time64MicrosecondType, TimestampMicrosecondType,
};
use arrow_array::{Array, ArrayRef, BooleanArray, PrimitiveArray};
use arrow_array::{BinaryArray, FixedSizeBinaryArray, ListArray, StringArray};
use arrow_buffer::NullBuffer;
use bytes::{BufMut, Bytes, BytesMut};
use ingest_core::PgType;

use crate::numeric::{put_decimal, put_decimal_text};

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";
/// Days from 1970-01-01 (Arrow's epoch) to 2000-01-01 (PostgreSQL's).
const PG_EPOCH_DAYS: i32 = 10_957;
const PG_EPOCH_MICROS: i64 = PG_EPOCH_DAYS as i64 * 86_400_000_000;

/// Encodes rows of typed columns for `COPY … FROM STDIN (FORMAT binary)`.
#[derive(Debug, Clone)]
pub struct CopyEncoder {
    types: Vec<PgType>,
    /// Append the row's source line as a last `int8` field (staging tables keep it to pick
    /// the last of duplicate keys).
    with_line: bool,
}

impl CopyEncoder {
    pub fn new(types: Vec<PgType>, with_line: bool) -> Self {
        CopyEncoder { types, with_line }
    }

    /// The stream header, sent once before the first row.
    pub fn header() -> Bytes {
        let mut b = BytesMut::with_capacity(19);
        b.put_slice(SIGNATURE);
        b.put_i32(0); // flags
        b.put_i32(0); // header extension length
        b.freeze()
    }

    /// The stream trailer, sent once after the last row.
    pub fn trailer() -> Bytes {
        Bytes::from_static(&[0xff, 0xff])
    }

    /// Encodes the rows `keep` selects (all when `None`). `columns` are in the encoder's
    /// type order with the types' `arrow_type()`; `lines` are the source lines of all rows.
    pub fn encode(
        &self,
        columns: &[ArrayRef],
        keep: Option<&[bool]>,
        lines: &[u64],
        out: &mut BytesMut,
    ) {
        self.encode_with(columns, &[], keep, lines, out);
    }

    /// [`CopyEncoder::encode`], where a valid slot of `overrides[c]` (a binary array, when
    /// there is one for column `c`) is written as the field's bytes in place of the
    /// column's value: values the server read (`PgType::Other`, spellings only it takes).
    pub fn encode_with(
        &self,
        columns: &[ArrayRef],
        overrides: &[Option<ArrayRef>],
        keep: Option<&[bool]>,
        lines: &[u64],
        out: &mut BytesMut,
    ) {
        let writers: Vec<Field> = columns
            .iter()
            .zip(&self.types)
            .map(|(a, t)| Field::new(a.as_ref(), t))
            .collect();
        let overrides: Vec<Option<&BinaryArray>> = (0..writers.len())
            .map(|c| {
                overrides
                    .get(c)
                    .and_then(Option::as_ref)
                    .map(|a| a.as_binary())
            })
            .collect();
        let nfields = (writers.len() + self.with_line as usize) as i16;
        let rows = lines.len();
        out.reserve(rows * (2 + writers.len() * 12));
        for row in 0..rows {
            if keep.is_some_and(|k| !k[row]) {
                continue;
            }
            out.put_i16(nfields);
            for (w, over) in writers.iter().zip(&overrides) {
                match over {
                    Some(bytes) if bytes.is_valid(row) => {
                        let value = bytes.value(row);
                        out.put_i32(value.len() as i32);
                        out.put_slice(value);
                    }
                    _ => w.write(row, out),
                }
            }
            if self.with_line {
                out.put_i32(8);
                out.put_i64(lines[row] as i64);
            }
        }
    }
}

/// One column of a batch, downcast to its concrete array.
enum ValueWriter<'a> {
    I16(&'a PrimitiveArray<Int16Type>),
    I32(&'a PrimitiveArray<Int32Type>),
    I64(&'a PrimitiveArray<Int64Type>),
    F32(&'a PrimitiveArray<Float32Type>),
    F64(&'a PrimitiveArray<Float64Type>),
    Bool(&'a BooleanArray),
    Decimal(&'a PrimitiveArray<Decimal128Type>, i8),
    NumericText(&'a StringArray),
    Text(&'a StringArray),
    Jsonb(&'a StringArray),
    Date(&'a PrimitiveArray<Date32Type>),
    Time(&'a PrimitiveArray<Time64MicrosecondType>),
    Timestamp(&'a PrimitiveArray<TimestampMicrosecondType>),
    Uuid(&'a FixedSizeBinaryArray),
    Bytea(&'a BinaryArray),
    Array {
        list: &'a ListArray,
        element_oid: u32,
        values: Box<Field<'a>>,
    },
}

/// A column (or an array's elements): its null bitmap, taken once, and its values.
struct Field<'a> {
    nulls: Option<&'a NullBuffer>,
    values: ValueWriter<'a>,
}

impl<'a> Field<'a> {
    fn new(array: &'a dyn Array, ty: &PgType) -> Self {
        Field {
            nulls: array.nulls(),
            values: ValueWriter::new(array, ty),
        }
    }

    fn is_null(&self, row: usize) -> bool {
        self.nulls.is_some_and(|n| n.is_null(row))
    }

    /// Writes one field: its length and value, or -1 for NULL.
    fn write(&self, row: usize, out: &mut BytesMut) {
        if self.is_null(row) {
            out.put_i32(-1);
        } else {
            self.values.write(row, out);
        }
    }
}

impl<'a> ValueWriter<'a> {
    fn new(array: &'a dyn Array, ty: &PgType) -> Self {
        match ty {
            PgType::Int2 => ValueWriter::I16(array.as_primitive()),
            PgType::Int4 => ValueWriter::I32(array.as_primitive()),
            PgType::Int8 => ValueWriter::I64(array.as_primitive()),
            PgType::Float4 => ValueWriter::F32(array.as_primitive()),
            PgType::Float8 => ValueWriter::F64(array.as_primitive()),
            PgType::Bool => ValueWriter::Bool(array.as_boolean()),
            PgType::Numeric { .. } => match array.as_primitive_opt::<Decimal128Type>() {
                Some(d) => ValueWriter::Decimal(d, d.scale()),
                None => ValueWriter::NumericText(array.as_string()),
            },
            PgType::Jsonb => ValueWriter::Jsonb(array.as_string()),
            PgType::Text
            | PgType::Varchar { .. }
            | PgType::Bpchar { .. }
            | PgType::Json
            | PgType::Enum { .. } => ValueWriter::Text(array.as_string()),
            PgType::Date => ValueWriter::Date(array.as_primitive()),
            PgType::Time => ValueWriter::Time(array.as_primitive()),
            PgType::Timestamp | PgType::Timestamptz => ValueWriter::Timestamp(array.as_primitive()),
            PgType::Uuid => ValueWriter::Uuid(array.as_fixed_size_binary()),
            // The server's send output is the field's bytes, as bytea's are.
            PgType::Bytea | PgType::Other { .. } => ValueWriter::Bytea(array.as_binary()),
            PgType::Array {
                element,
                element_oid,
            } => {
                let list = array.as_list::<i32>();
                ValueWriter::Array {
                    list,
                    element_oid: *element_oid,
                    values: Box::new(Field::new(list.values().as_ref(), element)),
                }
            }
        }
    }

    /// Writes the value of a non-NULL field: its length and its bytes.
    fn write(&self, row: usize, out: &mut BytesMut) {
        match self {
            ValueWriter::I16(a) => {
                out.put_i32(2);
                out.put_i16(a.value(row));
            }
            ValueWriter::I32(a) => {
                out.put_i32(4);
                out.put_i32(a.value(row));
            }
            ValueWriter::I64(a) => {
                out.put_i32(8);
                out.put_i64(a.value(row));
            }
            ValueWriter::F32(a) => {
                out.put_i32(4);
                out.put_f32(a.value(row));
            }
            ValueWriter::F64(a) => {
                out.put_i32(8);
                out.put_f64(a.value(row));
            }
            ValueWriter::Bool(a) => {
                out.put_i32(1);
                out.put_u8(a.value(row) as u8);
            }
            ValueWriter::Decimal(a, scale) => {
                with_length(out, |out| put_decimal(out, a.value(row), *scale))
            }
            ValueWriter::NumericText(a) => {
                with_length(out, |out| put_decimal_text(out, a.value(row)))
            }
            ValueWriter::Text(a) => put_bytes(out, a.value(row).as_bytes()),
            ValueWriter::Jsonb(a) => {
                let v = a.value(row).as_bytes();
                out.put_i32(v.len() as i32 + 1);
                out.put_u8(1); // jsonb binary format version
                out.put_slice(v);
            }
            ValueWriter::Date(a) => {
                out.put_i32(4);
                out.put_i32(a.value(row) - PG_EPOCH_DAYS);
            }
            ValueWriter::Time(a) => {
                out.put_i32(8);
                out.put_i64(a.value(row));
            }
            ValueWriter::Timestamp(a) => {
                out.put_i32(8);
                out.put_i64(a.value(row) - PG_EPOCH_MICROS);
            }
            ValueWriter::Uuid(a) => put_bytes(out, a.value(row)),
            ValueWriter::Bytea(a) => put_bytes(out, a.value(row)),
            ValueWriter::Array {
                list,
                element_oid,
                values,
            } => {
                with_length(out, |out| {
                    let offsets = list.value_offsets();
                    let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
                    let has_null = (start..end).any(|i| values.is_null(i));
                    out.put_i32(if start == end { 0 } else { 1 }); // dimensions
                    out.put_i32(has_null as i32);
                    out.put_u32(*element_oid);
                    if start != end {
                        out.put_i32((end - start) as i32);
                        out.put_i32(1); // lower bound
                    }
                    for i in start..end {
                        values.write(i, out);
                    }
                });
            }
        }
    }
}

fn put_bytes(out: &mut BytesMut, v: &[u8]) {
    out.put_i32(v.len() as i32);
    out.put_slice(v);
}

/// Writes a length placeholder, the value, then patches the length in.
fn with_length(out: &mut BytesMut, write: impl FnOnce(&mut BytesMut)) {
    let at = out.len();
    out.put_i32(0);
    write(out);
    let len = (out.len() - at - 4) as i32;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
}
