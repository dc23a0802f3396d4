//! One load, from a file to a committed (or untouched) table.

mod delivery;
mod error;
mod glob;
mod input;
mod key_hash;
mod multi_source;
mod open;
mod plan;
mod rejects;
mod request;
mod run;
mod sent_lines;
pub mod source;
pub mod store;
mod summary;
pub mod transform;
mod typed_source;

pub use error::LoadError;
pub use plan::{ColumnPlan, PlanError, plan_columns};
pub use rejects::{Reject, RejectLimit, RejectSink};
pub use request::{BeforeCommit, LoadRequest, TextOptions};
pub use run::run;
pub use store::DEFAULT_READ_TIMEOUT;
pub use summary::LoadSummary;
