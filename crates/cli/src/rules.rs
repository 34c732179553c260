//! `tripline rules`: the catalog as data. `list` the alerts (Rust and Sigma), `check` which rule
//! files load and why others are refused, `test` every rule's raw-log test cases on an in-memory
//! embedded store, `show` one alert's compiled query and the OpenSearch query it runs.
//!
//! `--rules DIR` (repeatable) adds a folder of Sigma rules to the built-in catalog and
//! `--tuning FILE` applies a tuning file (`tripline_alerts::tuning`); `run` and `infra render`
//! take the same two options.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use tripline_alerts::{LoadReport, Registry, Tuning};
use tripline_store::embedded::EmbeddedStore;

/// Which catalog: the built-in one, plus rule folders, with a tuning file.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Catalog {
    /// A folder of Sigma rules (and `*.tests.yml` test files) to add to the built-in catalog;
    /// repeat for several.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// A tuning file (TOML): per-alert schedule, window, severity, enabled, exclusions.
    #[arg(long, value_name = "FILE", env = "TRIPLINE_TUNING_FILE")]
    pub tuning: Option<PathBuf>,
}

impl Catalog {
    /// The rules as loaded, before tuning (refusals in the report).
    pub fn load(&self) -> (Registry, LoadReport) {
        tripline_runtime::cases::load(&self.rules)
    }

    /// The tuning file, if one was given.
    pub fn tuning(&self) -> anyhow::Result<Option<Tuning>> {
        let Some(path) = &self.tuning else { return Ok(None) };
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Some(Tuning::parse(&text).with_context(|| path.display().to_string())?))
    }

    /// `registry` with the tuning file applied, if one was given.
    fn tuned(&self, registry: Registry) -> anyhow::Result<Registry> {
        match self.tuning()? {
            Some(t) => Ok(t.apply(&registry)?),
            None => Ok(registry),
        }
    }

    /// The catalog to run or deploy, read once: every rule must load (a refused rule is an
    /// error, not an alert quietly missing), tuning applied; with the load report.
    pub fn checked(&self) -> anyhow::Result<(Registry, LoadReport)> {
        let (registry, report) = self.load();
        if !report.refused.is_empty() {
            let lines: Vec<String> = report.refused.iter().map(|r| format!("  {r}")).collect();
            bail!(
                "{} rule file(s) refused (see `tripline rules check`):\n{}",
                report.refused.len(),
                lines.join("\n")
            );
        }
        Ok((self.tuned(registry)?, report))
    }

    /// [`Catalog::checked`], without the report.
    pub fn registry(&self) -> anyhow::Result<Registry> {
        Ok(self.checked()?.0)
    }
}

/// Subcommands of `tripline rules`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Every alert of the catalog: name, kind, severity, schedule, file.
    List {
        #[command(flatten)]
        catalog: Catalog,
    },
    /// Which rule files load, which are refused and why (exit 1 when any is refused).
    Check {
        #[command(flatten)]
        catalog: Catalog,
        /// Print only the figures and the refusals.
        #[arg(long)]
        quiet: bool,
    },
    /// Run the rules' test cases from raw logs on an in-memory embedded store (exit 1 on a failure).
    Test {
        #[command(flatten)]
        catalog: Catalog,
        /// Only this alert's cases (repeat for several).
        #[arg(long = "alert", value_name = "NAME")]
        alerts: Vec<String>,
    },
    /// The catalog against the ATT&CK cloud matrix: tactic, technique, the alerts that detect it
    /// (gaps included).
    Coverage {
        #[command(flatten)]
        catalog: Catalog,
        /// A Markdown table (for a README) instead of a terminal table.
        #[arg(long)]
        markdown: bool,
    },
    /// One alert: its entry, its compiled query (AST) and the OpenSearch query it runs.
    Show {
        /// The alert's name.
        name: String,
        #[command(flatten)]
        catalog: Catalog,
    },
}

/// The coverage as a Markdown table: one row per tactic and technique, alerts in code spans.
pub fn coverage_markdown(rows: &[tripline_alerts::attack::Row]) -> String {
    let mut out = String::from("| Tactic | Technique | Alerts |\n|---|---|---|\n");
    for r in rows {
        let alerts = if r.alerts.is_empty() {
            "—".to_string()
        } else {
            r.alerts.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
        };
        let name = if r.name.is_empty() { String::new() } else { format!(" {}", r.name) };
        out.push_str(&format!("| {} | {}{name} | {alerts} |\n", r.tactic, r.technique));
    }
    out
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(header.to_vec());
    t
}

/// The kind of an alert: the Sigma rule kind, or `rust`.
fn kind(alert: &dyn tripline_alerts::Alert, report: &LoadReport) -> (String, String) {
    match report.loaded.iter().find(|(n, _)| n == alert.name()) {
        Some((_, source)) => ("sigma".to_string(), source.clone()),
        None => ("rust".to_string(), "crates/alerts".to_string()),
    }
}

