//! `tripline opensearch`: deploy steps for the OpenSearch store.
//!
//! The Lambda functions never install the index templates (the SAM template sets
//! `TRIPLINE_OPENSEARCH_INSTALL_TEMPLATES=false`, so their roles need no `es:ESHttpPut`) and
//! refuse to write before the templates are there. `install-templates` installs them with the
//! operator's credentials; `make deploy` runs it.

use anyhow::Context;
use tripline_store::opensearch::{OpenSearchConfig, OpenSearchStore};

/// Subcommands of `tripline opensearch`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Install (or update) the events and alerts index templates (infra/opensearch/*.json) on the
    /// cluster. Idempotent; run it before the first ingest (make deploy does).
    InstallTemplates(Connection),
    /// Normalize log files (as `tripline ingest` reads them: files or folders, plain or .gz) and
    /// index them into the cluster, as the ingest function does: for trying the alert function
    /// locally (`cargo lambda invoke`), or a backtest over OpenSearch.
    Ingest {
        #[command(flatten)]
        conn: Connection,
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
    },
}

/// Where the cluster is and how to sign in: the store's own settings (`TRIPLINE_OPENSEARCH_*`,
/// see `OpenSearchConfig::from_env`), which these options override. Basic-auth credentials come
/// from `TRIPLINE_OPENSEARCH_USER` / `TRIPLINE_OPENSEARCH_PASSWORD` only, never from the
/// command line (where every user of the machine could read them).
#[derive(clap::Args, Debug)]
pub struct Connection {
    /// The cluster: the domain's or collection's endpoint (https://search-....es.amazonaws.com).
    #[arg(long, env = "TRIPLINE_OPENSEARCH_URL")]
    pub url: String,
    /// none, basic, sigv4 (Amazon OpenSearch Service, with the AWS credentials of the default
    /// chain) or aoss (OpenSearch Serverless). Default: TRIPLINE_OPENSEARCH_AUTH, else none.
    #[arg(long, value_parser = ["none", "basic", "sigv4", "aoss"])]
    pub auth: Option<String>,
    /// The region SigV4 signs for. Default: AWS_REGION, else the AWS profile's.
    #[arg(long)]
    pub region: Option<String>,
}

impl Connection {
    /// The store configuration: these options over the environment.
    pub fn config(&self) -> anyhow::Result<OpenSearchConfig> {
        let config = OpenSearchConfig::from_lookup(|k| match k {
            "TRIPLINE_OPENSEARCH_URL" => Some(self.url.clone()),
            "TRIPLINE_OPENSEARCH_AUTH" if self.auth.is_some() => self.auth.clone(),
            "AWS_REGION" if self.region.is_some() => self.region.clone(),
            _ => std::env::var(k).ok().filter(|v| !v.is_empty()),
        })?;
        Ok(config)
    }
}

pub async fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::InstallTemplates(conn) => {
            let config = conn.config()?;
            let store = OpenSearchStore::connect(config).await.context("connecting to OpenSearch")?;
            store.ensure_templates().await.context("installing the index templates")?;
            // Read them back: what the functions' first write will check.
            store.check_templates().await.context("the templates just installed")?;
            for (name, body) in store.templates()? {
                println!("installed index template {name} for {}", body["index_patterns"]);
            }
            Ok(())
        }
        Command::Ingest { conn, paths } => ingest(&conn, &paths).await,
    }
}

/// Read every file into the cluster in batches; bad records are counted and the first few shown.
async fn ingest(conn: &Connection, paths: &[std::path::PathBuf]) -> anyhow::Result<()> {
    use tripline_store::EventStore;
    let store = OpenSearchStore::connect(conn.config()?).await.context("connecting to OpenSearch")?;
    let opts = tripline_normalize::Options::default();
    let (mut written, mut refused, mut bad) = (0u64, 0usize, Vec::new());
    for file in crate::ingest::log_files(paths)? {
        let mut events = Vec::new();
        tripline_normalize::read_path(&file, &opts, |r| match r {
            Ok(e) => events.push(e),
            Err(e) => bad.push(e.to_string()),
        });
        for chunk in events.chunks(5_000) {
            let report = store.index_events(chunk).await.context("indexing")?;
            written += report.written;
            refused += report.failed.len();
            if let Some(f) = report.failed.first() {
                eprintln!("refused {}: {}", f.id, f.reason);
            }
        }
    }
    for b in bad.iter().take(5) {
        eprintln!("skipped: {b}");
    }
    println!("{written} event(s) indexed, {refused} refused, {} record(s) skipped", bad.len());
    if written == 0 && (refused > 0 || !bad.is_empty()) {
        anyhow::bail!("nothing was indexed");
    }
    Ok(())
}
