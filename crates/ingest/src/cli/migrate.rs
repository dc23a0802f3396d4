//! `ingest migrate`: creates or updates the service's schema (jobs, rejects, events,
//! tokens). `serve` and `worker` will apply it on start too.

use clap::Args;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  ingest migrate                      # schema `ingest` in the database of DATABASE_URL
  ingest migrate --schema ingest_dev  # another schema, e.g. one per environment")]
pub struct MigrateArgs {
    /// PostgreSQL URL; the libpq variables PGHOST, PGPORT, PGUSER, ... otherwise
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Schema that holds the service's tables
    #[arg(long, env = "INGEST_SCHEMA", default_value = "ingest")]
    pub schema: String,
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
    let (_, schema, applied) =
        crate::cli::migrated_queue(a.database_url.as_deref(), &a.schema).await?;
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
