//! `ingest token`: the API's bearer tokens. A token is printed once, when it is created;
//! only its SHA-256 is stored. Once any token exists, every API request must bear one.

use clap::{Args, Subcommand};
use ingest_queue::{TablePatterns, Tokens};

use crate::cli::{Failure, QueueDb};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (the only time it is shown)
    #[command(after_help = "Examples:
  ingest token create --name etl --tables 'public.orders,staging.*'
  curl -H \"Authorization: Bearer $TOKEN\" localhost:8080/v1/jobs

Once a token exists, requests without one are refused (401), and a token's requests may
touch only its tables (403). `ingest serve --bind 0.0.0.0` starts only when a token exists.")]
    Create(CreateArgs),
    /// List tokens: names, tables, when created and revoked (never the secrets)
    List(ListArgs),
    /// Revoke a token by name; requests bearing it are refused from then on
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// A name for the token: who or what uses it
    #[arg(long)]
    pub name: String,

    /// Tables the token may load and see jobs of, comma-separated: `public.orders`,
    /// `staging.*`, `*` (a name without a schema means `public`)
    #[arg(long)]
    pub tables: String,

    /// The token may send SQL with a load: `after_load` statements and `sql` checks in a
    /// job's own rules (a table's registered rules need no such right)
    #[arg(long)]
    pub allow_sql: bool,

    #[command(flatten)]
    pub db: QueueDb,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub db: QueueDb,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The token's name
    pub name: String,

    #[command(flatten)]
    pub db: QueueDb,
}

pub async fn run(command: TokenCommand) -> i32 {
    crate::cli::exit_code(token(command).await)
}

async fn tokens(db: &QueueDb) -> Result<(Tokens, tokio_postgres::Client), Failure> {
    let (source, schema, _) = db.migrated().await?;
    let client = ingest_pg::connect(&source)
        .await
        .map_err(|e| (3, e.to_string()))?;
    Ok((Tokens::new(&schema), client))
}

async fn token(command: TokenCommand) -> Result<(), Failure> {
    let db_error = |e: ingest_queue::QueueError| match e {
        ingest_queue::QueueError::Invalid(m) => (2, m),
        e => (3, e.to_string()),
    };
    match command {
        TokenCommand::Create(a) => {
            let tables = TablePatterns::parse(&a.tables).map_err(db_error)?;
            let (tokens, c) = tokens(&a.db).await?;
            let secret = tokens
                .create(&c, &a.name, &tables, a.allow_sql)
                .await
                .map_err(db_error)?;
            eprintln!(
                "ingest: token {:?} for {}; it is shown once, keep it now:",
                a.name,
                tables.as_slice().join(", ")
            );
            println!("{secret}");
        }
        TokenCommand::List(a) => {
            let (tokens, c) = tokens(&a.db).await?;
            for t in tokens.list(&c).await.map_err(db_error)? {
                let state = match t.revoked_at {
                    Some(at) => format!("revoked {}", at.format("%Y-%m-%d %H:%M")),
                    None => "active".into(),
                };
                println!(
                    "{}\t{}\tcreated {}\t{state}",
                    t.name,
                    t.tables.as_slice().join(","),
                    t.created_at.format("%Y-%m-%d %H:%M")
                );
            }
        }
        TokenCommand::Revoke(a) => {
            let (tokens, c) = tokens(&a.db).await?;
            if !tokens.revoke(&c, &a.name).await.map_err(db_error)? {
                return Err((2, format!("no active token named {:?}", a.name)));
            }
            eprintln!("ingest: token {:?} revoked", a.name);
        }
    }
    Ok(())
}
