//! `tripline infra`.

/// Subcommands of `tripline infra`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Not built yet.
    Todo,
}

pub async fn run(_cmd: Command) -> anyhow::Result<()> {
    anyhow::bail!("tripline infra is not built yet")
}
