//! Where the cluster is, how to authenticate, how hard to try: [`OpenSearchConfig`].
//!
//! ## Credentials in the URL
//!
//! Secrets are never printed: every error and `Debug` output shows a URL's userinfo (user and
//! password) as `***`, including the text of a URL that does not parse (redacted on the raw
//! text, conservatively: everything between `scheme://` and the **last** `@`), and
//! [`Auth::Basic`]'s password as `<redacted>`.
//!
//! The URL the store connects to never carries userinfo (the HTTP client would send it as basic
//! auth whatever [`Auth`] says), so [`OpenSearchConfig::validate`] refuses a URL with userinfo.
//! In [`OpenSearchConfig::from_lookup`] (the environment):
//!
//! - `TRIPLINE_OPENSEARCH_AUTH=none` (the default), `sigv4`, `aoss`: a URL with userinfo is
//!   refused (credentials the operator believes unused would be sent, or sent beside a SigV4
//!   signature);
//! - `TRIPLINE_OPENSEARCH_AUTH=basic`: the URL's user and password (percent-decoded) are the
//!   basic auth credentials, and are taken out of the URL. `TRIPLINE_OPENSEARCH_USER` and
//!   `TRIPLINE_OPENSEARCH_PASSWORD` may supply what the URL does not; if both give one, they
//!   must agree, or the configuration is refused (which one was meant cannot be known).

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
/// | `TRIPLINE_OPENSEARCH_INSTALL_TEMPLATES` | `true`: install the index templates before the first write; `false`: check that they are installed, and refuse to write if not (the Lambda functions: installing them is the deploy step `tripline opensearch install-templates`) | `true` |
///
/// AWS credentials come from the default chain (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`,
/// `AWS_PROFILE`, SSO, a Lambda's role), read when the store connects.
#[derive(Clone, PartialEq, Eq)]
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
    /// With `install_templates` off: check before the first write (once per store) that the
    /// templates are installed, and refuse to write if not (`StoreError::Config`). Off only
    /// where requests are counted (fault-injection tests).
    pub check_templates: bool,
    /// A bulk request carries at most this many bytes of NDJSON (larger batches are split).
    pub bulk_max_bytes: usize,
    /// Extra trusted CA certificates (PEM).
    pub ca_cert: Option<PathBuf>,
    /// Accept any TLS certificate. For a local test cluster with a self-signed certificate only.
    pub insecure_tls: bool,
}

// Hand-written so that neither the URL's userinfo nor the password ends up in a log line.
impl std::fmt::Debug for OpenSearchConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenSearchConfig")
            .field("url", &redacted(&self.url))
            .field("auth", &self.auth)
            .field("events_prefix", &self.events_prefix)
            .field("alerts_index", &self.alerts_index)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("refresh", &self.refresh)
            .field("install_templates", &self.install_templates)
            .field("check_templates", &self.check_templates)
            .field("bulk_max_bytes", &self.bulk_max_bytes)
            .field("ca_cert", &self.ca_cert)
            .field("insecure_tls", &self.insecure_tls)
            .finish()
    }
}

/// `url` as text with its userinfo, if any, replaced by `***`.
pub(crate) fn redacted(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut clean = url.clone();
    // Cannot fail for a URL that has userinfo (it has a host); fall back to the raw redaction.
    if clean.set_password(None).is_err() || clean.set_username("").is_err() {
        return redact_text(url.as_str());
    }
    let text = clean.to_string();
    match text.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://***@{rest}"),
        None => redact_text(url.as_str()),
    }
}

/// Raw URL text (which may not parse) with anything that may be userinfo replaced by `***`:
/// everything between `scheme://` (or the start, without one) and the last `@`. Conservative: an
/// `@` in a path redacts more than needed, never less.
pub(crate) fn redact_text(raw: &str) -> String {
    let start = raw.find("://").map_or(0, |i| i + 3);
    match raw[start..].rfind('@') {
        Some(at) => format!("{}***{}", &raw[..start], &raw[start + at..]),
        None => raw.to_string(),
    }
}

/// The URL's user and password, percent-decoded (`None` when absent or empty).
fn userinfo(url: &Url) -> Result<(Option<String>, Option<String>), StoreError> {
    let decode = |part: &str, what: &str| -> Result<Option<String>, StoreError> {
        if part.is_empty() {
            return Ok(None);
        }
        String::from_utf8(percent_decode(part)).map(Some).map_err(|_| {
            StoreError::Config(format!("OpenSearch URL {}: the {what} is not UTF-8", redacted(url)))
        })
    };
    Ok((decode(url.username(), "user name")?, decode(url.password().unwrap_or(""), "password")?))
}

