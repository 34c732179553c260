//! The conformance suite (`tests/conformance/*.json`) against the embedded store, in RAM and on
//! disk.

mod common;

use tripline_store::embedded::EmbeddedStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_in_memory() {
    let store = EmbeddedStore::in_memory().expect("in-memory store");
    match common::run_suite(&store, &common::cases_dir()).await {
        Ok(summary) => {
            assert!(summary.passed >= 10, "too few cases ran: {summary:?}");
            eprintln!("{} files, {} cases passed, {} events", summary.files, summary.passed, summary.events);
        }
        Err(report) => panic!("{report}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path()).expect("on-disk store");
    if let Err(report) = common::run_suite(&store, &common::cases_dir()).await {
        panic!("{report}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reingesting_keeps_alert_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path()).expect("on-disk store");
    common::reingesting_keeps_alert_names(&store, "reingest:embedded")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}
