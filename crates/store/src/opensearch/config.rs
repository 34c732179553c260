//! Where the cluster is, how to authenticate, how hard to try: [`OpenSearchConfig`].

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::{StoreError, ALERTS_INDEX, EVENTS_PREFIX};

/// How requests are authenticated.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Auth {
    /// No authentication (a local cluster without the security plugin, as the tests' node).
    #[default]
    None,
    /// HTTP basic authentication (self-managed OpenSearch with the security plugin).
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// AWS Signature Version 4 with credentials from the default AWS chain (environment, profile,
    /// SSO, web identity, ECS/EC2 metadata: whatever `aws-config` finds, as in a Lambda).
    SigV4 {
        /// Amazon OpenSearch Service (`es`) or OpenSearch Serverless (`aoss`).
        service: SigV4Service,
        /// The region to sign for; `None` takes the region of the AWS configuration
        /// (`AWS_REGION`, the profile).
        region: Option<String>,
    },
}

// Hand-written so that a password never ends up in a log line.
impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { user, .. } => write!(f, "Basic {{ user: {user:?}, password: <redacted> }}"),
            Auth::SigV4 { service, region } => {
                write!(f, "SigV4 {{ service: {service:?}, region: {region:?} }}")
            }
        }
    }
}

/// The AWS service a SigV4 signature is scoped to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigV4Service {
    /// Amazon OpenSearch Service domains: `es`.
    Es,
    /// Amazon OpenSearch Serverless collections: `aoss`.
    Aoss,
}

impl SigV4Service {
    /// The signing name.
    pub fn signing_name(self) -> &'static str {
        match self {
            SigV4Service::Es => "es",
            SigV4Service::Aoss => "aoss",
        }
    }
}

/// How often and how patiently a request is retried.
///
/// Throttling (429), server errors (5xx), timeouts and broken connections are retried; anything
/// else is answered at once. Attempt `n` (from 1) waits a random delay in
/// `[d/2, d]` with `d = min(max_delay, base_delay · 2ⁿ⁻¹)` ("equal jitter"), or what the server's
/// `Retry-After` asks for, if that is longer, up to `max_delay`. A call therefore takes at most
/// `max_attempts × timeout + (max_attempts − 1) × max_delay`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// The delay before the second attempt (before jitter).
    pub base_delay: Duration,
    /// No delay is longer than this, `Retry-After` included.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempt + 1`, after attempt `attempt` (from 1) failed, given a
    /// server's `Retry-After`, with `unit` a random number in `[0, 1)`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let ceiling = exp.min(self.max_delay);
        let jittered = ceiling.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0));
        match retry_after {
            Some(asked) => asked.max(jittered).min(self.max_delay),
            None => jittered,
        }
    }
}

/// Everything the OpenSearch store needs to know. Build one by hand, or with
/// [`OpenSearchConfig::from_env`].
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `TRIPLINE_OPENSEARCH_URL` | the cluster (`https://search-x.eu-west-1.es.amazonaws.com`, `http://127.0.0.1:9200`) | required |
/// | `TRIPLINE_OPENSEARCH_AUTH` | `none`, `basic`, `sigv4` (Amazon OpenSearch Service, `es`) or `aoss` (Serverless) | `none` |
/// | `TRIPLINE_OPENSEARCH_USER`, `TRIPLINE_OPENSEARCH_PASSWORD` | basic auth | required for `basic` |
/// | `AWS_REGION` (or the AWS profile) | the region SigV4 signs for | required for `sigv4`/`aoss` |
/// | `TRIPLINE_OPENSEARCH_EVENTS_PREFIX` | prefix of the daily event indices | `events-` |
/// | `TRIPLINE_OPENSEARCH_ALERTS_INDEX` | the alerts index | `alerts` |
/// | `TRIPLINE_OPENSEARCH_TIMEOUT_MS` | per-attempt timeout (connect to last byte) | `30000` |
/// | `TRIPLINE_OPENSEARCH_MAX_ATTEMPTS` | attempts per request, the first included | `4` |
/// | `TRIPLINE_OPENSEARCH_RETRY_BASE_MS`, `TRIPLINE_OPENSEARCH_RETRY_MAX_MS` | backoff base and cap | `100`, `5000` |
/// | `TRIPLINE_OPENSEARCH_REFRESH` | `true`: writes are searchable when the call returns | `true` (`false` for `aoss`, which has no refresh) |
/// | `TRIPLINE_OPENSEARCH_CA_CERT` | a PEM file of extra trusted CA certificates | system roots |
/// | `TRIPLINE_OPENSEARCH_INSECURE` | `true`: accept any certificate (a local test cluster only) | `false` |
/// | `TRIPLINE_OPENSEARCH_INSTALL_TEMPLATES` | install the index templates before the first write | `true` |
///
/// AWS credentials come from the default chain (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`,
/// `AWS_PROFILE`, SSO, a Lambda's role), read when the store connects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenSearchConfig {
    /// The cluster's base URL (`http` for a local cluster, `https` otherwise).
    pub url: Url,
    /// Authentication.
    pub auth: Auth,
    /// Daily event indices are `{events_prefix}YYYY.MM.DD`; searches read `{events_prefix}*`.
    pub events_prefix: String,
    /// The alerts index.
    pub alerts_index: String,
    /// One attempt (connect, send, read the whole answer) takes at most this long.
    pub timeout: Duration,
    /// Retries on throttling, 5xx and timeouts.
    pub retry: RetryPolicy,
    /// Refresh after writes, so that they are searchable when the call returns.
    pub refresh: bool,
    /// Install the index templates before the first write (once per store).
    pub install_templates: bool,
    /// A bulk request carries at most this many bytes of NDJSON (larger batches are split).
    pub bulk_max_bytes: usize,
    /// Extra trusted CA certificates (PEM).
    pub ca_cert: Option<PathBuf>,
    /// Accept any TLS certificate. For a local test cluster with a self-signed certificate only.
    pub insecure_tls: bool,
}

