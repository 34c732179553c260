//! `tripline search`.

use std::path::Path;

/// Arguments of `tripline search`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub async fn run(_store: &Path, _args: Args) -> anyhow::Result<()> {
    anyhow::bail!("tripline search is not built yet")
}
