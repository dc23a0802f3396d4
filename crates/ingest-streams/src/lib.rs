//! Streams into PostgreSQL, exactly once: a consumer ([`consume()`]) reads a broker in
//! micro-batches, and each batch is one load (the engine's typing, rules, rejects and
//! modes), with the consumer's positions ([`positions`]) and its dead letters
//! ([`dead_letter`]) written in that load's transaction. A consumer killed at any moment
//! starts again from the positions of the last batch committed: no message is lost or
//! loaded twice.
//!
//! Brokers so far: Redis Streams ([`redis_stream`]). Messages are JSON records
//! ([`message`]): an object, an array of them, or NDJSON.
//!
//! It depends on the load (and below), never on the server or the binary.

mod consume;
pub mod dead_letter;
pub mod message;
pub mod positions;
pub mod redis_stream;

pub use consume::{ConsumeError, ConsumeOptions, ConsumeStats, consume};
