//! The `iam_create_user` catalog alert on canned MozDef events, run by the runtime over an in-memory
//! embedded store: what must raise does, with the right severity and summary; what must not,
//! doesn't.

mod common;

use common::*;
use serde_json::json;
use tripline_alerts::*;

#[tokio::test]
async fn iam_create_user_names_the_new_user_and_skips_failures() {
    let alert = iam_create_user::IamCreateUser::default();
    let ok = cloudtrail(
        ago(3),
        "iam.amazonaws.com",
        "CreateUser",
        "svc-backup",
        "203.0.113.66",
        json!({"requestparameters": params(json!({"userName": "backup-admin"})), "requestparameters_username": "backup-admin"}),
    );
    let mut denied = cloudtrail(
        ago(3),
        "iam.amazonaws.com",
        "CreateUser",
        "bob",
        "198.51.100.22",
        json!({"requestparameters": params(json!({"userName": "other"})), "requestparameters_username": "other"}),
    );
    denied.details.insert("errorcode".into(), json!("AccessDenied"));
    let other = cloudtrail(ago(3), "iam.amazonaws.com", "CreateRole", "bob", "198.51.100.22", json!({}));
    let raised = raise(&alert, &[ok, denied, other]).await;
    assert_eq!(raised.len(), 1, "{:?}", names(&raised));
    assert_eq!(
        raised[0].summary,
        "IAM user backup-admin created by arn:aws:iam::123456789012:user/svc-backup from 203.0.113.66"
    );
    assert_eq!(raised[0].severity, "NOTICE");
}
