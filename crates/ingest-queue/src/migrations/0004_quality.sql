-- 0004: data quality. A table's registered rule sets, versioned: every load into the table
-- applies the latest (an empty set clears it), and a job's stats record the version it ran
-- with. `table_name` is `schema.table` as the catalog spells it.
CREATE TABLE {schema}.table_rules (
    table_name  text NOT NULL,
    version     int NOT NULL,
    rules       jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text,
    PRIMARY KEY (table_name, version)
);

-- A reject names the rule it failed; warnings (rows loaded, but reported) are kept beside
-- the rejects with severity 'warn'.
ALTER TABLE {schema}.job_errors ADD COLUMN rule text, ADD COLUMN severity text;

-- Whether a token may send SQL with a load (`after_load` statements and `sql` checks in an
-- inline rule set); a table's registered rules need no such right.
ALTER TABLE {schema}.api_tokens ADD COLUMN may_run_sql boolean NOT NULL DEFAULT false;
