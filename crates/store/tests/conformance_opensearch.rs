//! The conformance suite (`tests/conformance/*.json`) against the OpenSearch store: the real node
//! make test starts (or one started for this test process), or the cluster `TRIPLINE_OPENSEARCH_URL` points at.

mod common;

use tripline_store::opensearch::{OpenSearchConfig, OpenSearchStore};

/// The local test node, or the cluster as the environment describes it, templates installed.
async fn store() -> OpenSearchStore {
    let url = tripline_testkit::opensearch_url();
    let config = if tripline_testkit::real_opensearch() {
        // A real cluster, with the authentication the environment describes.
        OpenSearchConfig::from_env().expect("TRIPLINE_OPENSEARCH_* configuration")
    } else {
        OpenSearchConfig::for_url(url).expect("OpenSearch URL")
    };
    let store = OpenSearchStore::connect(config).await.expect("connect");
    store.ensure_templates().await.expect("install the index templates");
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reingesting_keeps_alert_names() {
    let category = format!("reingest:opensearch:{}", std::process::id());
    common::reingesting_keeps_alert_names(&store().await, &category).await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_opensearch() {
    let store = store().await;
    // TRIPLINE_CONFORMANCE_DIR runs another directory of cases (a subset, a draft).
    let dir = std::env::var_os("TRIPLINE_CONFORMANCE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(common::cases_dir);
    match common::run_suite(&store, &dir).await {
        Ok(summary) => {
            assert!(summary.passed >= 10, "too few cases ran: {summary:?}");
            eprintln!("{} files, {} cases passed, {} events", summary.files, summary.passed, summary.events);
        }
        Err(report) => panic!("{report}"),
    }
}
