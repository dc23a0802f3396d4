-- 0010: a stream consumer run by the service is a job of kind 'stream': it holds its lease
-- by heartbeat for as long as it consumes, its progress is the consumer's counters, and
-- stopping it is cancelling it (the batch in flight rolls back and is read again later).
ALTER TABLE {schema}.jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE {schema}.jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('load', 'export', 'pull', 'stream'));
