//! The stand-ins every delivery test talks to: a real OpenSearch node (one per test run, from
//! tripline-testkit) and moto's server for SNS and Step Functions. Shared by the runtime's
//! delivery tests and the Lambda handler's tests in `functions/tests/`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::TimeDelta;
use serde_json::Value as Json;
use tripline_runtime::{Sinks, Sns, StepFunctions};
use tripline_store::opensearch::{OpenSearchConfig, OpenSearchStore};
use tripline_store::EventStore;

use crate::common::{self, ct, now};

pub static N: AtomicUsize = AtomicUsize::new(0);

/// A name no other test (or run against a shared cluster) uses.
pub fn unique(what: &str) -> String {
    format!("rt{}x{}-{what}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

pub fn os_config(tag: &str) -> OpenSearchConfig {
    let mut c = OpenSearchConfig::for_url(tripline_testkit::opensearch_url()).expect("OpenSearch url");
    c.events_prefix = format!("{tag}-events-");
    c.alerts_index = format!("{tag}-alerts");
    c
}

pub async fn os_store() -> OpenSearchStore {
    OpenSearchStore::connect(os_config(&unique("os"))).await.expect("connect to OpenSearch")
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(tripline_testkit::moto_url())
        .credentials_provider(aws_sdk_sns::config::Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await
}

pub struct Aws {
    pub sns: aws_sdk_sns::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub topic_arn: String,
    pub state_machine_arn: String,
}

pub async fn moto() -> Aws {
    let sdk = sdk_config().await;
    let sns = aws_sdk_sns::Client::new(&sdk);
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let topic = sns.create_topic().name(unique("alerts")).send().await.expect("create topic");
    let machine = sfn
        .create_state_machine()
        .name(unique("remediate"))
        .definition(r#"{"StartAt":"Done","States":{"Done":{"Type":"Pass","End":true}}}"#)
        .role_arn("arn:aws:iam::123456789012:role/tripline-test")
        .send()
        .await
        .expect("create state machine");
    Aws {
        topic_arn: topic.topic_arn().expect("topic arn").to_string(),
        state_machine_arn: machine.state_machine_arn().to_string(),
        sns,
        sfn,
    }
}

impl Aws {
    pub fn sinks(&self) -> Sinks {
        Sinks::none()
            .with(Sns::new(self.sns.clone(), &self.topic_arn))
            .with(StepFunctions::new(self.sfn.clone(), &self.state_machine_arn))
    }

    /// Messages moto recorded as published to the topic: (message, subject, attributes).
    pub fn published(&self) -> Vec<(Json, String, Json)> {
        let data = moto_data();
        let topics = data["sns"]["Topic"].as_array().cloned().unwrap_or_default();
        let topic =
            topics.iter().find(|t| t["arn"] == self.topic_arn.as_str()).expect("topic in moto's data");
        topic["sent_notifications"]
            .as_array()
            .expect("sent_notifications")
            .iter()
            .map(|n| {
                let message: Json =
                    serde_json::from_str(n[1].as_str().expect("message text")).expect("message is JSON");
                (message, n[2].as_str().unwrap_or_default().to_string(), n[3].clone())
            })
            .collect()
    }

    pub async fn executions(&self) -> Vec<String> {
        let out = self
            .sfn
            .list_executions()
            .state_machine_arn(&self.state_machine_arn)
            .send()
            .await
            .expect("list executions");
        out.executions().iter().map(|e| e.execution_arn().to_string()).collect()
    }
}

/// moto's internal state (`GET /moto-api/data.json`).
pub fn moto_data() -> Json {
    let url = tripline_testkit::moto_url();
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect to moto");
    s.write_all(format!("GET /moto-api/data.json HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .expect("request");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("response");
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("HTTP response");
    assert!(head.starts_with("HTTP/1.") && head.contains(" 200"), "{head}");
    serde_json::from_str(body).expect("moto data is JSON")
}

pub async fn two_create_users(store: &dyn EventStore) {
    let n = now();
    common::index(
        store,
        &[
            ct("CreateUser", "arn:aws:iam::1:user/a", "198.51.100.1", n - TimeDelta::minutes(5)),
            ct("CreateUser", "arn:aws:iam::1:user/b", "198.51.100.2", n - TimeDelta::minutes(10)),
            ct("DeleteUser", "arn:aws:iam::1:user/a", "198.51.100.1", n - TimeDelta::minutes(5)),
        ],
    )
    .await;
}
