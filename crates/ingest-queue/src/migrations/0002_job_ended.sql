-- 0002: a NOTIFY when a job ends (`ended:<id>` on the queue's channel, `<schema>_jobs`),
-- whatever ended it (a worker, the rescuer, a cancel), so clients waiting on a job (long
-- polls, event streams) hear of it at once. A job ended inside a load's transaction is
-- announced when that transaction commits, as NOTIFY always is.
CREATE FUNCTION {schema}.notify_job_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '_jobs', 'ended:' || NEW.id);
    RETURN NULL;
END
$$;

CREATE TRIGGER job_ended AFTER UPDATE OF state ON {schema}.jobs
    FOR EACH ROW
    WHEN (NEW.state IN ('succeeded', 'failed', 'cancelled') AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION {schema}.notify_job_ended();
