-- 0008: batches of records posted with an Idempotency-Key (POST /v1/tables/{table}/records),
-- recorded in the transaction that wrote their rows: a retried POST finds the batch and
-- answers the same, without loading it twice.
CREATE TABLE {schema}.record_batches (
    idempotency_key  text PRIMARY KEY,
    target_table     text NOT NULL,
    request_hash     text NOT NULL,
    response         jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
