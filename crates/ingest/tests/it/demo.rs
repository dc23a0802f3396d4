//! `ingest demo` with no PostgreSQL reachable: it makes and starts a private cluster.

use std::process::Command;

use crate::fixtures::free_port;
use crate::support::run;

#[test]
fn demo_starts_a_private_cluster_when_no_server_answers() {
    let dir = tempfile::tempdir().unwrap();
    // PostgreSQL runs as the `postgres` user when we are root: it must reach the directory.
    Command::new("chmod")
        .arg("755")
        .arg(dir.path())
        .status()
        .unwrap();
    let port = free_port();
    let out = run(Command::new(env!("CARGO_BIN_EXE_ingest"))
        .args(["demo", "--rows", "2000"])
        .env_remove("DATABASE_URL")
        .env("INGEST_DATA_DIR", dir.path())
        .env("INGEST_PG_PORT", port.to_string())
        // Nothing listens here: the local-server probes fail.
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", "1"));
    let pg = dir.path().join("pg");
    let result = std::panic::catch_unwind(|| {
        out.ok();
        assert!(
            out.stderr.contains("creating a private PostgreSQL cluster"),
            "{}",
            out.stderr
        );
        let started = format!("a private cluster in {} (port {port})", pg.display());
        assert!(out.stderr.contains(&started), "{}", out.stderr);
        assert!(
            out.stdout.contains("append: 2000 rows read, 2000 inserted"),
            "{}",
            out.stdout
        );
        assert!(
            out.stdout
                .contains("ingest_demo_orders now holds 3000 orders"),
            "{}",
            out.stdout
        );
    });
    let stopped = ingest_pg::local_pg::stop_private_cluster(&pg);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
    stopped.unwrap();
}
