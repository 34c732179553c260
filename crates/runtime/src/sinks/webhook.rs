//! Webhooks (`webhook:NAME`): a Slack-compatible message (Slack incoming webhooks, and the many
//! chat tools that accept the same `{"text": …}` JSON) or a PagerDuty Events v2 `trigger`, for
//! the alerts its [`Route`] selects by severity and tags.
//!
//! PagerDuty's `dedup_key` is the alert id, so even a delivery repeated before its receipt was
//! recorded opens one incident. A Slack message has no idempotency key: the receipt recorded
//! right after the POST is what keeps a retried run from posting again.
//!
//! A webhook URL (Slack's path) and a PagerDuty routing key are secrets: errors and `Debug` show
//! the endpoint's scheme, host and port only, and never the key.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value as Json};
use tripline_alerts::{Remediation, Severity};
use tripline_event::AlertRecord;

use super::{Receipt, Sink, SinkError};

/// How long one POST may take before it counts as failed (Lambda then retries the run).
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// PagerDuty truncates `payload.summary` at 1024 characters; Slack's `text` is kept to the same.
pub const MAX_SUMMARY_CHARS: usize = 1024;

/// What the webhook expects.
#[derive(Clone, PartialEq, Eq)]
pub enum WebhookFormat {
    /// `{"text": "[SEVERITY] summary", "blocks": […]}`.
    Slack,
    /// PagerDuty Events API v2 (`POST https://events.pagerduty.com/v2/enqueue`).
    PagerDuty {
        /// The integration's routing key (secret).
        routing_key: String,
    },
}

impl fmt::Debug for WebhookFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebhookFormat::Slack => f.write_str("Slack"),
            WebhookFormat::PagerDuty { .. } => f.write_str("PagerDuty { routing_key: <redacted> }"),
        }
    }
}

/// Which alerts a webhook takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// At least this severity. An alert whose severity is not one of MozDef's four is taken (never
    /// dropped for being unreadable).
    pub min_severity: Severity,
    /// At least one of these tags (`cloudtrail`, `T1136.003`, …); empty means every alert.
    pub tags: Vec<String>,
}

impl Default for Route {
    fn default() -> Self {
        Route { min_severity: Severity::Info, tags: Vec::new() }
    }
}

impl Route {
    /// Whether `alert` goes this way.
    pub fn matches(&self, alert: &AlertRecord) -> bool {
        let severe = severity_of(alert).is_none_or(|s| s >= self.min_severity);
        let tagged = self.tags.is_empty() || alert.tags.iter().any(|t| self.tags.contains(t));
        severe && tagged
    }
}

fn severity_of(alert: &AlertRecord) -> Option<Severity> {
    serde_json::from_value(Json::String(alert.severity.to_ascii_uppercase())).ok()
}

/// One webhook.
#[derive(Clone)]
pub struct Webhook {
    name: String,
    url: url::Url,
    format: WebhookFormat,
    route: Route,
    client: reqwest::Client,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("name", &self.name)
            .field("endpoint", &endpoint(&self.url))
            .field("format", &self.format)
            .field("route", &self.route)
            .finish()
    }
}

/// `scheme://host:port` of a URL: what an error may show of it.
pub fn endpoint(url: &url::Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
        (Some(host), None) => format!("{}://{host}", url.scheme()),
        _ => format!("{}://", url.scheme()),
    }
}

/// Why a webhook cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum WebhookConfigError {
    /// The name is empty or has characters other than `A-Za-z0-9_-`.
    #[error("webhook name {0:?}: use 1 to 64 characters of A-Z a-z 0-9 _ -")]
    Name(String),
    /// The URL is not http(s) or has no host (the URL itself is not repeated: it may be secret).
    #[error("webhook {name}: the URL must be http:// or https:// with a host")]
    Url {
        /// The webhook's name.
        name: String,
    },
    /// The HTTP client could not be built.
    #[error("webhook {name}: HTTP client: {reason}")]
    Client {
        /// The webhook's name.
        name: String,
        /// What failed.
        reason: String,
    },
}

impl Webhook {
    /// A webhook named `name` (its receipt key is `webhook:NAME`) posting to `url`.
    pub fn new(
        name: &str,
        url: &str,
        format: WebhookFormat,
        route: Route,
    ) -> Result<Self, WebhookConfigError> {
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_name {
            return Err(WebhookConfigError::Name(name.to_string()));
        }
        let url = url::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| WebhookConfigError::Url { name: name.to_string() })?;
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| WebhookConfigError::Client { name: name.to_string(), reason: e.to_string() })?;
        Ok(Webhook { name: format!("webhook:{name}"), url, format, route, client })
    }

    /// The body posted for `alert`.
    pub fn body(&self, alert: &AlertRecord) -> Json {
        match &self.format {
            WebhookFormat::Slack => slack_message(alert),
            WebhookFormat::PagerDuty { routing_key } => pagerduty_event(alert, routing_key),
        }
    }

    fn fail(&self, reason: impl Into<String>) -> SinkError {
        SinkError::Webhook { sink: self.name.clone(), endpoint: endpoint(&self.url), reason: reason.into() }
    }
}

#[async_trait]
impl Sink for Webhook {
    fn name(&self) -> &str {
        &self.name
    }

    fn accepts(&self, alert: &AlertRecord, _remediation: Remediation) -> bool {
        self.route.matches(alert)
    }