pub async fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::List { catalog } => {
            let (registry, report) = catalog.checked()?;
            let mut t = table(&["alert", "kind", "severity", "schedule", "file", "what it detects"]);
            for a in registry.iter() {
                let m = a.meta();
                let (k, file) = kind(a.as_ref(), &report);
                t.add_row([
                    m.name.clone(),
                    k,
                    m.severity.as_str().into(),
                    m.schedule.clone(),
                    file,
                    m.description.clone(),
                ]);
            }
            println!("{t}");
            println!("{} alerts", registry.len());
            Ok(())
        }
        Command::Check { catalog, quiet } => {
            let (registry, report) = catalog.load();
            if !quiet {
                for (name, source) in &report.loaded {
                    println!("loaded   {name:<40} {source}");
                }
                for (name, source) in &report.parts {
                    println!("part     {name:<40} {source} (correlated only, generate: false)");
                }
            }
            for r in &report.refused {
                println!("refused  {r}");
            }
            println!(
                "{} loaded, {} correlated only, {} refused",
                report.loaded.len(),
                report.parts.len(),
                report.refused.len()
            );
            if let Err(e) = catalog.tuned(registry) {
                bail!("{e:#}");
            }
            if !report.refused.is_empty() {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Test { catalog, alerts } => test(&catalog, &alerts).await,
        Command::Coverage { catalog, markdown } => {
            let rows = tripline_alerts::attack::coverage(&catalog.registry()?);
            if markdown {
                print!("{}", coverage_markdown(&rows));
            } else {
                let mut t = table(&["tactic", "technique", "name", "alerts"]);
                for r in &rows {
                    let alerts = if r.alerts.is_empty() { "(none)".to_string() } else { r.alerts.join(", ") };
                    t.add_row([r.tactic.clone(), r.technique.clone(), r.name.clone(), alerts]);
                }
                println!("{t}");
            }
            let covered = rows.iter().filter(|r| !r.alerts.is_empty()).count();
            eprintln!("{covered} of {} tactic/technique rows covered", rows.len());
            Ok(())
        }
        Command::Show { name, catalog } => {
            let registry = catalog.registry()?;
            let Some(alert) = registry.get(&name) else {
                bail!("no alert named {name:?} (`tripline rules list` shows the names)");
            };
            let meta = alert.meta();
            println!("{}", serde_json::to_string_pretty(meta)?);
            let compiled = alert.query().compile(chrono::Utc::now())?;
            println!("\n# query (AST), without the time window\n{:#?}", compiled.filter);
            println!("\n# plan\n{:?}", alert.plan());
            println!(
                "\n# OpenSearch query (at the current clock)\n{}",
                serde_json::to_string_pretty(&tripline_dsl::opensearch::query(&compiled.query))?
            );
            Ok(())
        }
    }
}

/// Where a case's `file:` paths are relative to: the rule file's folder (built-in rules: in the
/// repository the binary was built from).
fn base_dir(source: &str) -> PathBuf {
    let p = Path::new(source);
    let p = if p.is_absolute() || p.exists() {
        p.to_path_buf()
    } else {
        Path::new(tripline_alerts::RULES_ROOT).join(p)
    };
    p.parent().map(Path::to_path_buf).unwrap_or_default()
}

async fn test(catalog: &Catalog, only: &[String]) -> anyhow::Result<()> {
    let (registry, report) = catalog.checked()?;
    for n in only {
        if registry.get(n).is_none() {
            bail!("--alert: no alert named {n:?}");
        }
    }
    let mut t = table(&["alert", "case", "result", "detail"]);
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut untested = Vec::new();
    for a in registry.iter() {
        if !only.is_empty() && !only.iter().any(|n| n == a.name()) {
            continue;
        }
        let sets: Vec<_> = report.cases.iter().filter(|c| c.alert == a.name()).collect();
        if sets.is_empty() {
            untested.push(a.name().to_string());
        }
        for set in sets {
            for case in &set.cases {
                let store = EmbeddedStore::in_memory()?;
                let outcome =
                    tripline_runtime::cases::run_case(&store, a.as_ref(), case, &base_dir(&set.source)).await;
                let (result, detail) = match outcome {
                    Ok(o) if o.failure.is_none() => {
                        passed += 1;
                        (
                            "ok".to_string(),
                            format!(
                                "{} event(s), {} alert(s) at {}",
                                o.events,
                                o.raised.len(),
                                tripline_event::format_timestamp(o.at)
                            ),
                        )
                    }
                    Ok(o) => {
                        failed += 1;
                        ("FAILED".to_string(), o.failure.unwrap_or_default())
                    }
                    Err(e) => {
                        failed += 1;
                        ("ERROR".to_string(), format!("{}, line {}: {e}", set.source, case.pos.line))
                    }
                };
                t.add_row([a.name().to_string(), case.name.clone(), result, detail]);
            }
        }
    }
    println!("{t}");
    println!("{passed} passed, {failed} failed; {} alert(s) without cases", untested.len());
    if !untested.is_empty() {
        println!("without cases: {}", untested.join(", "));
    }
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_shows_the_builtin_coverage() {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).expect("README");
        let marker = "<!-- coverage:start -->\n";
        let start = readme.find(marker).expect("start marker") + marker.len();
        let end = readme.find("<!-- coverage:end -->").expect("end marker");
        let want =
            coverage_markdown(&tripline_alerts::attack::coverage(&tripline_alerts::Registry::builtin()));
        assert!(
            readme[start..end] == want,
            "README's coverage table is stale: paste `tripline rules coverage --markdown` between the markers"
        );
    }
}
