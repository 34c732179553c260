//! SNS (`sns`): every alert, as JSON, with its severity, category and class as message
//! attributes; the receipt is the message id.

use async_trait::async_trait;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;
use tripline_alerts::Remediation;
use tripline_event::AlertRecord;

use super::{fitting_json, Receipt, Sink, SinkError, SNS};

/// SNS subjects are at most 100 characters.
pub const MAX_SUBJECT_CHARS: usize = 100;

/// An SNS topic alerts are published to.
#[derive(Clone, Debug)]
pub struct Sns {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl Sns {
    /// Publish to `topic_arn` with `client`.
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Sns { client, topic_arn: topic_arn.into() }
    }

    /// The topic.
    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }

    /// Publish one alert; returns the SNS message id.
    pub async fn publish(&self, alert: &AlertRecord) -> Result<String, SinkError> {
        let fail = |reason: String| SinkError::Sns { topic: self.topic_arn.clone(), reason };
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject(alert))
            .message(fitting_json(alert, |a| a).to_string());
        for (key, value) in
            [("severity", &alert.severity), ("category", &alert.category), ("classname", &alert.classname)]
        {
            if value.is_empty() {
                continue;
            }
            let attr = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| fail(format!("message attribute {key}: {e}")))?;
            request = request.message_attributes(key, attr);
        }
        if self.topic_arn.ends_with(".fifo") {
            request = request.message_group_id(&alert.classname).message_deduplication_id(&alert.id);
        }
        let out = request.send().await.map_err(|e| fail(DisplayErrorContext(e).to_string()))?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}

/// `[SEVERITY] summary`, printable ASCII only (SNS's rule), at most 100 characters.
pub fn subject(alert: &AlertRecord) -> String {
    let raw = format!("[{}] {}", alert.severity, alert.summary);
    let clean: String = raw
        .chars()
        .map(|c| match c {
            c if c.is_ascii_graphic() => c,
            c if c.is_whitespace() || c.is_control() => ' ',
            _ => '?',
        })
        .take(MAX_SUBJECT_CHARS)
        .collect();
    clean.trim().to_string()
}

#[async_trait]
impl Sink for Sns {
    fn name(&self) -> &str {
        SNS
    }

    fn accepts(&self, _alert: &AlertRecord, _remediation: Remediation) -> bool {
        true
    }

    async fn deliver(&self, alert: &AlertRecord) -> Result<Receipt, SinkError> {
        self.publish(alert).await.map(Receipt::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::tests::alert;

    #[test]
    fn subject_is_ascii_and_short() {
        let s = subject(&alert(&format!("café\nlogin {}", "x".repeat(200))));
        assert_eq!(s.chars().count(), MAX_SUBJECT_CHARS);
        assert!(s.starts_with("[WARNING] caf? login"), "{s}");
        assert!(s.chars().all(|c| c.is_ascii_graphic() || c == ' '));
    }
}