    async fn deliver(&self, alert: &AlertRecord) -> Result<Receipt, SinkError> {
        let response = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(self.body(alert).to_string())
            .send()
            .await
            // reqwest's error text names the URL: keep only what kind of failure it was.
            .map_err(|e| self.fail(transport_failure(&e)))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            let said: String = text.chars().take(200).collect();
            return Err(self.fail(format!("HTTP {}: {said}", status.as_u16())));
        }
        Ok(match &self.format {
            WebhookFormat::Slack => Receipt::new(alert.id.clone()),
            WebhookFormat::PagerDuty { .. } => {
                let key = serde_json::from_str::<Json>(&text)
                    .ok()
                    .and_then(|j| j.get("dedup_key").and_then(Json::as_str).map(str::to_string))
                    .unwrap_or_else(|| alert.id.clone());
                Receipt::new(key)
            }
        })
    }
}

fn transport_failure(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the response was cut short"
    } else {
        "the request failed"
    }
}

fn short_summary(alert: &AlertRecord) -> String {
    alert.summary.chars().take(MAX_SUMMARY_CHARS).collect()
}

/// Slack's incoming-webhook message: `text` for notifications and clients without blocks, a
/// section and a context line for the rest.
pub fn slack_message(alert: &AlertRecord) -> Json {
    let text = format!("[{}] {}", alert.severity, short_summary(alert));
    let mut context = vec![
        json!({"type": "mrkdwn", "text": format!("*{}* · {}", alert.classname, alert.category)}),
        json!({"type": "mrkdwn", "text": format!("alert `{}` · {} event(s)", alert.id, alert.events.len())}),
    ];
    if !alert.tags.is_empty() {
        context.push(json!({"type": "mrkdwn", "text": alert.tags.join(", ")}));
    }
    let mut blocks = vec![
        json!({"type": "section", "text": {"type": "plain_text", "text": text, "emoji": false}}),
        json!({"type": "context", "elements": context}),
    ];
    if !alert.url.is_empty() {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("<{}|Runbook>", alert.url)}}));
    }
    json!({"text": text, "blocks": blocks})
}

/// A PagerDuty Events v2 `trigger` whose `dedup_key` is the alert id.
pub fn pagerduty_event(alert: &AlertRecord, routing_key: &str) -> Json {
    let severity = match severity_of(alert) {
        Some(Severity::Critical) | None => "critical",
        Some(Severity::Warning) => "warning",
        Some(Severity::Notice) | Some(Severity::Info) => "info",
    };
    let mut event = json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": alert.id,
        "payload": {
            "summary": short_summary(alert),
            "source": "tripline",
            "severity": severity,
            "timestamp": tripline_event::format_timestamp(alert.utctimestamp),
            "component": alert.classname,
            "group": alert.category,
            "class": alert.classname,
            "custom_details": {
                "tags": alert.tags,
                "events": alert.events.iter().map(|e| json!({"index": e.documentindex, "id": e.documentid})).collect::<Vec<_>>(),
                "details": alert.details,
            },
        },
    });
    if !alert.url.is_empty() {
        event["links"] = json!([{"href": alert.url, "text": "Runbook"}]);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::tests::alert;

    fn hook(format: WebhookFormat, route: Route) -> Webhook {
        Webhook::new("secops", "https://hooks.example.com/services/T000/B000/SECRETPATH", format, route)
            .expect("webhook")
    }

    #[test]
    fn routes_by_severity_and_tags() {
        let route = Route { min_severity: Severity::Warning, tags: vec!["iam".into(), "T1098".into()] };
        let mut a = alert("x");
        a.tags = vec!["cloudtrail".into(), "iam".into()];
        assert!(route.matches(&a));
        a.severity = "NOTICE".into();
        assert!(!route.matches(&a), "below the minimum");
        a.severity = "CRITICAL".into();
        a.tags = vec!["vpcflow".into()];
        assert!(!route.matches(&a), "no wanted tag");
        a.tags.push("T1098".into());
        assert!(route.matches(&a));
        a.severity = "SEVERE?".into();
        assert!(route.matches(&a), "an unreadable severity is taken, not dropped");
        assert!(Route::default().matches(&alert("x")));
    }

    #[test]
    fn secrets_stay_out_of_debug_and_errors() {
        let h = hook(WebhookFormat::PagerDuty { routing_key: "R0UT1NGKEY".into() }, Route::default());
        let shown = format!("{h:?} {}", h.fail("HTTP 500: x"));
        assert!(!shown.contains("SECRETPATH") && !shown.contains("R0UT1NGKEY"), "{shown}");
        assert!(shown.contains("https://hooks.example.com:443"), "{shown}");
        for (name, url) in [("", "https://x"), ("a b", "https://x"), ("ok", "ftp://x/y"), ("ok", "not a url")]
        {
            let err =
                Webhook::new(name, url, WebhookFormat::Slack, Route::default()).unwrap_err().to_string();
            assert!(!err.contains("/y"), "{err}");
        }
    }

    #[test]
    fn pagerduty_event_is_deduplicated_by_alert_id() {
        let h = hook(WebhookFormat::PagerDuty { routing_key: "k".into() }, Route::default());
        let mut a = alert(&"s".repeat(2000));
        a.severity = "CRITICAL".into();
        let body = h.body(&a);
        assert_eq!(body["dedup_key"], a.id.as_str());
        assert_eq!(body["event_action"], "trigger");
        assert_eq!(body["routing_key"], "k");
        assert_eq!(body["payload"]["severity"], "critical");
        assert_eq!(body["payload"]["summary"].as_str().map(|s| s.chars().count()), Some(MAX_SUMMARY_CHARS));
        assert_eq!(body["payload"]["custom_details"]["events"][0]["id"], "e1");
    }

    #[test]
    fn slack_message_has_text_and_blocks() {
        let body = slack_message(&alert("IAM user eve created by mallory"));
        assert_eq!(body["text"], "[WARNING] IAM user eve created by mallory");
        assert_eq!(body["blocks"][0]["text"]["text"], body["text"]);
        assert!(body["blocks"][1]["elements"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("describe_recon")));
    }
}
