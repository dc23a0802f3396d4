-- 0005: pull sources' cursors. The largest cursor value (and tie-breaker) a source's runs
-- have loaded, written in the same transaction as the rows it covers: a run that fails
-- leaves both as they were, and the next run reads the same window again.
CREATE TABLE {schema}.source_cursors (
    name        text PRIMARY KEY,
    cursor      jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
