//! `tripline ingest` end to end: the binary, real fixture files, the embedded store.

use std::path::PathBuf;
use std::process::Command;

use tripline_dsl::QueryAst;
use tripline_store::embedded::EmbeddedStore;
use tripline_store::{EventStore, SearchRequest, Sort};

fn events_dir(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events").join(rel)
}

fn tripline(store: &std::path::Path, args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tripline"))
        .arg("--store")
        .arg(store)
        .arg("ingest")
        .arg("--quiet")
        .args(args)
        .output()
        .expect("run tripline")
}

async fn count(store: &EmbeddedStore, query: QueryAst) -> u64 {
    store.search(&SearchRequest { query, size: 0, sort: Sort::NewestFirst }).await.unwrap().total
}

#[tokio::test]
async fn ingests_folders_and_gzip_into_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let out = tripline(
        &store_dir,
        &[events_dir("cloudtrail").as_os_str(), events_dir("vpcflow/v5-custom.log").as_os_str()],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // malformed.json has two bad records: reported, the rest ingested, exit 0.
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("cloudtrail"), "{stdout}");
    assert!(stdout.contains("malformed.json: record 2: invalid JSON"), "{stdout}");
    assert!(stdout.contains("missing_field"), "{stdout}");
    assert!(stdout.contains("flow_nodata_skipdata"), "{stdout}");
    assert!(stdout.contains("records/s"), "{stdout}");

    let store = EmbeddedStore::open_read_only(&store_dir).unwrap();
    // 11 records in the delivery file, the same 11 in its .gz copy and 1 in the EventBridge event
    // collapse to 11 (deterministic ids), plus the 2 good ones of malformed.json (also duplicates).
    let ct = count(&store, QueryAst::Term { field: "source".into(), value: "cloudtrail".into() }).await;
    assert_eq!(ct, 11);
    let flows = count(&store, QueryAst::Term { field: "source".into(), value: "vpc_flow".into() }).await;
    assert_eq!(flows, 3);
    let stop =
        count(&store, QueryAst::Term { field: "details.eventname".into(), value: "StopLogging".into() })
            .await;
    assert_eq!(stop, 1);
}

#[test]
fn exits_non_zero_when_every_record_fails() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"Records\":[{\"eventVersion\":\"1\",\"eventName\":\"X\",\"eventSource\":\"s3.amazonaws.com\"}, {oops}]}").unwrap();
    let out = tripline(&dir.path().join("store"), &[bad.as_os_str()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("every record failed"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("bad.json: record 1"));
}
