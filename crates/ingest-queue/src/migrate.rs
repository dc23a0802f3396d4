//! Numbered, commented SQL migrations, applied in order, each in its own transaction, once.
//!
//! Several processes may start at once (a server and workers): an advisory lock makes one
//! of them apply what is missing while the others wait, then find nothing to do.

use tokio_postgres::Client;

use crate::{QueueError, Schema};

/// `(version, name, sql)`; `{schema}` in the SQL is the quoted schema name.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "jobs", include_str!("migrations/0001_jobs.sql")),
    (
        2,
        "job_ended",
        include_str!("migrations/0002_job_ended.sql"),
    ),
    (
        3,
        "created_by",
        include_str!("migrations/0003_created_by.sql"),
    ),
    (4, "quality", include_str!("migrations/0004_quality.sql")),
    (
        5,
        "source_cursors",
        include_str!("migrations/0005_source_cursors.sql"),
    ),
    (6, "sources", include_str!("migrations/0006_sources.sql")),
    (7, "console", include_str!("migrations/0007_console.sql")),
    (
        8,
        "record_batches",
        include_str!("migrations/0008_record_batches.sql"),
    ),
    (9, "streams", include_str!("migrations/0009_streams.sql")),
    (
        10,
        "stream_jobs",
        include_str!("migrations/0010_stream_jobs.sql"),
    ),
];

/// The version the code expects; `/readyz` compares it with what the database has.
pub const LATEST: i32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Advisory lock key for migrations: 'ingm' and the schema name's hash.
fn lock_key(schema: &Schema) -> i64 {
    let mut h: i64 = 0x696e_676d;
    for b in schema.name().bytes() {
        h = h.wrapping_mul(31).wrapping_add(i64::from(b));
    }
    h
}

/// Applies the migrations not yet applied; returns the versions it applied.
pub async fn migrate(client: &mut Client, schema: &Schema) -> Result<Vec<i32>, QueueError> {
    let q = schema.quoted();
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key(schema)])
        .await?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {q};
         CREATE TABLE IF NOT EXISTS {q}.schema_migrations (
             version    int PRIMARY KEY,
             name       text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )"
    ))
    .await?;
    let applied: Vec<i32> = tx
        .query(&format!("SELECT version FROM {q}.schema_migrations"), &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut done = Vec::new();
    for (version, name, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        tx.batch_execute(&sql.replace("{schema}", &q))
            .await
            .map_err(|e| QueueError::Migration {
                version: *version,
                source: e,
            })?;
        tx.execute(
            &format!("INSERT INTO {q}.schema_migrations (version, name) VALUES ($1, $2)"),
            &[version, name],
        )
        .await?;
        done.push(*version);
    }
    tx.commit().await?;
    Ok(done)
}

/// The latest migration applied, 0 when none (or no schema).
pub async fn applied_version(client: &Client, schema: &Schema) -> Result<i32, QueueError> {
    let q = schema.quoted();
    let exists: bool = client
        .query_one(
            "SELECT to_regclass($1) IS NOT NULL",
            &[&format!("{q}.schema_migrations")],
        )
        .await?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_one(
            &format!("SELECT coalesce(max(version), 0) FROM {q}.schema_migrations"),
            &[],
        )
        .await?;
    Ok(row.get(0))
}
