//! `tripline`: ingest logs, run alerts, investigate and respond, from one command.
//!
//! Every subcommand lives in its own module, named after what it does.

mod backtest;
mod chart;
mod infra;
mod ingest;
mod opensearch;
mod report;
mod respond;
mod rules;
mod run;
mod search;
mod store;
mod table;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Serverless security alerting for AWS, after MozDef: run it all on one machine.
#[derive(Parser, Debug)]
#[command(name = "tripline", version, about)]
pub struct Cli {
    /// The embedded store's directory.
    #[arg(long, global = true, env = "TRIPLINE_STORE", default_value = ".tripline/store")]
    pub store: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Normalize CloudTrail, VPC Flow Logs and GuardDuty files (plain or .gz, files or folders)
    /// into the embedded store.
    Ingest(ingest::Args),
    /// Run alerts over the embedded store.
    Run(run::Args),
    /// What every alert would have raised over archived logs, each on its own schedule, in one
    /// read of the store per alert (the store is not written).
    Backtest(backtest::Args),
    /// Search events with a query string; count by field; time histograms.
    Search(search::Args),
    /// Incident response: start the IR and remediation workflows in Step Functions.
    #[command(subcommand)]
    Respond(respond::Command),
    /// The catalog: list, check, test and show alerts and Sigma rules.
    #[command(subcommand)]
    Rules(rules::Command),
    /// Infrastructure: render the SAM template's alert section from the registry.
    #[command(subcommand)]
    Infra(infra::Command),
    /// The OpenSearch store: deploy steps (install the index templates).
    #[command(subcommand)]
    Opensearch(opensearch::Command),
    /// The embedded store itself: verify its files.
    #[command(subcommand)]
    Store(store::Command),
}

/// Ingesting and indexing allocate many small strings: mimalloc does that markedly faster than
/// glibc's malloc (see docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Ingest(args) => ingest::run(&cli.store, args).await,
        Command::Run(args) => run::run(&cli.store, args).await,
        Command::Backtest(args) => backtest::run(&cli.store, args).await,
        Command::Search(args) => search::run(&cli.store, args).await,
        Command::Respond(cmd) => respond::run(cmd).await,
        Command::Rules(cmd) => rules::run(cmd).await,
        Command::Infra(cmd) => infra::run(cmd).await,
        Command::Opensearch(cmd) => opensearch::run(cmd).await,
        Command::Store(cmd) => store::run(&cli.store, cmd),
    }
}
