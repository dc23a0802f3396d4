-- 0001: the queue. One row per job: its state machine, the request that made it, the
-- lease of the worker running it, progress while it runs and its outcome.
--
-- States: pending_upload (an upload job waiting for its body) -> queued -> running ->
-- succeeded | failed | cancelled; a failed attempt that may succeed on retry goes back to
-- queued with run_after in the future (exponential backoff with jitter).
CREATE TABLE {schema}.jobs (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind               text NOT NULL DEFAULT 'load' CHECK (kind IN ('load', 'export')),
    state              text NOT NULL CHECK (state IN
                         ('pending_upload', 'queued', 'running', 'succeeded', 'failed', 'cancelled')),
    -- The request as the API received it (source, target, mode, options).
    payload            jsonb NOT NULL,
    -- `schema.table`, kept apart for listing by table and for token checks.
    target_table       text,
    -- The client's Idempotency-Key and a hash of the request it came with: the same key
    -- with the same request is the same job; with another request, a conflict.
    idempotency_key    text UNIQUE,
    request_hash       text,
    attempt            int NOT NULL DEFAULT 0,
    max_attempts       int NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    -- Not claimed before this (a retry's backoff).
    run_after          timestamptz NOT NULL DEFAULT now(),
    -- The worker holding the job, and until when: an expired lease returns it to the queue.
    lease_owner        text,
    lease_expires_at   timestamptz,
    cancel_requested   boolean NOT NULL DEFAULT false,
    -- Bytes and rows so far, updated by the worker's heartbeat.
    progress           jsonb NOT NULL DEFAULT '{}',
    -- The load's summary once it ended (inserted, updated, unchanged, rejected...).
    stats              jsonb,
    error              text,
    -- One entry per failed attempt: {attempt, error, retriable, at}.
    attempt_errors     jsonb NOT NULL DEFAULT '[]',
    created_at         timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    finished_at        timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- The claim: the oldest due queued job.
CREATE INDEX jobs_due ON {schema}.jobs (run_after, created_at) WHERE state = 'queued';
-- The rescuer: running jobs whose lease ran out.
CREATE INDEX jobs_leases ON {schema}.jobs (lease_expires_at) WHERE state = 'running';
-- Listing, newest first, and by table.
CREATE INDEX jobs_newest ON {schema}.jobs (created_at DESC, id DESC);
CREATE INDEX jobs_by_table ON {schema}.jobs (target_table, created_at DESC);

-- Rejected rows of a job's last attempt (line or row, column, raw value, reason).
CREATE TABLE {schema}.job_errors (
    job_id       uuid NOT NULL REFERENCES {schema}.jobs (id) ON DELETE CASCADE,
    seq          bigint NOT NULL,
    line         bigint NOT NULL,
    column_name  text,
    value        text,
    reason       text NOT NULL,
    file         text,
    PRIMARY KEY (job_id, seq)
);

-- What happened to a job, in order: for the events stream and for audits.
CREATE TABLE {schema}.job_events (
    id       bigserial PRIMARY KEY,
    job_id   uuid NOT NULL REFERENCES {schema}.jobs (id) ON DELETE CASCADE,
    at       timestamptz NOT NULL DEFAULT now(),
    kind     text NOT NULL,
    data     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX job_events_by_job ON {schema}.job_events (job_id, id);

-- Bearer tokens: only a hash is kept; `tables` are patterns (`public.orders`, `staging.*`).
CREATE TABLE {schema}.api_tokens (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE,
    token_hash  bytea NOT NULL UNIQUE,
    tables      text[] NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
