//! Every Sigma modifier and condition form, as rules with raw CloudTrail records
//! (`tests/sigma/*.yml`, one rule per form, each with cases that match and cases that must not),
//! on both stores: an in-memory embedded store and a real OpenSearch node.

mod common;

use std::path::{Path, PathBuf};

use tripline_runtime::cases::{load, run_case};
use tripline_store::embedded::EmbeddedStore;
use tripline_store::opensearch::OpenSearchStore;
use tripline_store::EventStore;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/sigma")
}

async fn opensearch() -> OpenSearchStore {
    common::opensearch_store("sc").await
}

async fn conformance<S: EventStore, F: std::future::Future<Output = S>>(store: impl Fn() -> F) {
    let (registry, report) = load(&[dir()]);
    assert!(report.refused.is_empty(), "{:#?}", report.refused);
    let mut failures = Vec::new();
    let mut ran = 0;
    for set in report.cases.iter().filter(|c| c.alert.starts_with("c_")) {
        let alert = registry.get(&set.alert).expect("loaded");
        for case in &set.cases {
            ran += 1;
            let s = store().await;
            match run_case(&s, alert.as_ref(), case, &dir()).await {
                Ok(o) => failures.extend(o.failure.map(|f| format!("{} / {}: {f}", set.alert, case.name))),
                Err(e) => failures.push(format!("{} / {}: {e}", set.alert, case.name)),
            }
        }
    }
    assert!(ran >= 60, "only {ran} cases");
    assert!(failures.is_empty(), "{} of {ran} failed:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn every_modifier_and_condition_on_the_embedded_store() {
    conformance(|| async { EmbeddedStore::in_memory().expect("store") }).await;
}

#[tokio::test]
async fn every_modifier_and_condition_on_opensearch() {
    conformance(opensearch).await;
}
