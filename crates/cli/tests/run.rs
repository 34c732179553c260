//! `tripline run` end to end: events in an embedded store on disk, the real binary, its output.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};
use tripline_event::Event;
use tripline_store::embedded::EmbeddedStore;
use tripline_store::EventStore;

const AT: &str = "2026-11-23T12:00:00Z";

fn create_user(user: &str, minute: u32) -> Event {
    let t = tripline_dsl::parse_timestamp(&format!("2026-11-23T11:{minute:02}:00Z")).expect("time");
    let mut e = Event::new("cloudtrail", "AwsApiCall", format!("CreateUser {user}"), t, t);
    e.details.insert("eventsource".into(), json!("iam.amazonaws.com"));
    e.details.insert("eventname".into(), json!("CreateUser"));
    e.details.insert("requestparameters_username".into(), json!(user));
    e.details.insert("sourceipaddress".into(), json!("198.51.100.4"));
    e.details.insert("useridentity".into(), json!({"type": "IAMUser", "arn": "arn:aws:iam::1:user/admin"}));
    e
}

async fn seed(dir: &Path) {
    let store = EmbeddedStore::open(dir).expect("open store");
    let mut other = create_user("x", 50);
    other.details.insert("eventname".into(), json!("DeleteUser"));
    let r = store
        .index_events(&[create_user("mallory", 50), create_user("trent", 55), other])
        .await
        .expect("index");
    assert!(r.failed.is_empty(), "{:?}", r.failed);
}

fn tripline(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripline"))
        .arg("--store")
        .arg(dir)
        .arg("run")
        .args(args)
        .output()
        .expect("run the tripline binary")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test]
async fn runs_alerts_as_a_table_or_json_lines_and_records_them_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("store");
    seed(&dir).await;

    let dry = tripline(&dir, &["--alert", "iam_create_user", "--at", AT, "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let table = text(&dry.stdout);
    assert!(table.contains("iam_create_user") && table.contains("NOTICE"), "{table}");
    assert!(table.contains("mallory") && table.contains("trent"), "{table}");
    assert!(table.contains("2026-11-23T11:55:00.000Z"), "the time column shows the event's time: {table}");
    assert!(text(&dry.stderr).contains("2 alert(s) from 1 rule(s)"), "{}", text(&dry.stderr));

    let first = tripline(&dir, &["--alert", "iam_create_user", "--at", AT, "--json"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let lines: Vec<Value> =
        text(&first.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines.len(), 2, "the dry run recorded nothing");
    assert!(lines
        .iter()
        .all(|a| a["classname"] == "iam_create_user" && a["utctimestamp"] == "2026-11-23T12:00:00.000Z"));

    let second = tripline(&dir, &["--alert", "iam_create_user", "--at", AT, "--json"]);
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert_eq!(text(&second.stdout).lines().count(), 0, "events that raised the alert are left out");

    let store = EmbeddedStore::open(&dir).expect("reopen");
    let alerts = store.search_alerts(&tripline_dsl::QueryAst::MatchAll, 100).await.expect("alerts");
    assert_eq!(alerts.total, 2);
}

#[test]
fn unknown_alerts_and_bad_times_fail_with_a_reason() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("store");
    std::fs::create_dir_all(&dir).expect("dir");
    let unknown = tripline(&dir, &["--alert", "no_such_alert"]);
    assert!(!unknown.status.success());
    assert!(text(&unknown.stderr).contains("no alert named \"no_such_alert\""), "{}", text(&unknown.stderr));
    let bad = tripline(&dir, &["--at", "yesterday"]);
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("RFC 3339"), "{}", text(&bad.stderr));
    let missing = tripline(&tmp.path().join("nothing-here"), &[]);
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("no store at"), "{}", text(&missing.stderr));
}

/// (b) on the command line: yesterday's CreateUser calls ingested just now raise nothing at
/// today's clock (`tripline run` without `--at`), and raise at `--at` their own time what they
/// raise there. `--lateness` is range-checked.
#[tokio::test]
async fn a_backfill_raises_at_its_own_time_only() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("store");
    let now = chrono::Utc::now();
    let yesterday = now - chrono::TimeDelta::days(1);
    let mut events = Vec::new();
    for (user, minutes) in [("mallory", 10), ("trent", 5)] {
        let mut e = create_user(user, 0);
        e.utctimestamp = yesterday - chrono::TimeDelta::minutes(minutes);
        e.timestamp = e.utctimestamp;
        e.receivedtimestamp = now - chrono::TimeDelta::minutes(1);
        events.push(e);
    }
    {
        let store = EmbeddedStore::open(&dir).expect("open store");
        let r = store.index_events(&events).await.expect("index");
        assert!(r.failed.is_empty(), "{:?}", r.failed);
    }

    let today = tripline(&dir, &["--alert", "iam_create_user", "--json", "--dry-run"]);
    assert!(today.status.success(), "{}", text(&today.stderr));
    assert_eq!(
        text(&today.stdout).lines().count(),
        0,
        "received now, happened yesterday: {}",
        text(&today.stdout)
    );

    let at = tripline_event::format_timestamp(yesterday);
    let then = tripline(&dir, &["--alert", "iam_create_user", "--at", &at, "--json", "--lateness", "0s"]);
    assert!(then.status.success(), "{}", text(&then.stderr));
    let lines: Vec<Value> =
        text(&then.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().any(|a| a["summary"].as_str().unwrap_or("").contains("mallory")), "{lines:?}");

    for bad in ["25h", "-5m", "soon"] {
        let out = tripline(&dir, &[&format!("--lateness={bad}")]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("0s to 24h"), "{bad}: {}", text(&out.stderr));
    }
}
