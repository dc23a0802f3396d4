//! A footer some writer filled with its own fields, made readable: a column chunk's
//! metadata field whose wire type is not the one the Parquet format gives that field (Dremio
//! writes a list of structs where field 15, `bloom_filter_length`, is an `i32`) is dropped,
//! as a Thrift reader skips a field it does not know. The parquet crate refuses such a
//! footer outright; pyarrow reads it. Used only when the footer fails to parse as it is.
//!
//! Written here rather than taken from a Thrift library: it needs the compact protocol's
//! untyped structure (to copy what it does not understand) and one rule, nothing else.

/// A value of the Thrift compact protocol, kept as read.
enum Value {
    Bool(bool),
    /// byte, i16, i32, i64 (zigzag varints but byte), with the wire type.
    Int(u8, i64),
    Double([u8; 8]),
    Binary(Vec<u8>),
    /// list (9) or set (10; the field header keeps which): the elements' type and the
    /// elements.
    List(u8, Vec<Value>),
    Map(u8, u8, Vec<(Value, Value)>),
    Struct(Vec<(i16, u8, Value)>),
}

const LIST: u8 = 9;
const STRUCT: u8 = 12;

/// The wire type the format gives each `ColumnMetaData` field: i32 (5), i64 (6), list
/// (9), binary (8), struct (12).
fn column_meta_type(field: i16) -> Option<u8> {
    Some(match field {
        1 | 4 | 15 => 5,
        5..=7 | 9..=11 | 14 => 6,
        2 | 3 | 8 | 13 => LIST,
        12 | 16 | 17 => STRUCT,
        _ => return None,
    })
}

/// The footer with the column chunks' mistyped fields dropped, or `None` when it does not
/// even parse as Thrift (or had nothing to drop).
pub(crate) fn sanitized(footer: &[u8]) -> Option<Vec<u8>> {
    let mut reader = Reader {
        buf: footer,
        pos: 0,
    };
    let Value::Struct(mut file) = reader.structure(0)? else {
        return None;
    };
    let mut dropped = false;
    // FileMetaData.4 row_groups -> RowGroup.1 columns -> ColumnChunk.3 meta_data
    for (_, _, row_groups) in file.iter_mut().filter(|f| f.0 == 4) {
        let Value::List(_, row_groups) = row_groups else {
            continue;
        };
        for rg in row_groups {
            for chunk in list_field(rg, 1) {
                if let Value::Struct(fields) = chunk {
                    for (_, _, meta) in fields.iter_mut().filter(|f| f.0 == 3) {
                        if let Value::Struct(meta) = meta {
                            let before = meta.len();
                            meta.retain(|(id, ty, _)| {
                                column_meta_type(*id).is_none_or(|t| t == *ty)
                            });
                            dropped |= meta.len() != before;
                        }
                    }
                }
            }
        }
    }
    if !dropped {
        return None;
    }
    let mut out = Vec::with_capacity(footer.len());
    write_struct(&mut out, &file);
    Some(out)
}

