//! `tripline search` end to end: hostile or careless arguments against the built binary. Each
//! is refused before the store is read, with a usage error (exit 2) naming the argument and what
//! it accepts, or answered plainly; none panics or aborts.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};
use tripline_event::Event;
use tripline_store::embedded::EmbeddedStore;
use tripline_store::EventStore;

fn event(at: &str, user: &str) -> Event {
    let t = tripline_dsl::parse_timestamp(at).expect("time");
    let mut e = Event::new("cloudtrail", "AwsApiCall", format!("DescribeInstances by {user}"), t, t);
    e.details.insert("user".into(), json!(user));
    e.details.insert("useridentity".into(), json!({"arn": format!("arn:aws:iam::1:user/{user}")}));
    e
}

/// Three events over 26 years: 2000, and two in 2026.
async fn seed(dir: &Path) {
    let store = EmbeddedStore::open(dir).expect("open store");
    let r = store
        .index_events(&[
            event("2000-01-01T00:00:00Z", "alice"),
            event("2026-01-01T00:00:00Z", "alice"),
            event("2026-01-01T00:30:00Z", "bob"),
        ])
        .await
        .expect("index");
    assert!(r.failed.is_empty(), "{:?}", r.failed);
}

fn search(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripline"))
        .arg("--store")
        .arg(dir)
        .arg("search")
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run the tripline binary")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `args` are refused as a usage error whose message contains every one of `needles`.
fn refused(dir: &Path, args: &[&str], needles: &[&str]) {
    let out = search(dir, args);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?} should be a usage error, not {:?}: {err}", out.status);
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: the message should contain {n:?}: {err}");
    }
}

#[tokio::test]
async fn out_of_range_numbers_durations_and_times_are_usage_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("store");
    seed(&dir).await;

    // Once a chrono overflow panic.
    refused(&dir, &["*", "--last", "99999999d"], &["--last", "1s to 100 years"]);
    refused(&dir, &["*", "--last", "36526d"], &["--last", "1s to 100 years"]);
    refused(&dir, &["*", "--last", "99999999999999999999999s"], &["--last", "1s to 100 years"]);
    refused(&dir, &["*", "--last", "0s"], &["--last", "1s to 100 years"]);
    refused(&dir, &["*", "--last", "24"], &["--last", "s, m, h or d"]);
    // Once an abort on allocation.
    refused(&dir, &["*", "--limit", "18446744073709551615"], &["--limit", "1 to 10000"]);
    refused(&dir, &["*", "--limit", "10001"], &["--limit", "1 to 10000"]);
    refused(&dir, &["*", "--limit", "0"], &["--limit", "1 to 10000"]);
    refused(&dir, &["*", "--limit", "-1"], &["--limit", "1 to 10000"]);
    refused(&dir, &["*", "--histogram", "99999999999999d"], &["--histogram", "1s to 100 years"]);
    refused(&dir, &["*", "--histogram", "0m"], &["--histogram", "1s to 100 years"]);
    // Times the stores cannot hold are refused, not compared as if they could.
    for far in ["9999-01-01T00:00:00Z", "1600-01-01T00:00:00Z", "2262-01-01T00:00:00Z"] {
        refused(&dir, &["*", "--from", far], &["--from", "outside the range", "1678-01-01", "2261-12-31"]);
    }
    refused(&dir, &["*", "--to", "yesterday"], &["--to", "RFC 3339"]);
    refused(&dir, &["*", "--count-by", ""], &["--count-by", "empty"]);
    refused(&dir, &["*", "--count-by", "details..user"], &["--count-by", "dotted path"]);
    refused(&dir, &["*", "--count-by", "details.user "], &["--count-by", "spaces"]);

    // The boundaries themselves are accepted.
    for ok in [
        &["*", "--last", "36525d", "--limit", "10000"][..],
        &["*", "--last", "1s", "--limit", "1"],
        &["*", "--from", "1678-01-01T00:00:00Z", "--to", "2261-12-31T23:59:59.999Z"],
    ] {
        let out = search(&dir, ok);
        assert!(out.status.success(), "{ok:?}: {}", text(&out.stderr));
    }
    let out = search(&dir, &["*", "--last", "36525d", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["total"], 3, "100 years back reaches the event of 2000");
}

