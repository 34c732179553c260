//! `tripline rules`: check names what loads and why the rest is refused (exit 1), test runs the
//! cases from raw logs, show prints the compiled query, and `run`/`infra render` refuse to go on
//! with a refused rule.

use std::process::{Command, Output};

fn tripline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripline")).args(args).output().expect("runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

const GOOD: &str = "title: Access key created\nname: my_access_key\nlogsource: {product: aws, service: cloudtrail}\n\
detection:\n    sel:\n        eventName: CreateAccessKey\n    condition: sel\nlevel: high\n\
tests:\n  - name: one key\n    expect: alert\n    records:\n      - {\"eventVersion\": \"1.09\", \"eventTime\": \"2026-03-02T10:00:00Z\", \"eventSource\": \"iam.amazonaws.com\", \"eventName\": \"CreateAccessKey\", \"awsRegion\": \"us-east-1\", \"sourceIPAddress\": \"203.0.113.9\", \"userIdentity\": {\"type\": \"IAMUser\", \"arn\": \"arn:aws:iam::123456789012:user/a\", \"accountId\": \"123456789012\"}, \"eventID\": \"e1\", \"recipientAccountId\": \"123456789012\"}\n";
const BAD: &str = "title: Encoded\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n    sel:\n        eventName|frobnicate: x\n    condition: sel\n";

#[test]
fn check_test_show_and_refusal() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("good.yml"), GOOD).expect("write");
    let d = dir.path().to_str().expect("utf-8");

    let o = tripline(&["rules", "check", "--rules", d]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("loaded   my_access_key"), "{out}");
    assert!(out.contains("loaded   iam_create_user"), "{out}");

    let o = tripline(&["rules", "test", "--rules", d, "--alert", "my_access_key"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("1 passed, 0 failed"), "{}", text(&o));

    let o = tripline(&["rules", "show", "my_access_key", "--rules", d]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("details.eventname") && out.contains("\"severity\": \"CRITICAL\""), "{out}");

    std::fs::write(dir.path().join("bad.yml"), BAD).expect("write");
    let o = tripline(&["rules", "check", "--rules", d]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("bad.yml, line 5, column 9: detection.sel.eventName|frobnicate"), "{out}");
    assert!(out.contains("1 refused"), "{out}");

    let store = dir.path().join("store");
    let o = tripline(&["run", "--store", store.to_str().expect("utf-8"), "--rules", d]);
    assert!(!o.status.success());
    assert!(text(&o).contains("refused"), "{}", text(&o));
}
