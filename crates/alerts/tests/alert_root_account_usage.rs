//! The `root_account_usage` catalog alert on canned MozDef events, run by the runtime over an in-memory
//! embedded store: what must raise does, with the right severity and summary; what must not,
//! doesn't.

mod common;

use common::*;
use serde_json::json;
use tripline_alerts::*;

fn as_root(mut e: tripline_event::Event) -> tripline_event::Event {
    e.details.insert(
        "useridentity".into(),
        json!({"type": "Root", "arn": "arn:aws:iam::123456789012:root", "accountid": "123456789012"}),
    );
    e
}

#[tokio::test]
async fn root_account_usage_raises_for_the_root_user_not_for_services_or_users() {
    let alert = root_account_usage::RootAccountUsage::default();
    let used = as_root(cloudtrail(
        ago(3),
        "iam.amazonaws.com",
        "CreateAccessKey",
        "root",
        "198.51.100.5",
        json!({}),
    ));
    let mut by_service = as_root(cloudtrail(
        ago(3),
        "support.amazonaws.com",
        "DescribeCases",
        "root",
        "198.51.100.5",
        json!({}),
    ));
    by_service.details["useridentity"]["invokedby"] = json!("support.amazonaws.com");
    let mut service_event =
        as_root(cloudtrail(ago(3), "health.amazonaws.com", "Notify", "root", "198.51.100.5", json!({})));
    service_event.category = "AwsServiceEvent".into();
    let user =
        cloudtrail(ago(3), "iam.amazonaws.com", "CreateAccessKey", "alice", "198.51.100.21", json!({}));
    let raised = raise(&alert, &[used, by_service, service_event, user]).await;
    assert_eq!(raised.len(), 1, "{:?}", names(&raised));
    assert_eq!(
        raised[0].summary,
        "Root user of account 123456789012 used: CreateAccessKey from 198.51.100.5"
    );
}
