-- 0003: who created a job: the name of the API token it came with (NULL for a local
-- caller of an open API, or a job queued with SQL). A token sees the jobs on its tables
-- and the jobs it created (an export of a query has no table of its own).
ALTER TABLE {schema}.jobs ADD COLUMN created_by text;
CREATE INDEX jobs_by_creator ON {schema}.jobs (created_by, created_at DESC) WHERE created_by IS NOT NULL;