/// The elements of list field `id` of a struct.
fn list_field(value: &mut Value, id: i16) -> impl Iterator<Item = &mut Value> {
    let items: Option<&mut Vec<Value>> = match value {
        Value::Struct(fields) => {
            fields
                .iter_mut()
                .find(|f| f.0 == id)
                .and_then(|(_, _, v)| match v {
                    Value::List(_, items) => Some(items),
                    _ => None,
                })
        }
        _ => None,
    };
    items.into_iter().flatten()
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// Nesting deeper than this is no footer: refused rather than recursed into.
const MAX_DEPTH: usize = 64;

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn zigzag(&mut self) -> Option<i64> {
        let v = self.varint()?;
        Some((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn value(&mut self, ty: u8, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        Some(match ty {
            1 | 2 => Value::Bool(ty == 1),
            3 => Value::Int(3, i64::from(self.byte()? as i8)),
            4..=6 => Value::Int(ty, self.zigzag()?),
            7 => {
                let bytes = self.buf.get(self.pos..self.pos + 8)?;
                self.pos += 8;
                Value::Double(bytes.try_into().ok()?)
            }
            8 => {
                let len = usize::try_from(self.varint()?).ok()?;
                let bytes = self.buf.get(self.pos..self.pos.checked_add(len)?)?;
                self.pos += len;
                Value::Binary(bytes.to_vec())
            }
            9 | 10 => {
                let head = self.byte()?;
                let elem = head & 0x0f;
                let mut len = u64::from(head >> 4);
                if len == 15 {
                    len = self.varint()?;
                }
                // Every element takes at least a byte: a longer list is no footer.
                if len > (self.buf.len() - self.pos) as u64 {
                    return None;
                }
                let mut items = Vec::with_capacity(len as usize);
                for _ in 0..len {
                    // In a list, booleans are a byte each.
                    items.push(match elem {
                        1 | 2 => Value::Bool(self.byte()? == 1),
                        _ => self.value(elem, depth + 1)?,
                    });
                }
                Value::List(elem, items)
            }
            11 => {
                let len = self.varint()?;
                if len == 0 {
                    return Some(Value::Map(0, 0, Vec::new()));
                }
                if len > (self.buf.len() - self.pos) as u64 {
                    return None;
                }
                let types = self.byte()?;
                let (k, v) = (types >> 4, types & 0x0f);
                let mut entries = Vec::with_capacity(len as usize);
                for _ in 0..len {
                    entries.push((self.value(k, depth + 1)?, self.value(v, depth + 1)?));
                }
                Value::Map(k, v, entries)
            }
            STRUCT => self.structure(depth + 1)?,
            _ => return None,
        })
    }

    fn structure(&mut self, depth: usize) -> Option<Value> {
        let mut fields = Vec::new();
        let mut last = 0i16;
        loop {
            let head = self.byte()?;
            if head == 0 {
                return Some(Value::Struct(fields));
            }
            let ty = head & 0x0f;
            let delta = i16::from(head >> 4);
            let id = match delta {
                0 => i16::try_from(self.zigzag()?).ok()?,
                d => last.checked_add(d)?,
            };
            last = id;
            fields.push((id, ty, self.value(ty, depth)?));
        }
    }
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn write_zigzag(out: &mut Vec<u8>, v: i64) {
    write_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn write_value(out: &mut Vec<u8>, value: &Value, in_list: bool) {
    match value {
        // A struct's booleans live in their field header; a list's take a byte.
        Value::Bool(b) if in_list => out.push(if *b { 1 } else { 2 }),
        Value::Bool(_) => {}
        Value::Int(3, v) => out.push(*v as u8),
        Value::Int(_, v) => write_zigzag(out, *v),
        Value::Double(bytes) => out.extend_from_slice(bytes),
        Value::Binary(bytes) => {
            write_varint(out, bytes.len() as u64);
            out.extend_from_slice(bytes);
        }
        Value::List(elem, items) => {
            if items.len() < 15 {
                out.push(((items.len() as u8) << 4) | elem);
            } else {
                out.push(0xf0 | elem);
                write_varint(out, items.len() as u64);
            }
            for item in items {
                write_value(out, item, true);
            }
        }
        Value::Map(k, v, entries) => {
            write_varint(out, entries.len() as u64);
            if !entries.is_empty() {
                out.push((k << 4) | v);
            }
            for (key, val) in entries {
                write_value(out, key, false);
                write_value(out, val, false);
            }
        }
        Value::Struct(fields) => write_struct(out, fields),
    }
}

fn write_struct(out: &mut Vec<u8>, fields: &[(i16, u8, Value)]) {
    let mut last = 0i16;
    for (id, ty, value) in fields {
        let ty = match value {
            Value::Bool(b) => {
                if *b {
                    1
                } else {
                    2
                }
            }
            _ => *ty,
        };
        let delta = id - last;
        if (1..=15).contains(&delta) {
            out.push(((delta as u8) << 4) | ty);
        } else {
            out.push(ty);
            write_zigzag(out, i64::from(*id));
        }
        last = *id;
        write_value(out, value, false);
    }
    out.push(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A struct { 1: i32 7, 2: list<i64> [1, -2], 3: { 1: bool true }, 5: binary "ab" }
    /// survives a read and a write byte for byte.
    #[test]
    fn the_compact_protocol_round_trips() {
        let bytes = [
            0x15, 0x0e, // field 1 i32: 7
            0x19, 0x26, 0x02, 0x03, // field 2 list<i64> [1, -2]
            0x1c, 0x11, 0x00, // field 3 struct { 1: true }
            0x28, 0x02, b'a', b'b', // field 5 binary
            0x00,
        ];
        let mut reader = Reader {
            buf: &bytes,
            pos: 0,
        };
        let Some(Value::Struct(fields)) = reader.structure(0) else {
            panic!("not read");
        };
        let mut out = Vec::new();
        write_struct(&mut out, &fields);
        assert_eq!(out, bytes);
        // Truncated or garbage input is refused, never a panic.
        for cut in 0..bytes.len() {
            let mut r = Reader {
                buf: &bytes[..cut],
                pos: 0,
            };
            assert!(r.structure(0).is_none());
        }
        assert!(sanitized(&bytes).is_none(), "nothing to drop");
    }
}
