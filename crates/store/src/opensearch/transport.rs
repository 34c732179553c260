//! Sending one request, patiently: a per-attempt timeout, and bounded retries with exponential
//! backoff and jitter on throttling (429), server errors (5xx), timeouts and broken connections.
//!
//! Requests go through the `opensearch` crate's transport, which applies basic auth or signs with
//! SigV4 (`es` / `aoss`) and handles TLS. Bodies are built and answers are parsed by the caller:
//! this module only moves bytes and decides whether to try again.

use std::time::Duration;

use opensearch::http::headers::{HeaderMap, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use opensearch::http::Method;
use opensearch::OpenSearch;
use rand::Rng;

use super::config::RetryPolicy;
use crate::StoreError;

/// An answer with a status the caller has to interpret (2xx, or a 4xx other than 429).
#[derive(Debug)]
pub(crate) struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The whole body.
    pub body: Vec<u8>,
}

/// What one attempt produced.
enum Attempt {
    /// An answer to hand back.
    Done(Reply),
    /// Worth another try: what went wrong, and how long the server asked us to wait.
    Retry(String, Option<Duration>),
    /// Not worth another try.
    Fail(StoreError),
}

/// The `opensearch` client plus the retry policy.
#[derive(Clone)]
pub(crate) struct Transport {
    client: OpenSearch,
    timeout: Duration,
    retry: RetryPolicy,
}

/// How a request body is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyKind {
    /// `application/json`.
    Json,
    /// `application/x-ndjson` (`_bulk`).
    NdJson,
}

impl Transport {
    pub(crate) fn new(client: OpenSearch, timeout: Duration, retry: RetryPolicy) -> Self {
        Transport { client, timeout, retry }
    }

    /// The client requests go through.
    pub(crate) fn client(&self) -> &OpenSearch {
        &self.client
    }

    /// Send a request, retrying what is worth retrying. `Ok` carries a 2xx or a final 4xx answer;
    /// the body has been read completely.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<(BodyKind, &[u8])>,
    ) -> Result<Reply, StoreError> {
        let attempts = self.retry.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let outcome = match tokio::time::timeout(self.timeout, self.once(method, path, query, body)).await
            {
                Ok(outcome) => outcome,
                Err(_) => Attempt::Retry(format!("no complete answer within {:?}", self.timeout), None),
            };
            match outcome {
                Attempt::Done(reply) => return Ok(reply),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(why, retry_after) => {
                    tracing::debug!(path, attempt, attempts, reason = %why, "OpenSearch request failed");
                    if attempt >= attempts {
                        return Err(StoreError::RetriesExhausted { attempts: attempt, last: why });
                    }
                    let unit: f64 = rand::rng().random();
                    tokio::time::sleep(self.retry.delay(attempt, retry_after, unit)).await;
                    attempt += 1;
                }
            }
        }
    }

    /// Wait before another round of per-item retries (bulk items answered 429 / 5xx).
    pub(crate) async fn backoff(&self, round: u32) {
        let unit: f64 = rand::rng().random();
        tokio::time::sleep(self.retry.delay(round, None, unit)).await;
    }

    /// Attempts per request (and rounds per bulk).
    pub(crate) fn max_attempts(&self) -> u32 {
        self.retry.max_attempts.max(1)
    }

    async fn once(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<(BodyKind, &[u8])>,
    ) -> Attempt {
        let mut headers = HeaderMap::new();
        let (kind, bytes) = match body {
            Some((kind, bytes)) => (Some(kind), Some(bytes)),
            None => (None, None),
        };
        if kind == Some(BodyKind::NdJson) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
        }
        let query = if query.is_empty() { None } else { Some(query) };
        let response = match self.client.transport().send(method, path, headers, query, bytes, None).await {
            Ok(r) => r,
            // Connection refused or reset, DNS, TLS handshake, credentials that could not be
            // fetched: all of these can be transient (a node restarting, the metadata service
            // slow), and the retries are bounded.
            Err(e) => return Attempt::Retry(format!("transport: {}", error_chain(&e)), None),
        };
        let status = response.status_code().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.bytes().await;
        if status == 429 || status >= 500 {
            let detail = match &body {
                Ok(b) => super::response::error_reason_bytes(b),
                Err(e) => format!("(body unreadable: {e})"),
            };
            return Attempt::Retry(format!("HTTP {status}: {detail}"), retry_after);
        }
        match body {
            Ok(body) => Attempt::Done(Reply { status, body: body.to_vec() }),
            Err(e) => Attempt::Fail(StoreError::Malformed(format!(
                "{path}: HTTP {status} with a truncated or unreadable body: {}",
                error_chain(&e)
            ))),
        }
    }
}

/// An error and its causes, on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
