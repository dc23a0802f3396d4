//! The `ingest` command.

mod cli;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let code = match args.command {
        cli::Command::Load(load) => cli::load_cmd::run(*load).await,
        cli::Command::Demo(demo) => cli::demo::run(demo).await,
        cli::Command::Migrate(m) => cli::migrate::run(m).await,
        cli::Command::Worker(w) => cli::worker::run(w).await,
        cli::Command::Serve(s) => cli::serve::run(s).await,
        cli::Command::Token(t) => cli::token::run(t).await,
    };
    ExitCode::from(code as u8)
}
