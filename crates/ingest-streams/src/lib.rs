//! Streams into PostgreSQL, exactly once: a consumer ([`consume()`]) reads a broker in
//! micro-batches, and each batch is one load (the engine's typing, rules, rejects and
//! modes), with the consumer's positions ([`positions`]) and its dead letters
//! ([`dead_letter`]) written in that load's transaction. A consumer killed at any moment
//! starts again from the positions of the last batch committed: no message is lost or
//! loaded twice.
//!
//! Brokers: Kafka ([`kafka_topic`], rskafka), RabbitMQ ([`amqp_queue`], lapin: acked after
//! the commit, message ids remembered), NATS JetStream ([`nats_stream`]) and Redis Streams
//! ([`redis_stream`]). Messages are JSON records
//! ([`message`]): an object, an array of them, or NDJSON.
//!
//! It depends on the load (and below), never on the server or the binary.

pub mod amqp_queue;
mod broker;
mod consume;
pub mod dead_letter;
pub mod kafka_topic;
pub mod message;
pub mod nats_stream;
pub mod positions;
pub mod redis_stream;

pub use consume::{ConsumeError, ConsumeOptions, ConsumeStats, consume, parse_byte_size};