impl OpenSearchConfig {
    /// A configuration for `url` with no authentication and the defaults.
    pub fn new(url: Url) -> Self {
        OpenSearchConfig {
            url,
            auth: Auth::None,
            events_prefix: EVENTS_PREFIX.to_string(),
            alerts_index: ALERTS_INDEX.to_string(),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            refresh: true,
            install_templates: true,
            bulk_max_bytes: 5 * 1024 * 1024,
            ca_cert: None,
            insecure_tls: false,
        }
    }

    /// Parse `url` and build a configuration with the defaults.
    pub fn for_url(url: &str) -> Result<Self, StoreError> {
        let parsed =
            Url::parse(url).map_err(|e| StoreError::Config(format!("OpenSearch URL {url:?}: {e}")))?;
        match parsed.scheme() {
            "http" | "https" => Ok(Self::new(parsed)),
            other => Err(StoreError::Config(format!(
                "OpenSearch URL {url:?}: scheme {other:?} is not http or https"
            ))),
        }
    }

    /// The configuration from the process environment (see the table above).
    pub fn from_env() -> Result<Self, StoreError> {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// The configuration from any key → value lookup (the environment, a test map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, StoreError> {
        let url = get("TRIPLINE_OPENSEARCH_URL")
            .ok_or_else(|| StoreError::Config("TRIPLINE_OPENSEARCH_URL is not set".into()))?;
        let mut c = Self::for_url(&url)?;
        let auth = get("TRIPLINE_OPENSEARCH_AUTH").unwrap_or_else(|| "none".into());
        let region = get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION"));
        c.auth = match auth.to_ascii_lowercase().as_str() {
            "none" => Auth::None,
            "basic" => {
                let need = |k: &str| {
                    get(k).ok_or_else(|| {
                        StoreError::Config(format!("TRIPLINE_OPENSEARCH_AUTH=basic needs {k}"))
                    })
                };
                Auth::Basic {
                    user: need("TRIPLINE_OPENSEARCH_USER")?,
                    password: need("TRIPLINE_OPENSEARCH_PASSWORD")?,
                }
            }
            "sigv4" | "es" => Auth::SigV4 { service: SigV4Service::Es, region },
            "aoss" => {
                c.refresh = false;
                Auth::SigV4 { service: SigV4Service::Aoss, region }
            }
            other => {
                return Err(StoreError::Config(format!(
                    "TRIPLINE_OPENSEARCH_AUTH={other:?}: use none, basic, sigv4 or aoss"
                )))
            }
        };
        if let Some(p) = get("TRIPLINE_OPENSEARCH_EVENTS_PREFIX") {
            c.events_prefix = p;
        }
        if let Some(a) = get("TRIPLINE_OPENSEARCH_ALERTS_INDEX") {
            c.alerts_index = a;
        }
        let millis = |k: &str| -> Result<Option<Duration>, StoreError> {
            get(k)
                .map(|v| {
                    v.parse::<u64>()
                        .map(Duration::from_millis)
                        .map_err(|e| StoreError::Config(format!("{k}={v:?}: expected milliseconds ({e})")))
                })
                .transpose()
        };
        if let Some(t) = millis("TRIPLINE_OPENSEARCH_TIMEOUT_MS")? {
            c.timeout = t;
        }
        if let Some(t) = millis("TRIPLINE_OPENSEARCH_RETRY_BASE_MS")? {
            c.retry.base_delay = t;
        }
        if let Some(t) = millis("TRIPLINE_OPENSEARCH_RETRY_MAX_MS")? {
            c.retry.max_delay = t;
        }
        if let Some(v) = get("TRIPLINE_OPENSEARCH_MAX_ATTEMPTS") {
            c.retry.max_attempts = v.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                StoreError::Config(format!("TRIPLINE_OPENSEARCH_MAX_ATTEMPTS={v:?}: expected a number ≥ 1"))
            })?;
        }
        let flag = |k: &str| -> Result<Option<bool>, StoreError> {
            get(k)
                .map(|v| match v.to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" => Ok(true),
                    "0" | "false" | "no" => Ok(false),
                    _ => Err(StoreError::Config(format!("{k}={v:?}: expected true or false"))),
                })
                .transpose()
        };
        if let Some(r) = flag("TRIPLINE_OPENSEARCH_REFRESH")? {
            c.refresh = r;
        }
        if let Some(i) = flag("TRIPLINE_OPENSEARCH_INSECURE")? {
            c.insecure_tls = i;
        }
        if let Some(i) = flag("TRIPLINE_OPENSEARCH_INSTALL_TEMPLATES")? {
            c.install_templates = i;
        }
        c.ca_cert = get("TRIPLINE_OPENSEARCH_CA_CERT").map(PathBuf::from);
        c.validate()?;
        Ok(c)
    }

    /// Check what can be checked without a network.
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.events_prefix.is_empty() || self.events_prefix.contains(['*', ',', ' ', '/']) {
            return Err(StoreError::Config(format!(
                "events prefix {:?}: must be non-empty, without * , / or spaces",
                self.events_prefix
            )));
        }
        if self.alerts_index.is_empty() || self.alerts_index.contains(['*', ',', ' ', '/']) {
            return Err(StoreError::Config(format!(
                "alerts index {:?}: not a plain index name",
                self.alerts_index
            )));
        }
        if self.retry.max_attempts == 0 {
            return Err(StoreError::Config("retry.max_attempts must be at least 1".into()));
        }
        if self.timeout.is_zero() {
            return Err(StoreError::Config("timeout must be positive".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn defaults_and_overrides() {
        let c = OpenSearchConfig::from_lookup(env(&[("TRIPLINE_OPENSEARCH_URL", "http://127.0.0.1:9200")]))
            .unwrap();
        assert_eq!(c.auth, Auth::None);
        assert_eq!(c.events_prefix, "events-");
        assert_eq!(c.alerts_index, "alerts");
        assert!(c.refresh);
        assert_eq!(c.retry.max_attempts, 4);

        let c = OpenSearchConfig::from_lookup(env(&[
            ("TRIPLINE_OPENSEARCH_URL", "https://x.eu-west-1.aoss.amazonaws.com"),
            ("TRIPLINE_OPENSEARCH_AUTH", "aoss"),
            ("AWS_REGION", "eu-west-1"),
            ("TRIPLINE_OPENSEARCH_TIMEOUT_MS", "1500"),
            ("TRIPLINE_OPENSEARCH_MAX_ATTEMPTS", "2"),
        ]))
        .unwrap();
        assert_eq!(c.auth, Auth::SigV4 { service: SigV4Service::Aoss, region: Some("eu-west-1".into()) });
        assert!(!c.refresh, "Serverless has no refresh");
        assert_eq!(c.timeout, Duration::from_millis(1500));
        assert_eq!(c.retry.max_attempts, 2);
    }

    #[test]
    fn errors_name_the_variable() {
        let e = OpenSearchConfig::from_lookup(env(&[])).unwrap_err().to_string();
        assert!(e.contains("TRIPLINE_OPENSEARCH_URL"), "{e}");
        let e = OpenSearchConfig::from_lookup(env(&[
            ("TRIPLINE_OPENSEARCH_URL", "http://h:9200"),
            ("TRIPLINE_OPENSEARCH_AUTH", "basic"),
            ("TRIPLINE_OPENSEARCH_USER", "u"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(e.contains("TRIPLINE_OPENSEARCH_PASSWORD"), "{e}");
        let e = OpenSearchConfig::from_lookup(env(&[
            ("TRIPLINE_OPENSEARCH_URL", "http://h:9200"),
            ("TRIPLINE_OPENSEARCH_AUTH", "kerberos"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(e.contains("kerberos"), "{e}");
        let e = OpenSearchConfig::from_lookup(env(&[("TRIPLINE_OPENSEARCH_URL", "ftp://h")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("ftp"), "{e}");
    }

    #[test]
    fn password_is_not_printed() {
        let a = Auth::Basic { user: "admin".into(), password: "hunter2".into() };
        let s = format!("{a:?}");
        assert!(s.contains("admin") && !s.contains("hunter2"), "{s}");
    }

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let p = RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        assert_eq!(p.delay(1, None, 0.999_999).as_millis(), 99);
        assert_eq!(p.delay(1, None, 0.0), Duration::from_millis(50));
        assert_eq!(p.delay(3, None, 0.0), Duration::from_millis(200));
        assert_eq!(p.delay(10, None, 0.0), Duration::from_millis(500));
        assert!(p.delay(10, None, 0.99) <= Duration::from_millis(1000));
        assert_eq!(p.delay(1, Some(Duration::from_millis(700)), 0.0), Duration::from_millis(700));
        assert_eq!(p.delay(1, Some(Duration::from_secs(60)), 0.0), Duration::from_millis(1000));
    }
}
