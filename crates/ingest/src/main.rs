//! The `ingest` command.

mod cli;
mod progress;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let code = match args.command {
        cli::Command::Load(load) => cli::load_cmd::run(*load).await,
        cli::Command::Pull(a) => cli::pull_cmd::run(*a).await,
        cli::Command::Consume(a) => cli::consume_cmd::run(*a).await,
        cli::Command::Sources(c) => cli::sources_cmd::run(c).await,
        cli::Command::Infer(a) => cli::infer_cmd::run(*a).await,
        cli::Command::Demo(demo) => cli::demo::run(demo).await,
        cli::Command::Export(a) => cli::export_cmd::run(*a).await,
        cli::Command::Migrate(m) => cli::migrate::run(m).await,
        cli::Command::Worker(w) => cli::exit_code(ingest_server::worker::run_workers(w).await),
        cli::Command::Serve(s) => cli::exit_code(ingest_server::api::serve(s).await),
        cli::Command::Token(t) => cli::token::run(t).await,
        cli::Command::Rules(r) => cli::rules_cmd::run(r).await,
        cli::Command::Submit(a) => cli::client::submit(*a).await,
        cli::Command::Status(a) => cli::client::status(a).await,
        cli::Command::Wait(a) => cli::client::wait(a).await,
        cli::Command::Cancel(a) => cli::client::cancel(a).await,
        cli::Command::Errors(a) => cli::client::errors(a).await,
    };
    ExitCode::from(code as u8)
}
