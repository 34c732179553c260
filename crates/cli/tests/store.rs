//! `tripline store verify` on the real binary: an intact store passes, a damaged one is named
//! (and `search` on it refuses with the same names instead of answering).

use std::path::Path;
use std::process::{Command, Output};

use chrono::TimeDelta;
use tripline_event::Event;
use tripline_store::embedded::EmbeddedStore;
use tripline_store::EventStore;

fn tripline(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripline"))
        .arg("--store")
        .arg(dir)
        .args(args)
        .output()
        .expect("run tripline")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test]
async fn verify_names_the_damaged_file_and_search_refuses() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("store");
    {
        let store = EmbeddedStore::open(&dir).expect("open");
        let t0 = tripline_dsl::parse_timestamp("2026-11-23T00:00:00Z").expect("time");
        let events: Vec<Event> = (0..2000)
            .map(|i| {
                let t = t0 + TimeDelta::seconds(i);
                let mut e = Event::new("cloudtrail", "AwsApiCall", format!("event {i}"), t, t);
                e.details.insert("user".into(), format!("u{}", i % 13).into());
                e
            })
            .collect();
        store.index_events(&events).await.expect("write");
    }
    let ok = tripline(&dir, &["store", "verify"]);
    assert!(ok.status.success(), "{}{}", text(&ok.stdout), text(&ok.stderr));
    assert!(text(&ok.stdout).contains("all checksums match"), "{}", text(&ok.stdout));

    let fast = std::fs::read_dir(&dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|x| x == "fast"))
        .expect("a .fast file");
    let name = fast.file_name().and_then(|n| n.to_str()).expect("name").to_owned();
    let mut bytes = std::fs::read(&fast).expect("read");
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid - 16..mid + 16] {
        *b = !*b;
    }
    std::fs::write(&fast, bytes).expect("write");

    let bad = tripline(&dir, &["store", "verify"]);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad.stderr));
    let out = text(&bad.stdout) + &text(&bad.stderr);
    assert!(out.contains(&name) && out.contains("checksum mismatch"), "{out}");

    let search = tripline(&dir, &["search", "*", "--count-by", "details.user"]);
    assert!(!search.status.success(), "a damaged store must not answer: {}", text(&search.stdout));
    let err = text(&search.stderr);
    assert!(err.contains("damaged") && err.contains(&name), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
