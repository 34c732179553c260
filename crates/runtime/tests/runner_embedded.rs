//! The runner against the embedded (tantivy) store: simple, aggregation, deadman, dedup, ids.

mod common;

use tripline_store::embedded::EmbeddedStore;

fn store() -> EmbeddedStore {
    EmbeddedStore::in_memory().expect("in-memory store")
}

#[tokio::test]
async fn simple_alerts_raise_per_event_and_dedup() {
    common::simple(&store()).await;
}

#[tokio::test]
async fn aggregation_counts_beyond_samples_and_tags_the_group() {
    common::aggregation(&store()).await;
}

#[tokio::test]
async fn deadman_raises_once_per_silent_window() {
    common::deadman(&store()).await;
}

#[tokio::test]
async fn ids_are_deterministic_across_stores_and_orders() {
    let events = common::mixed_events();
    let mut reversed = events.clone();
    reversed.reverse();
    let (a, _) = common::raised_on(&store(), &events).await;
    let (b, _) = common::raised_on(&store(), &reversed).await;
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!(a, b, "same events, same alert ids, whatever the order they were stored in");
}
