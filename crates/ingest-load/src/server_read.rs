//! Stage two's second opinion: a value the engine's own parsers refuse goes to the server
//! (see `ingest_pg::ServerCast`) when PostgreSQL's input function might take it, so a load
//! accepts exactly what `COPY` accepts: types without an encoder here (interval, inet,
//! ranges...), and spellings only the server knows (`Jan 2 2025`, `infinity`, `1999-12-31
//! BC`, `allballs`, multi-dimensional arrays). What the server takes is sent as its binary
//! form; what it refuses is a reject with its own message.
//!
//! Never asked: a numeric that would need rounding, a text too long for its column, a
//! word that depends on the clock (`now`, `today`) or sub-microsecond digits, which the
//! engine refuses on purpose where the server would round or guess.

use std::sync::{Arc, Mutex};

use arrow_array::builder::BinaryBuilder;
use arrow_array::{Array, ArrayRef, StringArray};
use ingest_core::{Coerced, PgType};
use ingest_pg::{PgError, ServerCast};
use tokio::runtime::Handle;

/// The server, as stage two's thread reaches it.
#[derive(Clone)]
pub(crate) struct ServerRead {
    cast: Arc<Mutex<ServerCast>>,
    handle: Handle,
}

impl ServerRead {
    pub(crate) fn new(cast: ServerCast, handle: Handle) -> Self {
        ServerRead {
            cast: Arc::new(Mutex::new(cast)),
            handle,
        }
    }

    /// Asks the server about the values of `raw` that `coerced` refused and it may take.
    /// Their errors go; what the server refuses keeps an error with its reason. Returns the
    /// binary forms of the values it took (valid only at their rows), if any; an error
    /// when the server could not be asked at all.
    pub(crate) fn second_opinion(
        &self,
        ty: &PgType,
        raw: &StringArray,
        coerced: &mut Coerced,
    ) -> Result<Option<ArrayRef>, PgError> {
        let is_asked = |row: usize| !raw.is_null(row) && may_take(ty, raw.value(row));
        // Each distinct value once.
        let mut distinct: Vec<&str> = coerced
            .errors
            .iter()
            .filter(|e| is_asked(e.row))
            .map(|e| raw.value(e.row))
            .collect();
        if distinct.is_empty() {
            return Ok(None);
        }
        distinct.sort_unstable();
        distinct.dedup();
        let type_name = ty.to_string();
        let answers = {
            let mut cast = self.cast.lock().expect("server cast");
            self.handle.block_on(cast.binary(&type_name, &distinct))
        };
        let answers = answers?;
        let answer_of = |row: usize| {
            let i = distinct
                .binary_search(&raw.value(row))
                .expect("asked values are in distinct");
            &answers[i]
        };
        let mut taken = vec![None; raw.len()];
        // Every value of a column only the server reads is an error here: a lookup per
        // error, never a scan of the others.
        for e in coerced.errors.iter_mut() {
            if !is_asked(e.row) {
                continue;
            }
            match answer_of(e.row) {
                Ok(bytes) => taken[e.row] = Some(bytes.as_slice()),
                Err(reason) => e.reason = reason.clone(),
            }
        }
        coerced.errors.retain(|e| taken[e.row].is_none());
        if taken.iter().all(Option::is_none) {
            return Ok(None);
        }
        let mut builder = BinaryBuilder::with_capacity(raw.len(), 0);
        for value in taken {
            builder.append_option(value);
        }
        Ok(Some(Arc::new(builder.finish())))
    }
}

/// Whether PostgreSQL's input function may take a value the engine refused.
fn may_take(ty: &PgType, text: &str) -> bool {
    match ty {
        PgType::Other { .. } => true,
        // Refused on purpose: rounding, length, labels and JSON are the server's rules too.
        PgType::Numeric { .. }
        | PgType::Text
        | PgType::Varchar { .. }
        | PgType::Bpchar { .. }
        | PgType::Enum { .. }
        | PgType::Json
        | PgType::Jsonb => false,
        PgType::Date | PgType::Time | PgType::Timestamp | PgType::Timestamptz => {
            !depends_on_the_clock(text) && !sub_microsecond(text)
        }
        PgType::Array { element, .. } => !matches!(
            element.as_ref(),
            PgType::Numeric { .. } | PgType::Varchar { .. } | PgType::Bpchar { .. }
        ),
        PgType::Int2
        | PgType::Int4
        | PgType::Int8
        | PgType::Float4
        | PgType::Float8
        | PgType::Bool
        | PgType::Uuid
        | PgType::Bytea => true,
    }
}

/// `now`, `today`, `tomorrow`, `yesterday`, `current…`: a value that changes with the
/// clock is no data.
fn depends_on_the_clock(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    ["now", "today", "tomorrow", "yesterday", "current"]
        .iter()
        .any(|w| t.contains(w))
}

/// More than six digits after a seconds' decimal point: the server would round them.
fn sub_microsecond(text: &str) -> bool {
    text.split('.')
        .skip(1)
        .any(|frac| frac.chars().take_while(char::is_ascii_digit).count() > 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_the_server_may_take_is_asked() {
        assert!(may_take(&PgType::Date, "Jan 2 2025"));
        assert!(may_take(&PgType::Timestamp, "infinity"));
        assert!(!may_take(&PgType::Date, "today"));
        assert!(!may_take(&PgType::Timestamp, "2025-01-02 03:04:05.1234567"));
        assert!(may_take(&PgType::Timestamp, "2025-01-02 03:04:05.123456"));
        assert!(!may_take(&PgType::numeric(5, 2), "1.234"));
        assert!(may_take(
            &PgType::Other {
                name: "inet".into()
            },
            "::1"
        ));
    }
}
