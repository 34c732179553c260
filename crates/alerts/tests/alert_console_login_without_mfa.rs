//! The `console_login_without_mfa` catalog alert on canned MozDef events, run by the runtime over an in-memory
//! embedded store: what must raise does, with the right severity and summary; what must not,
//! doesn't.

mod common;

use common::*;
use serde_json::json;
use tripline_alerts::*;

fn login(user: &str, kind: &str, outcome: &str, mfa: &str) -> tripline_event::Event {
    let mut e = cloudtrail(
        ago(4),
        "signin.amazonaws.com",
        "ConsoleLogin",
        user,
        "192.0.2.44",
        json!({
            "responseelements": params(json!({"ConsoleLogin": outcome})),
            "responseelements_consolelogin": outcome,
            "additionaleventdata": params(json!({"MFAUsed": mfa})),
            "additionaleventdata_mfaused": mfa,
            "useridentity": {"type": kind},
        }),
    );
    e.category = "AwsConsoleSignIn".into();
    e
}

#[tokio::test]
async fn console_login_without_mfa_raises_only_for_successful_password_only_sign_ins() {
    let alert = console_login_without_mfa::ConsoleLoginWithoutMfa::default();
    let events = vec![
        login("dave", "IAMUser", "Success", "No"),
        login("alice", "IAMUser", "Success", "Yes"),
        login("eve", "IAMUser", "Failure", "No"),
        login("sso-user", "AssumedRole", "Success", "No"),
    ];
    let raised = raise(&alert, &events).await;
    assert_eq!(raised.len(), 1, "{:?}", names(&raised));
    assert!(raised[0].summary.contains("user/dave"), "{}", raised[0].summary);
}
