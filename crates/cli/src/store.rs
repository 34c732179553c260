//! `tripline store`: look after the embedded store itself.

use std::path::Path;

use anyhow::bail;
use clap::Subcommand;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use tripline_store::embedded::EmbeddedStore;

/// What to do with the store.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check every file of every segment against the checksum in its footer (and that none is
    /// missing). Exits non-zero, naming the files, if any is damaged. Opening the store checks
    /// new and changed files by itself; this checks all of them.
    Verify,
}

pub fn run(store: &Path, cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Verify => verify(store),
    }
}

fn verify(store: &Path) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let v = EmbeddedStore::verify_dir(store)?;
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec!["store", "segments", "files", "MB", "damaged", "seconds"]);
    t.add_row(vec![
        store.display().to_string(),
        v.segments.to_string(),
        v.files.to_string(),
        format!("{:.1}", v.bytes as f64 / 1e6),
        v.damaged.len().to_string(),
        format!("{:.2}", started.elapsed().as_secs_f64()),
    ]);
    println!("{t}");
    if v.is_ok() {
        println!("all checksums match");
        return Ok(());
    }
    let mut d = Table::new();
    d.load_preset(UTF8_FULL_CONDENSED);
    d.set_header(vec!["file", "problem"]);
    for (file, problem) in &v.damaged {
        d.add_row(vec![file.clone(), problem.clone()]);
    }
    println!("{d}");
    bail!(
        "{} of {} files of {} are damaged: restore the store from a copy, or re-ingest the logs into a new directory",
        v.damaged.len(),
        v.files,
        store.display()
    )
}
