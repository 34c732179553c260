//! A damaged store is detected and named, never a panic and never a quiet wrong answer: bytes
//! flipped in the middle of each kind of segment file are found by `verify` (the checksum in the
//! file's footer), and a read that trips over them answers `StoreError::Damaged` naming the file.
//! On 72cfd1d flipped bytes in `.fast` panicked the aggregation (an abort in release builds), and
//! in `.term`/`.idx`/`.pos` went unnoticed.

use std::path::{Path, PathBuf};

use chrono::TimeDelta;
use tripline_dsl::{Aggregation, QueryAst};
use tripline_event::Event;
use tripline_store::embedded::EmbeddedStore;
use tripline_store::{EventStore, SearchRequest, Sort, StoreError};

fn events(n: usize) -> Vec<Event> {
    let t0 = tripline_dsl::parse_timestamp("2026-11-23T00:00:00Z").expect("timestamp");
    (0..n)
        .map(|i| {
            let t = t0 + TimeDelta::seconds(i as i64);
            let mut e = Event::new("cloudtrail", "AwsApiCall", format!("event number {i} by user"), t, t);
            e.details.insert("user".into(), format!("user{}", i % 37).into());
            e.details.insert("port".into(), (i % 1000).into());
            e.details.insert("arn".into(), format!("arn:aws:iam::123456789012:user/u{i}").into());
            e
        })
        .collect()
}

/// A store of one segment in `dir`, closed.
async fn make_store(dir: &Path) {
    let store = EmbeddedStore::open(dir).expect("open");
    store.index_events(&events(3000)).await.expect("write");
}

/// The one segment file with this extension.
fn segment_file(dir: &Path, ext: &str) -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().and_then(|x| x.to_str()) == Some(ext))
        .collect();
    assert_eq!(found.len(), 1, "one .{ext} file expected: {found:?}");
    found.remove(0)
}

/// Flip every bit of 64 bytes in the middle of the file.
fn flip_middle(path: &Path) {
    let mut bytes = std::fs::read(path).expect("read");
    assert!(bytes.len() > 256, "{} is too small to damage in the middle", path.display());
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid - 32..mid + 32] {
        *b = !*b;
    }
    std::fs::write(path, bytes).expect("write");
}

async fn read_everything(store: &EmbeddedStore) -> Result<(), StoreError> {
    store.search(&SearchRequest { query: QueryAst::MatchAll, size: 3000, sort: Sort::NewestFirst }).await?;
    store
        .aggregate(
            &QueryAst::MatchAll,
            &[
                Aggregation::terms("details.user").size(100).samples(2).named("u"),
                Aggregation::terms("details.port").size(1000).named("p"),
            ],
        )
        .await?;
    Ok(())
}

#[tokio::test]
async fn an_intact_store_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_store(dir.path()).await;
    let store = EmbeddedStore::open_read_only(dir.path()).expect("open");
    let v = store.verify().await.expect("verify");
    assert!(v.is_ok(), "{v}");
    assert_eq!(v.segments, 1);
    assert!(v.files >= 5 && v.checked == v.files && v.bytes > 10_000, "{v:?}");
    read_everything(&store).await.expect("an intact store reads");
    let again = EmbeddedStore::verify_dir(dir.path()).expect("verify_dir");
    assert_eq!((again.files, again.checked, again.damaged.len()), (v.files, v.files, 0));
}

#[tokio::test]
async fn flipped_bytes_in_any_segment_file_are_named() {
    for ext in ["fast", "term", "idx", "pos", "store", "fieldnorm"] {
        let dir = tempfile::tempdir().expect("tempdir");
        make_store(dir.path()).await;
        // Opened once intact: its files are remembered as verified.
        let intact = EmbeddedStore::open_read_only(dir.path()).expect("open intact");
        read_everything(&intact).await.expect("intact reads");
        drop(intact);
        let file = segment_file(dir.path(), ext);
        let name = file.file_name().and_then(|n| n.to_str()).expect("name").to_owned();
        flip_middle(&file);

        // The changed file is checked again at the next open, which refuses, naming it.
        match EmbeddedStore::open_read_only(dir.path()) {
            Err(StoreError::Damaged(msg)) => {
                assert!(msg.contains(&name) && msg.contains("checksum"), "{msg}")
            }
            Err(other) => panic!(".{ext}: expected Damaged, got {other}"),
            Ok(_) => panic!(".{ext}: a damaged store opened as if intact"),
        }
        match EmbeddedStore::open(dir.path()) {
            Err(StoreError::Damaged(msg)) => assert!(msg.contains(&name), "{msg}"),
            other => panic!(".{ext}: the writer opened a damaged store: {:?}", other.map(|_| ())),
        }
        let v = EmbeddedStore::verify_dir(dir.path()).expect("verify runs on a damaged store");
        assert_eq!(v.damaged, vec![(name.clone(), "checksum mismatch".to_owned())], ".{ext}: {v}");
        assert!(v.to_string().contains(&name), "{v}");
    }
}

#[tokio::test]
async fn damage_after_open_is_named_by_the_read_that_meets_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_store(dir.path()).await;
    let store = EmbeddedStore::open_read_only(dir.path()).expect("open intact");
    // Damaged behind the open store's back (the files are memory-mapped: the change shows).
    let file = segment_file(dir.path(), "store");
    let name = file.file_name().and_then(|n| n.to_str()).expect("name").to_owned();
    flip_middle(&file);
    let v = store.verify().await.expect("verify");
    assert_eq!(v.damaged.len(), 1, "{v}");
    match read_everything(&store).await {
        Err(StoreError::Damaged(msg)) => assert!(msg.contains(&name), "{msg}"),
        other => panic!("reading damaged documents: expected Damaged naming {name}, got {other:?}"),
    }
}

#[tokio::test]
async fn a_missing_segment_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_store(dir.path()).await;
    let file = segment_file(dir.path(), "fast");
    std::fs::remove_file(&file).expect("remove");
    let name = file.file_name().and_then(|n| n.to_str()).expect("name");
    match EmbeddedStore::open_read_only(dir.path()) {
        Err(StoreError::Damaged(msg)) => assert!(msg.contains(name) && msg.contains("missing"), "{msg}"),
        other => panic!("expected Damaged, got {:?}", other.map(|_| ())),
    }
    let v = EmbeddedStore::verify_dir(dir.path()).expect("verify");
    assert!(v.damaged.iter().any(|(f, why)| f == name && why == "missing"), "{v}");
}
