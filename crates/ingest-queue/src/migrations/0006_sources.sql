-- 0006: pull sources registered with the service, their schedules and their runs.
--
-- A source's spec is kept as it was given: its secrets stay `${env:NAME}` references,
-- resolved by the worker that runs it. Each scheduled tick is recorded once (its primary
-- key is the source and the scheduled time, so two processes ticking together make one
-- row), with the job it made or why it made none.
CREATE TABLE {schema}.sources (
    name          text PRIMARY KEY,
    spec          jsonb NOT NULL,
    target_table  text NOT NULL,
    paused        boolean NOT NULL DEFAULT false,
    -- The next scheduled tick; NULL for a source run only on demand.
    next_run_at   timestamptz,
    created_by    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sources_due ON {schema}.sources (next_run_at) WHERE NOT paused AND next_run_at IS NOT NULL;

CREATE TABLE {schema}.source_ticks (
    source         text NOT NULL REFERENCES {schema}.sources (name) ON DELETE CASCADE,
    scheduled_for  timestamptz NOT NULL,
    job_id         uuid,
    -- Why the tick made no job (a run of the source was still queued or running).
    skipped        text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, scheduled_for)
);

-- A pull source's run is a job of kind 'pull', named by its source.
ALTER TABLE {schema}.jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE {schema}.jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('load', 'export', 'pull'));
ALTER TABLE {schema}.jobs ADD COLUMN source_name text;
CREATE INDEX jobs_by_source ON {schema}.jobs (source_name, created_at DESC) WHERE source_name IS NOT NULL;
-- At most one run of a source queued or running at once, whoever asks for it.
CREATE UNIQUE INDEX jobs_one_run_per_source ON {schema}.jobs (source_name)
    WHERE source_name IS NOT NULL AND state IN ('queued', 'running');
