//! Proof, without asking the database, that no key occurs twice in a file.
//!
//! Each kept row's key is hashed from its coerced value (so `1` and `01` are the same key,
//! as they are to PostgreSQL). If no two hashes are equal, no two keys are equal and the
//! server-side duplicate pass is skipped; an equal pair (a real duplicate, or a 64-bit
//! collision) sends the load through that pass as before. Costs 8 bytes per row.

use std::hash::{DefaultHasher, Hash, Hasher};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Int16Type, Int32Type, Int64Type, Time64MicrosecondType,
    TimestampMicrosecondType,
};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType};
use arrow_schema::DataType;
use ingest_core::PgType;

use crate::transform::MappedColumn;

/// One key column to hash: its index among the coerced arrays, and whether trailing
/// blanks are left out of the hash (`varchar(n)` drops blanks beyond `n`, so `"ab "` and
/// `"ab"` may be one key: hashing them alike sends the pair to the exact server check).
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyColumn {
    pub index: usize,
    pub trim_blanks: bool,
}

impl KeyColumn {
    /// The key column at `index`, or `None` when its values cannot be hashed exactly.
    pub(crate) fn of(index: usize, col: &MappedColumn) -> Option<KeyColumn> {
        (col.byte_equality && hashable(&col.pg_type)).then_some(KeyColumn {
            index,
            trim_blanks: matches!(col.pg_type, PgType::Varchar { max_chars: Some(_) }),
        })
    }
}

/// Whether equality of the coerced value is PostgreSQL's equality for this type. Floats
/// (`-0 = 0`), unconstrained numerics (`1.0 = 1.00`), `char(n)` (trailing blanks), json
/// and arrays are left to the server.
pub(crate) fn hashable(t: &PgType) -> bool {
    match t {
        PgType::Numeric { .. } => matches!(t.arrow_type(), arrow_schema::DataType::Decimal128(..)),
        PgType::Int2
        | PgType::Int4
        | PgType::Int8
        | PgType::Bool
        | PgType::Text
        | PgType::Varchar { .. }
        | PgType::Enum { .. }
        | PgType::Date
        | PgType::Time
        | PgType::Timestamp
        | PgType::Timestamptz
        | PgType::Uuid
        | PgType::Bytea => true,
        _ => false,
    }
}

/// Appends the hash of each kept row's key (the `key` columns of `arrays`) to `out`.
pub(crate) fn hash_keys(arrays: &[ArrayRef], key: &[KeyColumn], keep: &[bool], out: &mut Vec<u64>) {
    // Each column's concrete array is found once per batch, not once per value.
    let hashers: Vec<ValueHasher> = key
        .iter()
        .map(|k| value_hasher(arrays[k.index].as_ref(), k.trim_blanks))
        .collect();
    for (row, kept) in keep.iter().enumerate() {
        if !*kept {
            continue;
        }
        let mut h = DefaultHasher::new();
        for hash_value in &hashers {
            hash_value(row, &mut h);
        }
        out.push(h.finish());
    }
}

type ValueHasher<'a> = Box<dyn Fn(usize, &mut DefaultHasher) + 'a>;

/// Feeds one row's value of `a` (or a NULL marker) to a hasher.
fn value_hasher(a: &dyn Array, trim_blanks: bool) -> ValueHasher<'_> {
    fn of<'a, T: Hash + ?Sized + 'a>(
        a: &'a dyn Array,
        value: impl Fn(usize) -> &'a T + 'a,
    ) -> ValueHasher<'a> {
        let nulls = a.nulls();
        Box::new(move |row, h| match nulls.is_some_and(|n| n.is_null(row)) {
            true => 0u8.hash(h),
            false => {
                1u8.hash(h);
                value(row).hash(h)
            }
        })
    }
    fn primitive<'a, T: ArrowPrimitiveType>(a: &'a dyn Array) -> ValueHasher<'a>
    where
        T::Native: Hash,
    {
        let values = a.as_primitive::<T>().values();
        of(a, move |row| &values[row])
    }
    match a.data_type() {
        DataType::Int16 => primitive::<Int16Type>(a),
        DataType::Int32 => primitive::<Int32Type>(a),
        DataType::Int64 => primitive::<Int64Type>(a),
        DataType::Decimal128(..) => primitive::<Decimal128Type>(a),
        DataType::Date32 => primitive::<Date32Type>(a),
        DataType::Time64(_) => primitive::<Time64MicrosecondType>(a),
        DataType::Timestamp(..) => primitive::<TimestampMicrosecondType>(a),
        DataType::Utf8 => {
            let s = a.as_string::<i32>();
            match trim_blanks {
                true => of(a, move |row| s.value(row).trim_end_matches(' ')),
                false => of(a, move |row| s.value(row)),
            }
        }
        DataType::Boolean => {
            let b = a.as_boolean();
            of(a, move |row| if b.value(row) { &true } else { &false })
        }
        DataType::FixedSizeBinary(_) => {
            let f = a.as_fixed_size_binary();
            of(a, move |row| f.value(row))
        }
        DataType::Binary => {
            let b = a.as_binary::<i32>();
            of(a, move |row| b.value(row))
        }
        other => unreachable!("hash_keys is only used for types hashable() accepts, not {other}"),
    }
}

/// True when no two hashes are equal (then no two keys are).
pub(crate) fn all_distinct(hashes: &mut [u64]) -> bool {
    hashes.sort_unstable();
    hashes.windows(2).all(|w| w[0] != w[1])
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, StringArray};

    use super::*;

    #[test]
    fn equal_keys_hash_equal_and_are_found() {
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), Some(2), Some(1), None]));
        let names: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "b", "a"]));
        let k = |index| KeyColumn {
            index,
            trim_blanks: false,
        };
        let mut by_id = Vec::new();
        hash_keys(std::slice::from_ref(&ids), &[k(0)], &[true; 4], &mut by_id);
        assert!(!all_distinct(&mut by_id));
        let mut by_pair = Vec::new();
        hash_keys(
            &[ids.clone(), names],
            &[k(0), k(1)],
            &[true; 4],
            &mut by_pair,
        );
        assert!(all_distinct(&mut by_pair));
        // A rejected row does not count.
        let mut kept = Vec::new();
        hash_keys(&[ids], &[k(0)], &[true, true, false, true], &mut kept);
        assert!(all_distinct(&mut kept));
    }

    #[test]
    fn varchar_keys_that_postgres_may_truncate_alike_hash_alike() {
        let v: ArrayRef = Arc::new(StringArray::from(vec!["ab", "ab "]));
        let mut out = Vec::new();
        hash_keys(
            &[v],
            &[KeyColumn {
                index: 0,
                trim_blanks: true,
            }],
            &[true; 2],
            &mut out,
        );
        assert!(!all_distinct(&mut out));
    }

    #[test]
    fn types_with_looser_equality_are_left_to_the_server() {
        assert!(hashable(&PgType::Int8));
        assert!(hashable(&PgType::Numeric {
            precision: Some(10),
            scale: Some(2)
        }));
        assert!(!hashable(&PgType::Numeric {
            precision: None,
            scale: None
        }));
        assert!(!hashable(&PgType::Float8));
        assert!(!hashable(&PgType::Bpchar { chars: Some(3) }));
    }
}
