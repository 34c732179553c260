//! `tripline ingest`.

use std::path::Path;

/// Arguments of `tripline ingest`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub async fn run(_store: &Path, _args: Args) -> anyhow::Result<()> {
    anyhow::bail!("tripline ingest is not built yet")
}
