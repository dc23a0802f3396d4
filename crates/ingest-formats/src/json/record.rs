//! One JSON record: its keys and each value as the text the coercion reads.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// Keys in the order written, each with its value as text (`None` for `null`).
pub(super) type Record<'a> = Vec<(Cow<'a, str>, Option<Cow<'a, str>>)>;

/// Parses one JSON value that must be an object.
pub(super) fn parse_record(bytes: &[u8]) -> Result<Record<'_>, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let pairs = de.deserialize_any(PairsVisitor).map_err(|e| {
        let e = e.to_string();
        // serde_json counts lines and columns from the record's first byte: leave them out.
        match e.find(" at line ") {
            Some(i) => format!("invalid JSON: {}", &e[..i]),
            None => format!("invalid JSON: {e}"),
        }
    })?;
    let pairs = pairs.ok_or_else(|| "not a JSON object".to_string())?;
    pairs
        .into_iter()
        .map(|(k, v)| Ok((k, value_text(v)?)))
        .collect()
}

/// The text of one value: what a CSV field holding it would say.
fn value_text(v: &RawValue) -> Result<Option<Cow<'_, str>>, String> {
    let raw = v.get();
    Ok(match raw.as_bytes()[0] {
        b'n' => None,
        b'"' => Some(
            serde_json::from_str::<CowStr<'_>>(raw)
                .map_err(|e| format!("invalid JSON: {e}"))?
                .0,
        ),
        _ => Some(Cow::Borrowed(raw)),
    })
}

type Pairs<'a> = Option<Vec<(Cow<'a, str>, &'a RawValue)>>;

/// Collects an object's pairs in order, borrowing from the input; anything but an object
/// gives `None`.
struct PairsVisitor;

impl<'de> Visitor<'de> for PairsVisitor {
    type Value = Pairs<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(CowStr(key)) = map.next_key::<CowStr<'de>>()? {
            let value: &'de RawValue = map.next_value()?;
            pairs.push((key, value));
        }
        Ok(Some(pairs))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A string borrowed from the input when it has no escapes (serde's own `Cow<str>` always
/// copies).
struct CowStr<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}
