-- 0009: stream consumers. Each consumer's position in each partition of its source (a
-- Kafka offset, a JetStream stream sequence, a Redis entry id), written in the same
-- transaction as the batch it ends, with a compare-and-set on the position the batch
-- started from; and, for queues without positions (RabbitMQ), the message ids loaded, so
-- a redelivered message is a no-op.
CREATE TABLE {schema}.stream_positions (
    consumer    text NOT NULL,
    -- The broker (without credentials) and the topic, stream or queue.
    source      text NOT NULL,
    -- A Kafka partition's number; '' for a stream with one.
    partition   text NOT NULL,
    position    text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, source, partition)
);

CREATE TABLE {schema}.stream_seen (
    consumer    text NOT NULL,
    source      text NOT NULL,
    message_id  text NOT NULL,
    seen_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, source, message_id)
);
