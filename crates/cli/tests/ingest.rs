//! `tripline ingest` end to end: the binary, real fixture files, the embedded store.

use std::fs::File;
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
    let ct = count(
        &store,
        QueryAst::Term { field: "source".into(), value: "cloudtrail".into(), case_insensitive: false },
    )
    .await;
    assert_eq!(ct, 11);
    let flows = count(
        &store,
        QueryAst::Term { field: "source".into(), value: "vpc_flow".into(), case_insensitive: false },
    )
    .await;
    assert_eq!(flows, 3);
    let stop = count(
        &store,
        QueryAst::Term {
            field: "details.eventname".into(),
            value: "StopLogging".into(),
            case_insensitive: false,
        },
    )
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

/// The count of a summary row: the line whose cells are `section`, `what`, count.
fn row_count(stdout: &str, section: &str, what: &str) -> Option<u64> {
    stdout.lines().find_map(|line| {
        let cells: Vec<&str> = line.split(['│', '┆']).map(str::trim).collect();
        (cells.len() > 3 && cells[1] == section && cells[2] == what).then(|| cells[3].parse().ok()).flatten()
    })
}

fn cloudtrail_record(name: &str, extra: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","eventTime":"2026-11-23T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"{name}","eventType":"AwsApiCall","sourceIPAddress":"203.0.113.9"{extra}}}"#
    )
}

