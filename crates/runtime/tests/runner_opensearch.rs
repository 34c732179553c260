//! The runner against the OpenSearch store (a real OpenSearch node: make test's, or `TRIPLINE_OPENSEARCH_URL`): the same
//! checks as on the embedded store.

mod common;

use tripline_store::opensearch::OpenSearchStore;

async fn store() -> OpenSearchStore {
    common::opensearch_store("rr").await
}

#[tokio::test]
async fn simple_alerts_raise_per_event_and_dedup() {
    common::simple(&store().await).await;
}

#[tokio::test]
async fn simple_alerts_judge_every_page() {
    common::simple_pages(&store().await).await;
}

#[tokio::test]
async fn aggregation_counts_beyond_samples_and_tags_the_group() {
    common::aggregation(&store().await).await;
}

#[tokio::test]
async fn deadman_raises_once_per_silent_window() {
    common::deadman(&store().await).await;
}

#[tokio::test]
async fn both_stores_raise_the_same_alerts() {
    let events = common::mixed_events();
    let (_, os) = common::raised_on(&store().await, &events).await;
    let embedded = tripline_store::embedded::EmbeddedStore::in_memory().expect("embedded");
    let (_, local) = common::raised_on(&embedded, &events).await;
    assert_eq!(os.len(), 2, "{os:?}");
    assert_eq!(os, local, "same summaries over the same events on both stores");
}

#[tokio::test]
async fn a_late_burst_raises_an_aggregation_once_from_the_settled_pass() {
    common::late_aggregation(&store().await).await;
}

#[tokio::test]
async fn a_dry_run_leaves_out_what_the_settled_pass_raised() {
    common::dry_run_dedups_like_tags(&store().await).await;
}

#[tokio::test]
async fn a_late_event_raises_a_simple_alert_exactly_once() {
    common::late_simple(&store().await, &store().await).await;
}

#[tokio::test]
async fn aggregations_never_count_beyond_a_window_of_their_length() {
    common::aggregation_windows_are_w_long(&store().await).await;
}
