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

/// `infra render --rules DIR --tuning FILE`: one function per rule (the one alert package), the
/// packaged folder and each alert's tuning in its environment, the tuned schedule, and a disabled
/// alert without a function.
#[test]
fn infra_render_deploys_each_rule_with_its_tuning() {
    let root = tempfile::tempdir().expect("tmp");
    let rules = root.path().join("my-rules");
    std::fs::create_dir(&rules).expect("dir");
    std::fs::write(rules.join("good.yml"), GOOD).expect("write");
    std::fs::write(
        root.path().join("tuning.toml"),
        "[alerts.my_access_key]\nschedule = \"rate(15 minutes)\"\nwindow = \"2h\"\n\n[alerts.describe_recon]\nenabled = false\n",
    )
    .expect("write");
    let template = root.path().join("template.yaml");
    let committed = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
    std::fs::copy(committed, &template).expect("copy");
    let out = Command::new(env!("CARGO_BIN_EXE_tripline"))
        .current_dir(root.path())
        .args([
            "infra",
            "render",
            "--template",
            "template.yaml",
            "--rules",
            "my-rules",
            "--tuning",
            "tuning.toml",
        ])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out));
    let t = std::fs::read_to_string(&template).expect("read");
    let block = t.split("  MyAccessKeyFunction:").nth(1).expect("a function for the rule");
    let block = &block[..block.find("Alarm:").unwrap_or(block.len())];
    for needle in [
        "CodeUri: ../target/lambda/alert/bootstrap.zip",
        "TRIPLINE_ALERT: my_access_key",
        "TRIPLINE_RULES: \"my-rules\"",
        "TRIPLINE_TUNING: \"{\\\"window\\\":\\\"2h\\\"}\"",
        "Schedule: rate(15 minutes)",
    ] {
        assert!(block.contains(needle), "{needle} missing from\n{block}");
    }
    assert!(!t.contains("DescribeReconFunction:"), "a disabled alert has no function");
    assert!(t.contains("IamCreateUserFunction:"), "built-in rules stay");

    let out = Command::new(env!("CARGO_BIN_EXE_tripline"))
        .current_dir(root.path())
        .args(["infra", "render", "--template", "template.yaml", "--rules", "/abs/rules"])
        .output()
        .expect("runs");
    assert!(!out.status.success() && text(&out).contains("relative to the repository"), "{}", text(&out));
}