#[tokio::test]
async fn count_by_a_field_no_matching_event_has_says_so() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("store");
    seed(&dir).await;

    let out = search(&dir, &["*", "--count-by", "details.nope"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "no matching event has details.nope; 3 events matched\n");

    // A near miss names the field the events do have.
    let out = search(&dir, &["*", "--count-by", "details.userIdentity.arn"]);
    let t = text(&out.stdout);
    assert!(t.contains("no matching event has details.userIdentity.arn; 3 events matched"), "{t}");
    assert!(t.contains("matching events have details.useridentity.arn"), "{t}");

    let out = search(&dir, &["details.user:nobody", "--count-by", "details.user"]);
    assert!(text(&out.stdout).starts_with("no event matches the search"), "{}", text(&out.stdout));

    // A real field still counts, and says when --limit hides values.
    let out = search(&dir, &["*", "--count-by", "details.user", "--limit", "1"]);
    let t = text(&out.stdout);
    assert!(t.contains("alice") && t.contains("3 events match"), "{t}");
    assert!(t.contains("the 1 most frequent of 2 distinct values;"), "{t}");
}

#[tokio::test]
async fn a_histogram_cannot_explode_into_buckets() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("store");
    seed(&dir).await;

    // 26 years in one-second buckets: refused with a width that fits.
    let out = search(&dir, &["*", "--histogram", "1s"]);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(err.contains("--histogram 1s") && err.contains("at most 10000"), "{err}");
    assert!(err.contains("choose a width of at least 23h"), "{err}");
    // Narrowed to the two events of 2026, one-second buckets are fine.
    let out = search(&dir, &["*", "--from", "2026-01-01T00:00:00Z", "--histogram", "1s", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["buckets"].as_array().map(Vec::len), Some(2), "{v}");
    let out = search(&dir, &["*", "--histogram", "1d"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("3 events match"), "{}", text(&out.stdout));
    let out = search(&dir, &["details.user:nobody", "--histogram", "1h"]);
    assert!(text(&out.stdout).contains("nothing to plot"), "{}", text(&out.stdout));
}

/// A bucket policy padded past the keyword limit cannot be found by a wildcard, on either store:
/// the search says how many events it may have missed instead of answering as if complete.
#[tokio::test]
async fn a_search_that_could_match_an_unindexed_value_says_so() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("store");
    {
        let store = EmbeddedStore::open(&dir).expect("open store");
        let mut padded = event("2026-01-01T00:00:00Z", "mallory");
        let policy = format!(r#"{{"Statement":[{{"Principal":"*","Sid":"{}"}}]}}"#, "x".repeat(9000));
        padded.details.insert("requestparameters".into(), json!(policy));
        let mut plain = event("2026-01-01T00:01:00Z", "alice");
        plain.details.insert("requestparameters".into(), json!(r#"{"Statement":[{"Principal":"*"}]}"#));
        let r = store.index_events(&[padded, plain]).await.expect("index");
        assert!(r.failed.is_empty(), "{:?}", r.failed);
    }
    let out = search(&dir, &[r#"details.requestparameters:*Principal*"#]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("1 event matches") || stdout.contains("1 event"), "{stdout}");
    assert!(stdout.contains("note: 1 more event holds a value longer than 8191 characters"), "{stdout}");

    let json_out = search(&dir, &["details.requestparameters:*Principal*", "--json"]);
    let v: Value = serde_json::from_slice(&json_out.stdout).expect("JSON");
    assert_eq!((v["total"].as_u64(), v["unindexed_candidates"].as_u64()), (Some(1), Some(1)), "{v}");
    // The padded event is still there, whole, and names its unindexed field.
    let found = search(&dir, &["unindexed:details.requestparameters", "--json"]);
    let v: Value = serde_json::from_slice(&found.stdout).expect("JSON");
    assert_eq!(v["total"], 1, "{v}");
    let source = &v["hits"][0]["source"];
    assert_eq!(source["unindexed"], json!(["details.requestparameters"]));
    assert!(source["details"]["requestparameters"].as_str().is_some_and(|p| p.len() > 9000));
}

/// (c) `--last` and `--from/--to` mean the same thing: when events happened. A store holding
/// recent events and a backfill (last week's events, received a minute ago) answers `--last 1h`
/// and `--from <an hour ago> --to <now>` with the same recent events, and neither with the
/// backfill; the backfill is found by its receipt time only when asked by name.
#[tokio::test]
async fn last_and_from_to_agree_on_event_time() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("store");
    let now = chrono::Utc::now();
    let ts = tripline_event::format_timestamp;
    let ago = |m: i64| now - chrono::TimeDelta::minutes(m);
    let mut events = Vec::new();
    for (m, user) in [(50, "alice"), (30, "bob"), (10, "carol")] {
        events.push(event(&ts(ago(m)), user));
    }
    for (m, user) in [(7 * 1440, "old-alice"), (7 * 1440 + 5, "old-bob")] {
        let mut e = event(&ts(ago(m)), user);
        e.receivedtimestamp = ago(1);
        events.push(e);
    }
    {
        let store = EmbeddedStore::open(&dir).expect("open store");
        let r = store.index_events(&events).await.expect("index");
        assert!(r.failed.is_empty(), "{:?}", r.failed);
    }
    let users = |args: &[&str]| -> Vec<String> {
        let out = search(&dir, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let mut u: Vec<String> = v["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .map(|h| h["source"]["details"]["user"].as_str().unwrap_or_default().to_string())
            .collect();
        u.sort();
        u
    };
    let last = users(&["*", "--last", "1h", "--json"]);
    let (from, to) = (ts(ago(60)), ts(now));
    let range = users(&["*", "--from", &from, "--to", &to, "--json"]);
    assert_eq!(last, ["alice", "bob", "carol"]);
    assert_eq!(last, range, "--last 1h is --from {from} --to {to}");
    // The backfill is in the store, at its own time, and by receipt time when asked by name.
    let week = users(&["*", "--last", "8d", "--json"]);
    assert_eq!(week.len(), 5, "{week:?}");
    let received = format!("receivedtimestamp:[{} TO {}]", ts(ago(2)), ts(now));
    assert_eq!(users(&[&received, "--json"]), ["old-alice", "old-bob"]);

    let help = search(&dir, &["--help"]);
    let help = text(&help.stdout);
    assert!(help.contains("the same as --from DURATION ago --to now"), "{help}");
}

/// Counts add up (values, "other", "missing"), the histogram splits by a field, the hits table
/// takes its columns and shows a failed call as failed, times may be relative, and the SVG
/// chart is a real drawing of the buckets.
#[tokio::test]
async fn counts_add_up_histograms_split_and_hits_show_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("store");
    {
        let store = EmbeddedStore::open(&dir).expect("open store");
        let mut events = Vec::new();
        for (i, user) in ["alice", "alice", "alice", "bob", "bob", "carol"].iter().enumerate() {
            events.push(event(&format!("2026-01-01T00:{:02}:00Z", i * 7), user));
        }
        let mut denied = event("2026-01-01T00:50:00Z", "mallory");
        denied.details.insert("errorcode".into(), json!("AccessDenied"));
        events.push(denied);
        let mut nobody = event("2026-01-01T00:55:00Z", "x");
        nobody.details.remove("user");
        events.push(nobody);
        let r = store.index_events(&events).await.expect("index");
        assert!(r.failed.is_empty(), "{:?}", r.failed);
    }
    let json_of = |args: &[&str]| -> Value {
        let out = search(&dir, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("JSON")
    };
    // Top 2 of 4 users: the rest is other, the event without the field is missing.
    let v = json_of(&["*", "--count-by", "details.user", "--limit", "2", "--json"]);
    assert_eq!(v["total"], 8, "{v}");
    assert_eq!(v["buckets"][0], json!({"key": "alice", "count": 3}), "{v}");
    assert_eq!((v["other"].as_u64(), v["missing"].as_u64()), (Some(2), Some(1)), "{v}");
    let shown: u64 = v["buckets"].as_array().unwrap().iter().map(|b| b["count"].as_u64().unwrap()).sum();
    assert_eq!(shown + 2 + 1, 8, "the rows add up: {v}");
    let out = search(&dir, &["*", "--count-by", "details.user", "--limit", "2"]);
    let t = text(&out.stdout);
    assert!(t.contains("(other)") && t.contains("(missing)") && t.contains("37.5%"), "{t}");

    // Split by user, 10-minute buckets; empty buckets are left out of --json only.
    let v = json_of(&["*", "--histogram", "10m", "--by", "details.user", "--json"]);
    assert_eq!(v["interval_secs"], 600, "{v}");
    let first = &v["buckets"][0];
    assert_eq!(first["count"], 2, "{v}");
    assert_eq!(first["by"]["alice"], 2, "{v}");
    for b in v["buckets"].as_array().unwrap() {
        let parts: u64 = b["by"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
        assert_eq!(parts, b["count"].as_u64().unwrap(), "a bucket's parts add up: {b}");
    }
    // Without a width: one that fits, every bucket shown (zeros too) in the table.
    let out = search(&dir, &["*", "--histogram"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows = text(&out.stdout).lines().filter(|l| l.contains("2026-01-01 00:")).count();
    assert!((6..=48).contains(&rows), "{}", text(&out.stdout));

    // The hits table: chosen columns, and the error column added for the denied call.
    let out = search(&dir, &["*", "--fields", "utctimestamp,details.user"]);
    let t = text(&out.stdout);
    assert!(
        t.contains("details.user") && t.contains("details.errorcode") && t.contains("AccessDenied"),
        "{t}"
    );
    assert!(!t.contains("summary"), "only the fields asked for (and the error): {t}");

    // Relative times: nothing in 2026-01-01 happened in the last hour.
    let v = json_of(&["*", "--from", "-1h", "--json"]);
    assert_eq!(v["total"], 0, "{v}");
    let v = json_of(&["*", "--from", "-36500d", "--to", "now", "--json"]);
    assert_eq!(v["total"], 8, "{v}");
    refused(&dir, &["*", "--from", "-2x"], &["-2x", "before now"]);

    // A chart with a bar per non-empty bucket, drawn by plotters, and the counts under it.
    let svg = tmp.path().join("chart.svg");
    let out = search(
        &dir,
        &["*", "--histogram", "10m", "--count-by", "details.user", "--svg", svg.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let drawing = std::fs::read_to_string(&svg).expect("the SVG was written");
    assert!(drawing.starts_with("<svg") && drawing.trim_end().ends_with("</svg>"), "{drawing:.200}");
    assert!(drawing.matches("<rect").count() >= 6 + 4, "bars for buckets and counts: {drawing:.400}");
    assert!(drawing.contains("events by details.user") && drawing.contains("(missing)"), "{drawing:.400}");
    // The counts alone: a bar per value, other and missing.
    let out =
        search(&dir, &["*", "--count-by", "details.user", "--limit", "2", "--svg", svg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let drawing = std::fs::read_to_string(&svg).expect("the SVG was written");
    assert!(drawing.matches("<rect").count() > 4, "the background and a bar per row: {drawing:.600}");
    assert!(
        drawing.contains("alice") && drawing.contains("(other)") && drawing.contains("37.5%"),
        "{drawing:.600}"
    );
}
