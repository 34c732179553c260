//! `tripline opensearch install-templates` against the real OpenSearch node the tests run (see
//! `tripline_testkit::opensearch_url`): the deploy step that installs the index templates, since
//! the Lambda functions never do.

use std::process::Command;

use opensearch::http::Method;
use serde_json::Value as Json;
use tripline_store::opensearch::{OpenSearchConfig, OpenSearchStore};

/// A GET straight to the server: (status, JSON body).
async fn get(store: &OpenSearchStore, path: &str) -> (u16, Json) {
    let r = store
        .client()
        .transport()
        .send(Method::Get, path, Default::default(), None::<&()>, None::<&[u8]>, None)
        .await
        .expect("GET");
    let status = r.status_code().as_u16();
    (status, r.json().await.expect("JSON"))
}

async fn delete(store: &OpenSearchStore, path: &str) {
    let _ = store
        .client()
        .transport()
        .send(Method::Delete, path, Default::default(), None::<&()>, None::<&[u8]>, None)
        .await;
}

fn committed(file: &str) -> Json {
    let text = std::fs::read_to_string(tripline_testkit::workspace_file(&format!("infra/opensearch/{file}")))
        .expect("template file");
    serde_json::from_str(&text).expect("template JSON")
}

/// The installed template `name` has every part of the committed file, index patterns set to
/// `pattern`.
fn assert_installed_as(installed: &Json, name: &str, file: &str, pattern: &str) {
    let list = installed["index_templates"].as_array().expect("index_templates");
    let t = list.iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("{name} in {installed}"));
    let mut want = committed(file);
    want["index_patterns"] = serde_json::json!([pattern]);
    let want = want.as_object().expect("a template is an object");
    for (key, value) in want {
        assert_eq!(&t["index_template"][key], value, "{name}: {key} differs from infra/opensearch/{file}");
    }
}

#[tokio::test]
async fn install_templates_installs_the_committed_templates() {
    let url = tripline_testkit::opensearch_url();
    let tag = format!("cli{}", std::process::id());
    let (prefix, alerts) = (format!("{tag}-events-"), format!("{tag}-alerts"));
    let mut config = OpenSearchConfig::for_url(url).expect("url");
    config.events_prefix = prefix.clone();
    config.alerts_index = alerts.clone();
    let store = OpenSearchStore::connect(config).await.expect("connect");
    let (events_name, alerts_name) = store.template_names();
    for name in [&events_name, &alerts_name] {
        assert_eq!(get(&store, &format!("_index_template/{name}")).await.0, 404, "{name} absent first");
    }
    let err = store.check_templates().await.expect_err("absent templates are reported");
    assert!(err.to_string().contains(&events_name), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_tripline"))
        .args(["opensearch", "install-templates", "--url", url, "--auth", "none"])
        .env("TRIPLINE_OPENSEARCH_EVENTS_PREFIX", &prefix)
        .env("TRIPLINE_OPENSEARCH_ALERTS_INDEX", &alerts)
        .env_remove("TRIPLINE_OPENSEARCH_AUTH")
        .output()
        .expect("run tripline");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&events_name) && stdout.contains(&alerts_name), "{stdout}");

    let (status, events) = get(&store, &format!("_index_template/{events_name}")).await;
    assert_eq!(status, 200, "{events}");
    assert_installed_as(&events, &events_name, "index-template.json", &format!("{prefix}*"));
    let (status, alerts_t) = get(&store, &format!("_index_template/{alerts_name}")).await;
    assert_eq!(status, 200, "{alerts_t}");
    assert_installed_as(&alerts_t, &alerts_name, "alerts-template.json", &alerts);
    store.check_templates().await.expect("what the functions check is now there");

    for name in [&events_name, &alerts_name] {
        delete(&store, &format!("_index_template/{name}")).await;
    }
}

#[test]
fn install_templates_refuses_credentials_in_the_url_without_printing_them() {
    let out = Command::new(env!("CARGO_BIN_EXE_tripline"))
        .args([
            "opensearch",
            "install-templates",
            "--url",
            "http://admin:s3cr3t@127.0.0.1:9",
            "--auth",
            "none",
        ])
        .env_remove("TRIPLINE_OPENSEARCH_AUTH")
        .output()
        .expect("run tripline");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("carries credentials"), "{err}");
    assert!(!err.contains("s3cr3t"), "{err}");
}

/// `tripline opensearch ingest` puts a folder's logs into the cluster (its README and
/// expectations left out), and `tripline backtest --opensearch-url` reads them back into the
/// alerts the embedded store gives: the workshop's root sign-in among them.
#[tokio::test]
async fn ingest_then_backtest_over_opensearch() {
    let url = tripline_testkit::opensearch_url();
    let tag = format!("cliing{}", std::process::id());
    let (prefix, alerts) = (format!("{tag}-events-"), format!("{tag}-alerts"));
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tripline"))
            .args(args)
            .env("TRIPLINE_OPENSEARCH_EVENTS_PREFIX", &prefix)
            .env("TRIPLINE_OPENSEARCH_ALERTS_INDEX", &alerts)
            .env("TRIPLINE_OPENSEARCH_AUTH", "none")
            .output()
            .expect("run tripline")
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let out = run(&["opensearch", "install-templates", "--url", url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let set = tripline_testkit::workspace_file("events/scenarios/workshop");
    let out = run(&["opensearch", "ingest", "--url", url, set.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    let n: u64 = said.split_whitespace().next().and_then(|w| w.parse().ok()).unwrap_or(0);
    assert!(n > 9_000, "the workshop's events: {said}");
    let out = run(&[
        "backtest",
        "--opensearch-url",
        url,
        "--alert",
        "root_account_usage",
        "--from",
        "2024-05-14T00:00:00Z",
        "--to",
        "2024-05-15T00:00:00Z",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let raised: Vec<Json> =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("JSON")).collect();
    assert!(
        !raised.is_empty() && raised.iter().all(|a| a["classname"] == "root_account_usage"),
        "{raised:?}"
    );
    assert!(
        raised.iter().all(|a| a["events"][0]["documentindex"].as_str().unwrap().starts_with(&prefix)),
        "{raised:?}"
    );
}
