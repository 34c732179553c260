//! `tripline backtest` end to end: a scenario's raw logs ingested by the binary, backtested by
//! it, the output read back; the store is not written by the backtest.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn tripline(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tripline"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .env("COLUMNS", "100")
        .output()
        .expect("run the tripline binary")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_attack_chain_backtests_to_its_steps_and_the_store_is_left_as_it_was() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = tmp.path().join("store");
    let set = tripline_testkit::workspace_file("events/scenarios/attack-chain");
    let out = tripline(&store, &["ingest", set.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("expected.json"),
        "the expectations are left out, with a note: {}",
        text(&out.stderr)
    );

    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(set.join("expected.json")).unwrap()).unwrap();
    let (from, to) = (expected["from"].as_str().unwrap(), expected["to"].as_str().unwrap());
    let html = tmp.path().join("report.html");
    let out = tripline(
        &store,
        &[
            "backtest",
            "--from",
            from,
            "--to",
            to,
            "--lateness",
            "0s",
            "--json",
            "--html",
            html.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let first = text(&out.stdout);
    let alerts: Vec<Value> =
        first.lines().map(|l| serde_json::from_str(l).expect("a JSON alert per line")).collect();
    // Every step of the chain, by name (the demo checks order and severities too).
    for step in expected["alerts"].as_array().unwrap() {
        let name = step["alert"].as_str().unwrap();
        assert!(alerts.iter().any(|a| a["classname"] == name), "{name} not raised");
    }
    let times: Vec<&str> = alerts.iter().map(|a| a["utctimestamp"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first: {times:?}");
    let page = std::fs::read_to_string(&html).expect("the report");
    assert!(page.contains("tripline-data") && page.contains("secrets_mass_read"));

    // Nothing was written: no event tagged, and a second backtest says the same.
    let out = tripline(&store, &["search", "_exists_:alert_names", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["total"], 0, "{v}");
    let again = tripline(&store, &["backtest", "--from", from, "--to", to, "--lateness", "0s", "--json"]);
    assert_eq!(text(&again.stdout), first, "a backtest changes nothing a second one would see");

    // The table: one line per alert, cut to the terminal's width, and counts per alert.
    let out = tripline(&store, &["backtest", "--from", from, "--to", to, "--lateness", "0s"]);
    let table = text(&out.stdout);
    assert!(table.lines().all(|l| l.chars().count() <= 100), "{table}");
    assert!(table.contains("…") && table.contains("events read"), "{table}");
    assert!(text(&out.stderr).contains("ticks could raise"), "{}", text(&out.stderr));

    // Unknown alerts and empty spans are refused plainly.
    let out = tripline(&store, &["backtest", "--from", to, "--to", from]);
    assert!(
        !out.status.success() && text(&out.stderr).contains("is not after its start"),
        "{}",
        text(&out.stderr)
    );
    let out = tripline(&store, &["backtest", "--from", from, "--to", to, "--alert", "nope"]);
    assert!(!out.status.success() && text(&out.stderr).contains("no alert named"), "{}", text(&out.stderr));
}
