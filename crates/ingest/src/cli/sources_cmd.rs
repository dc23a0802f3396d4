//! `ingest sources`: pull sources registered with the service (`INGEST_API_URL`), run on
//! their schedule by its workers.

use clap::{Args, Subcommand};
use serde_json::Value;

use super::client::{Api, ApiArgs};
use super::pull_cmd::read_spec;
use crate::cli::Failure;

const EXAMPLES: &str = "Examples:
  ingest sources apply carrier.yaml        # register it, or replace its spec; its schedule starts
  ingest sources list
  ingest sources show carrier_trips        # its spec, schedule and last runs
  ingest sources run carrier_trips         # a run now (409 if one is queued or running)
  ingest sources run erp_customers --full  # ignore its cursor this once
  ingest sources pause carrier_trips       # its schedule makes no run until resume
  ingest sources delete carrier_trips

Secrets in a spec are ${env:NAME} references, resolved by the workers where they run:
a spec holding a token or password in clear is refused. A source whose host is on a
private network needs `ingest serve --allow-host HOST`.";

#[derive(Debug, Subcommand)]
#[command(after_help = EXAMPLES)]
pub enum SourcesCommand {
    /// Register a source from its spec file (YAML or JSON), or replace its spec
    Apply(ApplyArgs),
    /// The registered sources, a line each
    List(ApiOnly),
    /// A source's spec, schedule and last runs, as JSON
    Show(NameArgs),
    /// Start a run now
    Run(RunArgs),
    /// Stop its schedule (a run in progress goes on to its end)
    Pause(NameArgs),
    /// Start its schedule again, from now
    Resume(NameArgs),
    /// Delete it (its runs stay in the jobs list)
    Delete(NameArgs),
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The spec: YAML or JSON
    pub spec: std::path::PathBuf,
    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(Debug, Args)]
pub struct ApiOnly {
    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(Debug, Args)]
pub struct NameArgs {
    pub name: String,
    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    pub name: String,
    /// Read from the start, ignoring the cursor this once
    #[arg(long)]
    pub full: bool,
    #[command(flatten)]
    pub api: ApiArgs,
}

pub async fn run(command: SourcesCommand) -> i32 {
    super::exit_code(dispatch(command).await)
}

async fn dispatch(command: SourcesCommand) -> Result<(), Failure> {
    use reqwest::Method;
    match command {
        SourcesCommand::Apply(a) => {
            // Checked here first, so a mistake names the file and its line.
            let spec = read_spec(&a.spec).map_err(|m| (2, m))?;
            let api = Api::new(&a.api)?;
            let body = serde_json::to_vec(&spec).map_err(|e| (2, e.to_string()))?;
            let r = api
                .request(Method::PUT, &format!("/v1/sources/{}", spec.name))
                .header("content-type", "application/json")
                .body(body);
            let source = api.json(r).await?;
            eprintln!(
                "ingest: source {} registered; {}",
                spec.name,
                schedule_note(&source)
            );
            Ok(())
        }
        SourcesCommand::List(a) => {
            let api = Api::new(&a.api)?;
            let list = api.json(api.request(Method::GET, "/v1/sources")).await?;
            println!("{:<32} {:<8} {:<26} target", "name", "state", "next run");
            for s in list["sources"].as_array().into_iter().flatten() {
                let state = if s["paused"].as_bool() == Some(true) {
                    "paused"
                } else {
                    "active"
                };
                println!(
                    "{:<32} {:<8} {:<26} {}",
                    s["name"].as_str().unwrap_or_default(),
                    state,
                    s["next_run_at"].as_str().unwrap_or("on demand"),
                    s["target_table"].as_str().unwrap_or_default()
                );
            }
            Ok(())
        }
        SourcesCommand::Show(a) => {
            let api = Api::new(&a.api)?;
            let mut source = api
                .json(api.request(Method::GET, &format!("/v1/sources/{}", a.name)))
                .await?;
            let runs = api
                .json(api.request(Method::GET, &format!("/v1/sources/{}/runs?limit=5", a.name)))
                .await?;
            source["last_runs"] = runs["runs"].clone();
            println!(
                "{}",
                serde_json::to_string_pretty(&source).expect("JSON prints")
            );
            Ok(())
        }
        SourcesCommand::Run(a) => {
            let api = Api::new(&a.api)?;
            let path = format!(
                "/v1/sources/{}/run{}",
                a.name,
                if a.full { "?full=true" } else { "" }
            );
            let job = api.json(api.request(Method::POST, &path)).await?;
            println!("{}", job["id"].as_str().unwrap_or_default());
            Ok(())
        }
        SourcesCommand::Pause(a) => {
            let api = Api::new(&a.api)?;
            api.json(api.request(Method::POST, &format!("/v1/sources/{}/pause", a.name)))
                .await?;
            eprintln!("ingest: source {} paused", a.name);
            Ok(())
        }
        SourcesCommand::Resume(a) => {
            let api = Api::new(&a.api)?;
            let source = api
                .json(api.request(Method::POST, &format!("/v1/sources/{}/resume", a.name)))
                .await?;
            eprintln!(
                "ingest: source {} resumed; {}",
                a.name,
                schedule_note(&source)
            );
            Ok(())
        }
        SourcesCommand::Delete(a) => {
            let api = Api::new(&a.api)?;
            api.send(api.request(Method::DELETE, &format!("/v1/sources/{}", a.name)))
                .await?;
            eprintln!("ingest: source {} deleted", a.name);
            Ok(())
        }
    }
}

fn schedule_note(source: &Value) -> String {
    match source["next_run_at"].as_str() {
        Some(at) => format!("next run at {at}"),
        None => "no schedule: run it with `ingest sources run`".into(),
    }
}
