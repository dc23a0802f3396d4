//! The vocabulary of a load, with no I/O.
//!
//! - [`PgType`] is a target column's PostgreSQL type as the engine understands it, and
//!   [`PgType::arrow_type`] is the Arrow type its values travel in between stages.
//! - [`Column`] and [`TableSchema`] describe a target table as read from the catalog.
//! - [`TextFormat`] says how text spells values (NULL marker, decimal comma, date formats,
//!   the time zone of naive timestamps); [`TextFormat::pt_br`] is the Brazilian profile.
//! - [`coerce::coerce_column`] turns a column of raw text into a typed Arrow array plus the
//!   [`CellError`]s of the values that do not fit; rows with an error are null in the array.
//! - [`cast_column`] casts a typed Arrow column (Parquet, Avro) to a target type, under
//!   the same rules.
//! - [`infer::TextColumnGuess`] judges the narrowest type a text column's sampled values
//!   fit (with the same coercion), and [`infer::pg_type_of_field`] the type a typed
//!   source's field declares: what `ingest infer` and `--create` make tables with.
//!
//! Everything else stands on this crate, and it stands on nothing of ours: no files, no
//! network, no database.

pub mod cast;
pub mod coerce;
mod column;
pub mod infer;
mod pg_type;
mod text_format;

pub use cast::{cast_column, castable};
pub use coerce::{CellError, Coerced, coerce_column};
pub use column::{Column, TableSchema, loose_name};
pub use pg_type::PgType;
pub use text_format::TextFormat;