fn cloudtrail_file(names: &[&str]) -> String {
    let records: Vec<String> = names.iter().map(|n| cloudtrail_record(n, "")).collect();
    format!(r#"{{"Records":[{}]}}"#, records.join(","))
}

/// A symlink loop, a dangling symlink, a directory cycle (a symlink to an ancestor), a FIFO, a
/// mis-shaped CloudTrail file, entries with no permissions (root reads them anyway), a file even
/// root cannot read (`/proc/self/mem`), a path through a file and one that does not exist: each
/// is an error row naming the path, counted, and the good files are still ingested. (At 72cfd1d
/// the first of them aborted the run before anything was stored.)
#[tokio::test]
async fn bad_entries_in_a_folder_cost_only_themselves() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let sub = logs.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(logs.join("good.json"), cloudtrail_file(&["CreateUser", "DeleteUser"])).unwrap();
    std::fs::write(sub.join("more.json"), cloudtrail_file(&["GetUser"])).unwrap();
    std::fs::write(logs.join("misshapen.json"), r#"{"Records": {"eventName": "X"}}"#).unwrap();
    symlink("loop-b", logs.join("loop-a")).unwrap();
    symlink("loop-a", logs.join("loop-b")).unwrap();
    symlink("nowhere.json", logs.join("dangling.json")).unwrap();
    symlink("..", sub.join("up")).unwrap();
    let fifo = logs.join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("run mkfifo");
    assert!(made.success());
    // No permissions: unreadable unless this runs as root (then both are read like any other).
    let locked = logs.join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::write(locked.join("inside.json"), cloudtrail_file(&["ListUsers"])).unwrap();
    let secret = logs.join("secret.json");
    std::fs::write(&secret, cloudtrail_file(&["GetAccountSummary"])).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    let root_reads_anything = std::fs::read_dir(&locked).is_ok() && File::open(&secret).is_ok();
    // What even root cannot read: a process's own memory at address 0 (opens, then EIO).
    symlink("/proc/self/mem", logs.join("memory")).unwrap();
    // A path through a file (ENOTDIR), given on the command line.
    let through_a_file = logs.join("good.json").join("inner");

    let store_dir = dir.path().join("store");
    let missing = dir.path().join("no-such-folder");
    let out = tripline(&store_dir, &[logs.as_os_str(), missing.as_os_str(), through_a_file.as_os_str()]);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");

    assert_eq!(row_count(&stdout, "errors", "broken_symlink"), Some(3), "{stdout}");
    for name in ["loop-a", "loop-b", "dangling.json"] {
        assert!(stdout.contains(&format!("{name}: cannot follow the symlink")), "{name}: {stdout}");
    }
    assert_eq!(row_count(&stdout, "errors", "directory_cycle"), Some(1), "{stdout}");
    assert!(stdout.contains("up: directory cycle"), "{stdout}");
    assert_eq!(row_count(&stdout, "errors", "not_a_file"), Some(1), "{stdout}");
    assert!(stdout.contains("pipe: a FIFO, not read"), "{stdout}");
    assert_eq!(row_count(&stdout, "errors", "missing_path"), Some(1), "{stdout}");
    assert!(stdout.contains("no-such-folder: no such file or folder"), "{stdout}");
    assert_eq!(row_count(&stdout, "errors", "not_a_list"), Some(1), "{stdout}");
    assert!(
        stdout.contains("misshapen.json: record 1: a CloudTrail file whose `Records` is an object"),
        "{stdout}"
    );

    let store = EmbeddedStore::open_read_only(&store_dir).unwrap();
    let all = count(
        &store,
        QueryAst::Term { field: "source".into(), value: "cloudtrail".into(), case_insensitive: false },
    )
    .await;
    let unknown = count(
        &store,
        QueryAst::Term { field: "source".into(), value: "unknown".into(), case_insensitive: false },
    )
    .await;
    assert_eq!(unknown, 0, "the mis-shaped file is not stored");
    assert!(stdout.contains("good.json/inner: cannot read: Not a directory"), "{stdout}");
    assert!(stdout.contains("memory: read failed"), "{stdout}");
    if root_reads_anything {
        assert_eq!(all, 5, "{stdout}");
        assert_eq!(row_count(&stdout, "errors", "unreadable_path"), Some(1), "{stdout}");
        assert_eq!(row_count(&stdout, "errors", "io"), Some(1), "{stdout}");
    } else {
        assert_eq!(all, 3, "{stdout}");
        assert_eq!(row_count(&stdout, "errors", "unreadable_path"), Some(2), "{stdout}");
        assert!(stdout.contains("locked: cannot list"), "{stdout}");
        assert_eq!(row_count(&stdout, "errors", "io"), Some(2), "{stdout}");
        assert!(stdout.contains("secret.json: read failed"), "{stdout}");
    }
    for name in ["CreateUser", "DeleteUser", "GetUser"] {
        let q =
            QueryAst::Term { field: "details.eventname".into(), value: name.into(), case_insensitive: false };
        assert_eq!(count(&store, q).await, 1, "{name}");
    }
}

/// Only paths that cannot be read: an error row each, and the exit status says nothing was
/// stored (as for a run where every record failed).
#[test]
fn a_missing_path_alone_is_an_error_row_and_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    let out = tripline(&dir.path().join("store"), &[missing.as_os_str()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert_eq!(row_count(&stdout, "errors", "missing_path"), Some(1), "{stdout}");
    assert!(stdout.contains("nothing-here: no such file or folder"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("every record failed"));
}

/// A document the store refuses (here: nested deeper than the embedded store takes) costs only
/// itself: reported with its file and record number, counted, the rest of its batch committed.
/// With `--batch 2` it is the first of the second batch, so its origin is found by position.
#[tokio::test]
async fn a_document_the_store_refuses_is_named_by_file_and_record() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deep.json");
    let deep = format!(r#","deep":{}1{}"#, "[".repeat(100), "]".repeat(100));
    let records = [
        cloudtrail_record("First", ""),
        cloudtrail_record("Second", ""),
        cloudtrail_record("Third", &deep),
        cloudtrail_record("Fourth", ""),
    ];
    std::fs::write(&file, format!(r#"{{"Records":[{}]}}"#, records.join(","))).unwrap();
    let store_dir = dir.path().join("store");
    let batch = std::ffi::OsString::from("--batch=2");
    let out = tripline(&store_dir, &[batch.as_os_str(), file.as_os_str()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(row_count(&stdout, "store", "refused"), Some(1), "{stdout}");
    assert_eq!(row_count(&stdout, "store", "written"), Some(3), "{stdout}");
    assert!(stdout.contains(&format!("{}: record 3", file.display())), "{stdout}");
    assert!(stdout.contains("nested deeper"), "{stdout}");

    let store = EmbeddedStore::open_read_only(&store_dir).unwrap();
    let all = count(
        &store,
        QueryAst::Term { field: "source".into(), value: "cloudtrail".into(), case_insensitive: false },
    )
    .await;
    assert_eq!(all, 3);
    let third =
        QueryAst::Term { field: "details.eventname".into(), value: "Third".into(), case_insensitive: false };
    assert_eq!(count(&store, third).await, 0);
    let fourth =
        QueryAst::Term { field: "details.eventname".into(), value: "Fourth".into(), case_insensitive: false };
    assert_eq!(count(&store, fourth).await, 1, "the rest of the batch is committed");
}

/// `--batch` is range-checked by clap (exit status 2, a message naming the range); it never
/// allocates from the number given (`--batch 1000000000000` aborted on allocation at 72cfd1d,
/// `--batch 0` was silently taken as 1).
#[test]
fn batch_is_range_checked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one.json");
    std::fs::write(&file, cloudtrail_file(&["GetUser"])).unwrap();
    let store_dir = dir.path().join("store");
    for bad in ["0", "1000001", "1000000000000", "-1", "many"] {
        let arg = std::ffi::OsString::from(format!("--batch={bad}"));
        let out = tripline(&store_dir, &[arg.as_os_str(), file.as_os_str()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("--batch"), "{bad}: {stderr}");
        assert!(stderr.contains("1..=1000000"), "{bad}: {stderr}");
    }
    // The largest batch is accepted and allocates nothing up front.
    let arg = std::ffi::OsString::from("--batch=1000000");
    let out = tripline(&store_dir, &[arg.as_os_str(), file.as_os_str()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(row_count(&String::from_utf8_lossy(&out.stdout), "store", "written"), Some(1));
}
