//! Out-of-range arguments of `tripline run`, `respond` and `infra` against the built binary:
//! each is a usage error (exit 2) naming the argument and what it accepts, before any store is
//! opened or any AWS endpoint is called; none panics.

use std::path::Path;
use std::process::{Command, Output};

fn tripline(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripline"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env("RUST_BACKTRACE", "0")
        // Should anything reach AWS after all, fail fast on a closed local port, not on IMDS.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .expect("run the tripline binary")
}

fn refused(store: &Path, args: &[&str], needles: &[&str]) {
    let out = tripline(store, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?} should be a usage error, not {:?}: {err}", out.status);
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: the message should contain {n:?}: {err}");
    }
}

const ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:ir";

#[test]
fn run_at_is_inside_the_stored_range() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = tmp.path().join("store");
    for far in ["9999-01-01T00:00:00Z", "1600-01-01T00:00:00Z", "2262-01-01T00:00:00Z"] {
        refused(&store, &["run", "--at", far], &["--at", "outside the range", "1678-01-01", "2261-12-31"]);
    }
    refused(&store, &["run", "--at", "tomorrow"], &["--at", "RFC 3339"]);
    assert!(!store.exists(), "a refused run creates no store");
}

#[test]
fn run_at_the_edges_of_the_range_does_not_panic() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = tmp.path().join("store");
    // An empty store is enough: what matters is that every alert runs at that clock.
    drop(tripline_store::embedded::EmbeddedStore::open(&store).expect("create the store"));
    for at in ["1678-01-01T00:00:00Z", "2261-12-31T23:59:59.999Z"] {
        let out = tripline(&store, &["run", "--at", at, "--dry-run"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{at}: {err}");
        assert!(err.contains("alert(s) from"), "{at}: {err}");
    }
}

#[test]
fn respond_timeout_and_free_text_are_bounded() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = tmp.path().join("store");
    let block = ["respond", "block-user", "alice", "--state-machine-arn", ARN];
    let with = |extra: &[&'static str]| -> Vec<&str> { block.iter().chain(extra).copied().collect() };
    // Once `Instant + Duration` overflowed: a panic once the execution had started.
    refused(&store, &with(&["--timeout", "18446744073709551615"]), &["--timeout", "from 1 to 86400"]);
    refused(&store, &with(&["--timeout", "86401"]), &["--timeout", "from 1 to 86400"]);
    refused(&store, &with(&["--timeout", "0"]), &["--timeout", "from 1 to 86400"]);
    refused(&store, &with(&["--timeout", "-5"]), &["--timeout", "from 1 to 86400"]);
    refused(&store, &with(&["--execution-name", "a b"]), &["--execution-name", "not allowed"]);
    let long_name = "x".repeat(81);
    let mut args = block.to_vec();
    args.extend(["--execution-name", &long_name]);
    refused(&store, &args, &["--execution-name", "1 to 80"]);
    let long_reason = "r".repeat(1025);
    let mut args = block.to_vec();
    args.extend(["--reason", &long_reason]);
    refused(&store, &args, &["--reason", "at most 1024"]);

    let quarantine = ["respond", "quarantine-instance", "i-0123456789abcdef0", "--state-machine-arn", ARN];
    let mut args = quarantine.to_vec();
    args.extend(["--finding-id", ""]);
    refused(&store, &args, &["--finding-id", "1 to 256"]);
    let mut args = quarantine.to_vec();
    args.extend(["--timeout", "99999999999"]);
    refused(&store, &args, &["--timeout", "from 1 to 86400"]);
}

#[test]
fn infra_render_reads_only_a_regular_template() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = tmp.path().join("store");
    let out = tripline(&store, &["infra", "render", "--check", "--template", "/dev/null"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("--template /dev/null: not a regular file"), "{err}");
}
