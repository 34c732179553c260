//! `tripline run`.

use std::path::Path;

/// Arguments of `tripline run`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub async fn run(_store: &Path, _args: Args) -> anyhow::Result<()> {
    anyhow::bail!("tripline run is not built yet")
}
