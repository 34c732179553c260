//! A writer killed in the middle of a batch leaves exactly the committed batches.
//!
//! The test re-runs its own binary as a child (`crash_child`, selected by an environment variable)
//! that commits one batch, says so, then starts a large second batch; the parent kills it with
//! SIGKILL before that batch can commit and opens the store.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::TimeDelta;
use tripline_dsl::QueryAst;
use tripline_event::Event;
use tripline_store::embedded::EmbeddedStore;
use tripline_store::{EventStore, SearchRequest, Sort};

const CHILD_ENV: &str = "TRIPLINE_CRASH_CHILD_DIR";
const FIRST: usize = 1_000;

fn events(from: usize, n: usize) -> Vec<Event> {
    let t0 = tripline_dsl::parse_timestamp("2026-11-23T00:00:00Z").expect("timestamp");
    (from..from + n)
        .map(|i| {
            let t = t0 + TimeDelta::milliseconds(i as i64);
            let mut e = Event::new("cloudtrail", "AwsApiCall", format!("event {i}"), t, t);
            e.details.insert("n".into(), i.into());
            e
        })
        .collect()
}

/// The child's part; does nothing unless started by `killed_writer_keeps_only_committed_batches`.
#[tokio::test]
async fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else { return };
    let store = EmbeddedStore::open(&dir).expect("child opens the store");
    store.index_events(&events(0, FIRST)).await.expect("first batch");
    println!("COMMITTED");
    // Large enough to take seconds in a debug build; the parent kills us meanwhile.
    let second = events(FIRST, 400_000);
    println!("STARTED");
    store.index_events(&second).await.expect("second batch");
    println!("FINISHED");
}

#[tokio::test]
async fn killed_writer_keeps_only_committed_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args(["--exact", "crash_child", "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the child");
    let stdout = child.stdout.take().expect("child stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("child output");
        if line.contains("COMMITTED") || line.contains("STARTED") {
            seen.push(line.clone());
        }
        if line.contains("STARTED") {
            break;
        }
    }
    assert_eq!(seen.len(), 2, "the child did not get to its second batch: {seen:?}");
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().expect("kill the child"); // SIGKILL: no destructors, no commit
    child.wait().expect("reap the child");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(!rest.iter().any(|l| l.contains("FINISHED")), "the second batch finished before the kill");

    let store = EmbeddedStore::open(dir.path()).expect("reopen after the crash");
    let all = store
        .search(&SearchRequest { query: QueryAst::MatchAll, size: 1, sort: Sort::NewestFirst })
        .await
        .expect("search");
    assert_eq!(all.total, FIRST as u64, "only the committed batch is there");
    assert_eq!(all.hits[0].source["details"]["n"], FIRST - 1);
    // And the store is writable again (the dead process's lock is gone).
    store.index_events(&events(FIRST, 10)).await.expect("write after the crash");
}
