//! `tripline respond`.

/// Subcommands of `tripline respond`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Not built yet.
    Todo,
}

pub async fn run(_cmd: Command) -> anyhow::Result<()> {
    anyhow::bail!("tripline respond is not built yet")
}
