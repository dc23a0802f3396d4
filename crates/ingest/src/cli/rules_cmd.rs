//! `ingest rules`: a table's quality rules, registered with the table so that every load
//! into it applies them (CLI, API, pull sources, streams), versioned.

use clap::{Args, Subcommand};
use ingest_pg::catalog::ResolvedTable;
use ingest_quality::{RuleSet, table_rules};

use crate::cli::{Failure, QueueDb};

const APPLY_EXAMPLES: &str = "Examples:
  ingest rules apply veiculos veiculos.yaml    # every load into veiculos applies them
  ingest rules apply veiculos /dev/null        # an empty set: no rules from now on
  ingest rules show veiculos

The set is checked before it is stored: unknown keys, a bad regex, a column the table
lacks, an exists_in table that does not exist, an sql expression or after_load statement
the database cannot plan. Each is an error naming the rule. Every version is kept; a job
records the version it ran with. A load's own --rules apply after the table's.";

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Check a rule set against a table and register it as the table's next version
    #[command(after_help = APPLY_EXAMPLES)]
    Apply(ApplyArgs),
    /// Check a rule set against a table without registering it
    Check(ApplyArgs),
    /// Print a table's registered rules (the latest version) as YAML, or JSON
    Show(ShowArgs),
    /// Print the JSON Schema of a rule set (for editors and CI checks)
    Schema,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The table: `veiculos`, `public.veiculos`
    pub table: String,
    /// The rule set: YAML or JSON (`-` for standard input; an empty file clears the rules)
    pub file: std::path::PathBuf,
    #[command(flatten)]
    pub db: QueueDb,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The table
    pub table: String,
    /// Print JSON instead of YAML
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub db: QueueDb,
}

pub async fn run(command: RulesCommand) -> i32 {
    crate::cli::exit_code(rules(command).await)
}

fn quality_error(e: ingest_quality::QualityError) -> Failure {
    match e {
        ingest_quality::QualityError::Database(e) if e.is_retriable() => (3, e.to_string()),
        e => (2, e.to_string()),
    }
}

async fn rules(command: RulesCommand) -> Result<(), Failure> {
    match command {
        RulesCommand::Schema => {
            let schema = ingest_quality::json_schema();
            println!("{}", serde_json::to_string_pretty(&schema).expect("JSON"));
        }
        RulesCommand::Apply(a) => {
            let (set, table, client, schema) = open(&a).await?;
            let table = table.schema;
            let version = table_rules::store(&client, &schema, &table, &set, None)
                .await
                .map_err(quality_error)?;
            eprintln!(
                "ingest: {}: rules version {version} registered ({})",
                table_rules::key(&table),
                describe(&set)
            );
        }
        RulesCommand::Check(a) => {
            let (set, table, client, _) = open(&a).await?;
            let table = table.schema;
            table_rules::check_against(&client, &table, &set)
                .await
                .map_err(quality_error)?;
            eprintln!(
                "ingest: {}: the rules fit ({})",
                table_rules::key(&table),
                describe(&set)
            );
        }
        RulesCommand::Show(a) => {
            let (table, client, schema) = connect_table(&a.db, &a.table).await?;
            let Some(stored) = table_rules::latest(&client, &schema, &table.schema)
                .await
                .map_err(quality_error)?
            else {
                return Err((
                    2,
                    format!(
                        "{} has no registered rules",
                        table_rules::key(&table.schema)
                    ),
                ));
            };
            eprintln!(
                "ingest: {}: rules version {}, registered {}",
                table_rules::key(&table.schema),
                stored.version,
                stored.created_at
            );
            match a.json {
                true => println!(
                    "{}",
                    serde_json::to_string_pretty(&stored.rules).expect("JSON")
                ),
                false => print!("{}", stored.rules.to_yaml()),
            }
        }
    }
    Ok(())
}

/// The rule set of `a.file`, the table, a connection and the service schema.
async fn open(
    a: &ApplyArgs,
) -> Result<
    (
        RuleSet,
        ResolvedTable,
        tokio_postgres::Client,
        ingest_queue::Schema,
    ),
    Failure,
> {
    let text = match a.file.to_str() {
        Some("-") => std::io::read_to_string(std::io::stdin()),
        _ => std::fs::read_to_string(&a.file),
    }
    .map_err(|e| (2, format!("{}: {e}", a.file.display())))?;
    let set = RuleSet::parse(&text, &a.file.display().to_string()).map_err(quality_error)?;
    let (table, client, schema) = connect_table(&a.db, &a.table).await?;
    Ok((set, table, client, schema))
}

/// The service schema (migrated), a connection, and `table` as the catalog has it.
async fn connect_table(
    db: &QueueDb,
    table: &str,
) -> Result<(ResolvedTable, tokio_postgres::Client, ingest_queue::Schema), Failure> {
    let (source, schema, _) = db.migrated().await?;
    let client = ingest_pg::connect(&source)
        .await
        .map_err(|e| (3, e.to_string()))?;
    let table = ingest_pg::catalog::resolve_table(&client, table)
        .await
        .map_err(|e| (2, e.to_string()))?;
    Ok((table, client, schema))
}

fn describe(set: &RuleSet) -> String {
    let n = |k: usize, what: &str| format!("{k} {what}{}", if k == 1 { "" } else { "s" });
    format!(
        "{}, {}, {}",
        n(set.clean.len(), "cleaning step"),
        n(set.rules.len(), "rule"),
        n(set.after_load.len(), "after_load statement")
    )
}
