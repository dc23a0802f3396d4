//! `ingest migrate` creates the service's schema once, and says so.

use std::process::Command;

use crate::support::{TestDb, database_url, run};

#[test]
fn migrate_creates_the_schema_then_has_nothing_to_do() {
    let mut db = TestDb::new("migrate");
    let schema = format!("{}_svc", db.schema);
    let migrate = || {
        run(Command::new(env!("CARGO_BIN_EXE_ingest"))
            .args(["migrate", "--schema", &schema])
            .env("DATABASE_URL", database_url()))
    };
    let first = migrate();
    first.ok();
    assert!(
        first
            .stdout
            .contains("applied migrations 0001, 0002, 0003, 0004, 0005"),
        "{first:?}"
    );
    let second = migrate();
    second.ok();
    assert!(second.stdout.contains("is up to date"), "{second:?}");
    let tables = db.value(&format!(
        "select string_agg(tablename, ',' order by tablename) from pg_tables where schemaname = '{schema}'"
    ));
    assert_eq!(
        tables,
        "api_tokens,console_sessions,files,job_errors,job_events,jobs,mapping_profiles,record_batches,schema_migrations,source_cursors,source_ticks,sources,stream_positions,stream_seen,table_rules"
    );
    db.exec(&format!("drop schema \"{schema}\" cascade"));
}
