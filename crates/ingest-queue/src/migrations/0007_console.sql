-- 0007: what the web console keeps. Files uploaded to be looked at before any job reads
-- them (a Check and then a Load read the same file), mapping profiles (a table's column
-- mapping and format choices, saved under a name), and signed-in sessions.
CREATE TABLE {schema}.files (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Where the server stored it (under its uploads store).
    url         text NOT NULL,
    -- As the user named it.
    name        text NOT NULL,
    size        bigint NOT NULL,
    created_by  text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX files_age ON {schema}.files (created_at);

CREATE TABLE {schema}.mapping_profiles (
    table_name  text NOT NULL,
    name        text NOT NULL,
    -- {"mapping": {"file column": "table column" | null}, "options": {...}}
    profile     jsonb NOT NULL,
    created_by  text,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (table_name, name)
);

-- A session is the token it was opened with, by name; the cookie holds a random secret
-- whose hash is the key. The CSRF token goes with every form and every write.
CREATE TABLE {schema}.console_sessions (
    secret_hash  bytea PRIMARY KEY,
    token_name   text NOT NULL,
    csrf         text NOT NULL,
    expires_at   timestamptz NOT NULL
);
