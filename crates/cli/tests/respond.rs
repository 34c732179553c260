//! `tripline respond` against moto: the built binary starts real executions of
//! `statemachines/ir-runbook.asl.json` and `guardduty-remediation.asl.json`, which moto runs
//! against its own IAM and EC2; IAM and SNS are set up and checked through moto's query API.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

const REGION: &str = "us-east-1";
const ROLE: &str = "arn:aws:iam::123456789012:role/tripline-stepfunctions";

fn port(url: &str) -> u16 {
    url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("moto url ends with a port")
}

/// A form-POST to moto's query API (IAM, SNS), with a credential scope naming the service.
fn query(service: &str, form: &[(&str, &str)]) -> (u16, String) {
    let url = tripline_testkit::moto_url();
    let body: String =
        form.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&");
    let req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20240101/{REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len(),
        p = port(url),
    );
    let mut s = TcpStream::connect(("127.0.0.1", port(url))).expect("connect to moto");
    s.write_all(req.as_bytes()).expect("write to moto");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read from moto");
    let status = resp.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, resp)
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn iam(form: &[(&str, &str)]) -> (u16, String) {
    let mut f = form.to_vec();
    f.push(("Version", "2010-05-08"));
    query("iam", &f)
}

fn unique(prefix: &str) -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

async fn sfn() -> aws_sdk_sfn::Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(tripline_testkit::moto_url())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_sfn::config::Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await;
    aws_sdk_sfn::Client::new(&conf)
}

async fn create_machine(file: &str, substitutions: &[(&str, &str)]) -> String {
    let path = tripline_testkit::workspace_file(&format!("statemachines/{file}"));
    let mut definition = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (k, v) in substitutions {
        definition = definition.replace(&format!("${{{k}}}"), v);
    }
    assert!(!definition.contains("${"), "a placeholder of {file} has no value");
    sfn()
        .await
        .create_state_machine()
        .name(unique("machine"))
        .definition(definition)
        .role_arn(ROLE)
        .send()
        .await
        .expect("create state machine in moto")
        .state_machine_arn()
        .to_string()
}

fn tripline(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tripline"))
        .args(args)
        .args(["--endpoint-url", tripline_testkit::moto_url(), "--region", REGION, "--timeout", "120"])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .expect("run the tripline binary")
}

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn block_and_unblock_a_user_round_trip() {
    let arn = create_machine("ir-runbook.asl.json", &[("SnsTopicArn", "")]).await;
    let user = unique("suspect");
    assert_eq!(iam(&[("Action", "CreateUser"), ("UserName", &user)]).0, 200);

    let out =
        tripline(&["respond", "block-user", &user, "--state-machine-arn", &arn, "--reason", "IR drill"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("status:    SUCCEEDED"), "{t}");
    assert!(t.contains("\"outcome\": \"blocked\""), "{t}");
    assert!(t.contains("BlockUser") && t.contains("aws-sdk:iam:putUserPolicy"), "step table missing: {t}");

    let (status, body) = iam(&[("Action", "GetUserPolicy"), ("UserName", &user), ("PolicyName", "DenyAll")]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Deny"), "{body}");

    let out = tripline(&["respond", "unblock-user", &user, "--state-machine-arn", &arn, "--json"]);
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_str(&t).expect("--json prints one JSON object");
    assert_eq!(v["status"], "SUCCEEDED");
    assert_eq!(v["output"]["outcome"], "unblocked");
    assert!(v["steps"].as_array().is_some_and(|s| s.iter().any(|s| s["state"] == "DeleteUserDenyAll")));

    let (status, body) = iam(&[("Action", "GetUserPolicy"), ("UserName", &user), ("PolicyName", "DenyAll")]);
    assert_eq!(status, 404, "DenyAll should be gone: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn block_and_unblock_a_role_and_a_group() {
    let arn = create_machine("ir-runbook.asl.json", &[("SnsTopicArn", "")]).await;
    let role = unique("role");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    assert_eq!(
        iam(&[("Action", "CreateRole"), ("RoleName", &role), ("AssumeRolePolicyDocument", trust)]).0,
        200
    );
    let group = unique("group");
    assert_eq!(iam(&[("Action", "CreateGroup"), ("GroupName", &group)]).0, 200);

    for (block, unblock, list, key, name) in [
        ("block-role", "unblock-role", "ListRolePolicies", "RoleName", &role),
        ("block-group", "unblock-group", "ListGroupPolicies", "GroupName", &group),
    ] {
        let out = tripline(&["respond", block, name, "--state-machine-arn", &arn]);
        assert!(out.status.success(), "{}", text(&out));
        let (_, body) = iam(&[("Action", list), (key, name)]);
        assert!(body.contains("<member>DenyAll</member>"), "{body}");
        let out = tripline(&["respond", unblock, name, "--state-machine-arn", &arn]);
        assert!(out.status.success(), "{}", text(&out));
        let (_, body) = iam(&[("Action", list), (key, name)]);
        assert!(!body.contains("DenyAll"), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_request_exits_non_zero_with_the_error() {
    let arn = create_machine("ir-runbook.asl.json", &[("SnsTopicArn", "")]).await;
    let out = tripline(&["respond", "block-user", "not a name", "--state-machine-arn", &arn]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("status:    FAILED") && t.contains("Tripline.InvalidRequest"), "{t}");
}

#[tokio::test(flavor = "multi_thread")]
async fn quarantining_a_missing_instance_fails_loudly() {
    let (status, body) = query("sns", &[("Action", "CreateTopic"), ("Name", &unique("topic"))]);
    assert_eq!(status, 200, "{body}");
    let topic = body
        .split("<TopicArn>")
        .nth(1)
        .and_then(|s| s.split("</TopicArn>").next())
        .expect("CreateTopic returns a TopicArn")
        .to_string();
    let arn = create_machine(
        "guardduty-remediation.asl.json",
        &[
            ("SnsTopicArn", &topic),
            ("FinalAction", "stop"),
            ("ForensicsDocument", ""),
            ("TrustedAccounts", ""),
            ("ProtectedPrincipalArns", ""),
            ("ProtectedArnPattern", ""),
            ("NoticeDetail", "full"),
        ],
    )
    .await;
    let out =
        tripline(&["respond", "quarantine-instance", "i-0123456789abcdef0", "--state-machine-arn", &arn]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("Tripline.InstanceNotFound"), "{t}");
    assert!(t.contains("InstanceNotFoundNotice"), "the failure notice step should be in the table: {t}");
    assert!(t.contains("DescribeInstance") && t.contains("failed"), "{t}");
}

#[test]
fn state_machine_arn_is_required() {
    let out = Command::new(env!("CARGO_BIN_EXE_tripline"))
        .args(["respond", "block-user", "alice"])
        .env_remove("TRIPLINE_IR_STATE_MACHINE_ARN")
        .output()
        .expect("run the tripline binary");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--state-machine-arn"));
}
