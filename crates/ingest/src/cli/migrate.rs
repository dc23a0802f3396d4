//! `ingest migrate`: creates or updates the service's schema (jobs, rejects, events,
//! tokens). `serve` and `worker` will apply it on start too.

use clap::Args;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  ingest migrate                      # schema `ingest` in the database of DATABASE_URL
  ingest migrate --schema ingest_dev  # another schema, e.g. one per environment")]
pub struct MigrateArgs {
    #[command(flatten)]
    pub db: crate::cli::QueueDb,
}

pub async fn run(a: MigrateArgs) -> i32 {
    match migrate(a).await {
        Ok(msg) => {
            println!("{msg}");
            0
        }
        Err((code, msg)) => {
            eprintln!("ingest: {msg}");
            code
        }
    }
}

async fn migrate(a: MigrateArgs) -> Result<String, (i32, String)> {
    let (_, schema, applied) = a.db.migrated().await?;
    Ok(match applied.as_slice() {
        [] => format!(
            "schema {} is up to date (version {})",
            schema.name(),
            ingest_queue::LATEST
        ),
        v => format!(
            "schema {}: applied migration{} {}",
            schema.name(),
            if v.len() == 1 { "" } else { "s" },
            v.iter()
                .map(|n| format!("{n:04}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}