/// `%XX` escapes decoded (as the URL parser leaves them in userinfo); anything else as it is.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|_| bytes[i] == b'%')
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
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
            check_templates: true,
            bulk_max_bytes: 5 * 1024 * 1024,
            ca_cert: None,
            insecure_tls: false,
        }
    }

    /// Parse `url` and build a configuration with the defaults.
    pub fn for_url(url: &str) -> Result<Self, StoreError> {
        let shown = redact_text(url);
        let parsed =
            Url::parse(url).map_err(|e| StoreError::Config(format!("OpenSearch URL {shown:?}: {e}")))?;
        match parsed.scheme() {
            "http" | "https" => Ok(Self::new(parsed)),
            // Without `://`, what parses as the scheme may be a user name (`admin:pw@host`).
            other if url.starts_with(&format!("{other}://")) => Err(StoreError::Config(format!(
                "OpenSearch URL {shown:?}: scheme {other:?} is not http or https"
            ))),
            _ => Err(StoreError::Config(format!("OpenSearch URL {shown:?}: not an http:// or https:// URL"))),
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
        let (url_user, url_password) = userinfo(&c.url)?;
        let auth = auth.to_ascii_lowercase();
        if auth != "basic" && (url_user.is_some() || url_password.is_some()) {
            return Err(StoreError::Config(format!(
                "OpenSearch URL {}: the URL carries credentials but TRIPLINE_OPENSEARCH_AUTH is {auth}: \
                 use TRIPLINE_OPENSEARCH_AUTH=basic with TRIPLINE_OPENSEARCH_USER/TRIPLINE_OPENSEARCH_PASSWORD, \
                 or remove them from the URL",
                redacted(&c.url)
            )));
        }
        c.auth = match auth.as_str() {
            "none" => Auth::None,
            "basic" => {
                // The URL's userinfo or the variables; both given must agree (module docs).
                let pick = |from_url: Option<String>, k: &str| -> Result<String, StoreError> {
                    match (from_url, get(k)) {
                        (Some(u), Some(v)) if u != v => Err(StoreError::Config(format!(
                            "OpenSearch URL {}: its credentials differ from {k}: give them once, \
                             in TRIPLINE_OPENSEARCH_USER/TRIPLINE_OPENSEARCH_PASSWORD",
                            redacted(&c.url)
                        ))),
                        (Some(u), _) => Ok(u),
                        (None, Some(v)) => Ok(v),
                        (None, None) => {
                            Err(StoreError::Config(format!("TRIPLINE_OPENSEARCH_AUTH=basic needs {k}")))
                        }
                    }
                };
                let user = pick(url_user, "TRIPLINE_OPENSEARCH_USER")?;
                let password = pick(url_password, "TRIPLINE_OPENSEARCH_PASSWORD")?;
                // They are the configured credentials now: out of the URL (see `validate`).
                let _ = c.url.set_password(None);
                let _ = c.url.set_username("");
                Auth::Basic { user, password }
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
        if !self.url.username().is_empty() || self.url.password().is_some() {
            let hint = match self.auth {
                Auth::None => "the URL carries credentials but TRIPLINE_OPENSEARCH_AUTH is none: use \
                     TRIPLINE_OPENSEARCH_AUTH=basic with TRIPLINE_OPENSEARCH_USER/TRIPLINE_OPENSEARCH_PASSWORD \
                     (Auth::Basic), or remove them from the URL",
                Auth::Basic { .. } => "the URL carries credentials: give them in Auth::Basic only",
                Auth::SigV4 { .. } => "the URL carries credentials, which SigV4 does not use: remove them",
            };
            return Err(StoreError::Config(format!("OpenSearch URL {}: {hint}", redacted(&self.url))));
        }
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

    /// A URL that does not parse is quoted in the error with its userinfo redacted. Before, the
    /// error was `OpenSearch URL "http://admin:s3cr3t@[::1": invalid IPv6 address`.
    #[test]
    fn a_malformed_url_does_not_print_its_password() {
        for raw in [
            "http://admin:s3cr3t@[::1",
            "http://admin:s3cr3t@h:99999",
            "admin:s3cr3t@h:9200",
            "ftp://admin:s3cr3t@h",
        ] {
            let e = OpenSearchConfig::from_lookup(env(&[("TRIPLINE_OPENSEARCH_URL", raw)]))
                .expect_err(raw)
                .to_string();
            assert!(!e.contains("s3cr3t") && !e.contains("admin"), "{e}");
            assert!(e.contains("***@"), "{e}");
        }
        assert_eq!(redact_text("http://u:p@ss@h/x"), "http://***@h/x");
        assert_eq!(redact_text("http://u:p/w@h"), "http://***@h", "a '/' in the password");
        assert_eq!(redact_text("http://h:9200/"), "http://h:9200/");
    }

    /// Neither the password of basic auth nor a URL's userinfo is in the config's `Debug`.
    /// Before, the derived `Debug` printed the `Url`, password included.
    #[test]
    fn debug_of_a_config_prints_no_password() {
        let mut c = OpenSearchConfig::new(Url::parse("http://admin:s3cr3t@h:9200").unwrap());
        c.auth = Auth::Basic { user: "admin".into(), password: "hunter2".into() };
        let s = format!("{c:?}");
        assert!(!s.contains("s3cr3t") && !s.contains("hunter2"), "{s}");
        assert!(s.contains("***@h:9200"), "{s}");
        let e = c.validate().unwrap_err().to_string();
        assert!(!e.contains("s3cr3t") && e.contains("Auth::Basic"), "{e}");
    }

    /// With AUTH=none (also by default), userinfo in the URL is refused, not sent as basic auth;
    /// the same for SigV4. Before, it was accepted and the HTTP client sent it.
    #[test]
    fn userinfo_without_basic_auth_is_refused() {
        for auth in [None, Some("none"), Some("sigv4")] {
            let mut pairs = vec![("TRIPLINE_OPENSEARCH_URL", "http://admin:s3cr3t@h:9200")];
            pairs.extend(auth.map(|a| ("TRIPLINE_OPENSEARCH_AUTH", a)));
            let e = OpenSearchConfig::from_lookup(env(&pairs)).unwrap_err().to_string();
            assert!(e.contains("the URL carries credentials but TRIPLINE_OPENSEARCH_AUTH is"), "{e}");
            assert!(e.contains("TRIPLINE_OPENSEARCH_USER") && !e.contains("s3cr3t"), "{e}");
        }
        // Built by hand: the store refuses it when it connects (`build` validates).
        let c = OpenSearchConfig::for_url("http://admin:s3cr3t@h:9200").unwrap();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("TRIPLINE_OPENSEARCH_AUTH is none") && !e.contains("s3cr3t"), "{e}");
    }

    /// With AUTH=basic the URL's userinfo is the credentials (decoded, taken out of the URL), the
    /// variables may complete it, and a disagreement is refused.
    #[test]
    fn userinfo_with_basic_auth_is_the_credentials_or_refused() {
        let c = OpenSearchConfig::from_lookup(env(&[
            ("TRIPLINE_OPENSEARCH_URL", "https://admin:s3%40cr3t@h:9200/"),
            ("TRIPLINE_OPENSEARCH_AUTH", "basic"),
        ]))
        .unwrap();
        assert_eq!(c.auth, Auth::Basic { user: "admin".into(), password: "s3@cr3t".into() });
        assert_eq!(c.url.as_str(), "https://h:9200/");
        let c = OpenSearchConfig::from_lookup(env(&[
            ("TRIPLINE_OPENSEARCH_URL", "https://admin@h:9200"),
            ("TRIPLINE_OPENSEARCH_AUTH", "basic"),
            ("TRIPLINE_OPENSEARCH_USER", "admin"),
            ("TRIPLINE_OPENSEARCH_PASSWORD", "pw"),
        ]))
        .unwrap();
        assert_eq!(c.auth, Auth::Basic { user: "admin".into(), password: "pw".into() });
        let e = OpenSearchConfig::from_lookup(env(&[
            ("TRIPLINE_OPENSEARCH_URL", "https://admin:s3cr3t@h:9200"),
            ("TRIPLINE_OPENSEARCH_AUTH", "basic"),
            ("TRIPLINE_OPENSEARCH_USER", "admin"),
            ("TRIPLINE_OPENSEARCH_PASSWORD", "other"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("TRIPLINE_OPENSEARCH_PASSWORD") && !e.contains("s3cr3t") && !e.contains("other"),
            "{e}"
        );
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
