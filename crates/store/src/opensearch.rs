//! # The OpenSearch store: events at scale
//!
//! [`OpenSearchStore`] keeps events in Amazon OpenSearch Service, OpenSearch Serverless or a
//! self-managed cluster, through the official `opensearch` crate. Queries are the DSL's
//! [`QueryAst`] rendered by [`tripline_dsl::opensearch`]; this module sends them and reads the
//! answers strictly.
//!
//! ```text
//! config ──▶ transport (auth, TLS, timeout, retries) ──▶ _search / _bulk / _mget ──▶ response
//!            basic | SigV4 es | SigV4 aoss                                          (strict parsing)
//! ```
//!
//! - **Indices.** Events go to `{prefix}YYYY.MM.DD` (by `utctimestamp`, prefix `events-`) under
//!   [`Event::id`]; searches read `{prefix}*`. Alerts go to `alerts` under their id. The mapping
//!   comes from `infra/opensearch/index-template.json` and `alerts-template.json` (embedded in
//!   this crate), installed by [`OpenSearchStore::ensure_templates`]: the deploy step
//!   `tripline opensearch install-templates`, or the first write of a store with
//!   [`OpenSearchConfig::install_templates`] on (the default; the Lambda functions turn it off).
//!   With it off, the first write checks that the templates are there
//!   ([`OpenSearchStore::check_templates`]) and fails with [`StoreError::Config`] if not: an
//!   index created before its template would keep a dynamic mapping for the rest of its life.
//! - **Auth.** [`Auth::SigV4`] loads credentials with `aws-config`'s default chain and hands
//!   them, as an `SdkConfig`, to the `opensearch` crate, which signs each request with
//!   `aws-sigv4` for `es` or `aoss` (with the `x-amz-content-sha256` header Serverless requires).
//!   [`Auth::Basic`] for the security plugin; [`Auth::None`] for a local cluster. TLS is rustls.
//! - **Failures.** Throttling (429), 5xx, timeouts and broken connections are retried with
//!   backoff ([`RetryPolicy`]); other refusals are [`StoreError::Rejected`] with the engine's
//!   reason. A search where a shard failed or that timed out is [`StoreError::PartialResults`];
//!   a body that is truncated, not JSON or missing a part is [`StoreError::Malformed`]. None of
//!   them ever comes back as an empty result.
//! - **Bulk writes** report each refused document ([`BulkFailure`]); items refused with 429 or
//!   5xx are sent again, alone, with backoff, before being reported as retryable. A request the
//!   cluster answers 413 (too large) is sent again in halves, down to one document; a document
//!   too large on its own is reported as that document's failure (413, not retryable). Any other
//!   refusal of a whole request (401, 403, …) is [`StoreError::Rejected`] for the whole call.
//! - **Visibility.** Writes use `refresh=true`, so they are searchable when the call returns
//!   (Serverless has no refresh: there, writes become visible within seconds).
//! - **Tagging** reads each event's `alert_names` (`_mget`) and writes the extended list back
//!   with a partial update guarded by `if_seq_no`/`if_primary_term`; a concurrent change is read
//!   again. (A painless script would save the read, but not every OpenSearch-compatible server
//!   runs scripts, and Serverless does not.)

mod config;
mod response;
mod templates;
mod transport;

use std::collections::{HashMap, VecDeque};

use async_trait::async_trait;
use opensearch::auth::Credentials;
use opensearch::cert::{Certificate, CertificateValidation};
use opensearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use opensearch::http::Method;
use opensearch::OpenSearch;
use serde_json::{json, Value as Json};
use tokio::sync::OnceCell;
use tripline_dsl::opensearch::{search_request, Order};
use tripline_dsl::{Aggregation, QueryAst};
use tripline_event::{AlertRecord, Event};

pub use config::{Auth, OpenSearchConfig, RetryPolicy, SigV4Service};
use response::ItemOutcome;
use transport::{BodyKind, Reply, Transport};

use crate::{
    AggregationResult, BulkFailure, BulkReport, DocRef, EventStore, SearchRequest, SearchResult, Sort,
    StoreError,
};

/// The events index template (`PUT _index_template/tripline-events`), MozDef's baseline mapping.
pub const EVENTS_TEMPLATE: &str = include_str!("../../../infra/opensearch/index-template.json");
/// The alerts index template (`PUT _index_template/tripline-alerts`).
pub const ALERTS_TEMPLATE: &str = include_str!("../../../infra/opensearch/alerts-template.json");

/// Events and alerts in an OpenSearch cluster. See the [module docs](self).
pub struct OpenSearchStore {
    transport: Transport,
    config: OpenSearchConfig,
    templates: OnceCell<()>,
}

impl std::fmt::Debug for OpenSearchStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenSearchStore").field("config", &self.config).finish_non_exhaustive()
    }
}

/// One document of a bulk request: its position in the caller's batch, its id, and its two
/// NDJSON lines.
struct BulkItem {
    position: usize,
    id: String,
    lines: String,
}

impl OpenSearchStore {
    /// Connect as configured. With [`Auth::SigV4`] this loads the AWS configuration (credentials
    /// chain and region); nothing is sent to the cluster yet.
    pub async fn connect(config: OpenSearchConfig) -> Result<Self, StoreError> {
        let credentials = match &config.auth {
            Auth::SigV4 { region, .. } => {
                let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
                if let Some(r) = region {
                    loader = loader.region(aws_config::Region::new(r.clone()));
                }
                Some(sigv4_credentials(&loader.load().await)?)
            }
            _ => None,
        };
        Self::build(config, credentials)
    }

    /// Connect with SigV4 credentials and region from an AWS configuration the caller already
    /// loaded (a Lambda's, a test's static credentials). `config.auth` must be [`Auth::SigV4`]
    /// (its service is used; a region set there overrides the `SdkConfig`'s).
    pub fn with_sdk_config(
        config: OpenSearchConfig,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Self, StoreError> {
        let Auth::SigV4 { region, .. } = &config.auth else {
            return Err(StoreError::Config("with_sdk_config needs Auth::SigV4".into()));
        };
        let sdk = match region {
            Some(r) => sdk.to_builder().region(aws_config::Region::new(r.clone())).build(),
            None => sdk.clone(),
        };
        let credentials = sigv4_credentials(&sdk)?;
        Self::build(config, Some(credentials))
    }

    fn build(config: OpenSearchConfig, sigv4: Option<Credentials>) -> Result<Self, StoreError> {
        config.validate()?;
        // No client-level timeout: the transport module times each attempt (send and whole
        // body), so a timeout is always reported the same way. Proxies follow the environment
        // (HTTPS_PROXY, NO_PROXY), as reqwest does by default.
        let mut builder = TransportBuilder::new(SingleNodeConnectionPool::new(config.url.clone()));
        match (&config.auth, sigv4) {
            (Auth::None, _) => {}
            (Auth::Basic { user, password }, _) => {
                builder = builder.auth(Credentials::Basic(user.clone(), password.clone()));
            }
            (Auth::SigV4 { service, .. }, Some(credentials)) => {
                builder = builder.auth(credentials).service_name(service.signing_name());
            }
            (Auth::SigV4 { .. }, None) => {
                return Err(StoreError::Config("SigV4 without AWS credentials".into()));
            }
        }
        if let Some(path) = &config.ca_cert {
            let pem = std::fs::read(path)
                .map_err(|e| StoreError::Config(format!("CA certificate {}: {e}", path.display())))?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| StoreError::Config(format!("CA certificate {}: {e}", path.display())))?;
            builder = builder.cert_validation(CertificateValidation::Full(cert));
        }
        if config.insecure_tls {
            builder = builder.cert_validation(CertificateValidation::None);
        }
        let transport =
            builder.build().map_err(|e| StoreError::Connection(format!("building the HTTP client: {e}")))?;
        Ok(OpenSearchStore {
            transport: Transport::new(OpenSearch::new(transport), config.timeout, config.retry),
            config,
            templates: OnceCell::new(),
        })
    }

    /// The underlying `opensearch` client, with this store's authentication and TLS, for
    /// requests the store does not make itself (cluster health, index management).
    pub fn client(&self) -> &OpenSearch {
        self.transport.client()
    }

    /// The configuration in use.
    pub fn config(&self) -> &OpenSearchConfig {
        &self.config
    }

    /// The daily index an event is written to: `{prefix}YYYY.MM.DD` of its `utctimestamp`.
    pub fn event_index(&self, event: &Event) -> String {
        crate::event_index_in(&self.config.events_prefix, event.utctimestamp)
    }

    /// The names of the index templates: `tripline-events` and `tripline-alerts` with the default
    /// index names.
    pub fn template_names(&self) -> (String, String) {
        let events = self.config.events_prefix.trim_end_matches(['-', '_', '.']);
        (format!("tripline-{events}"), format!("tripline-{}", self.config.alerts_index))
    }

    /// The two index templates as this store installs them: (name, body) for the events
    /// template (`infra/opensearch/index-template.json`, for `{events_prefix}*`) and the alerts
    /// template (`alerts-template.json`, for the alerts index).
    pub fn templates(&self) -> Result<[(String, Json); 2], StoreError> {
        let (events_name, alerts_name) = self.template_names();
        let events =
            self.template(EVENTS_TEMPLATE, "index-template.json", format!("{}*", self.config.events_prefix))?;
        let alerts =
            self.template(ALERTS_TEMPLATE, "alerts-template.json", self.config.alerts_index.clone())?;
        Ok([(events_name, events), (alerts_name, alerts)])
    }

    fn template(&self, text: &str, file: &str, pattern: String) -> Result<Json, StoreError> {
        let mut t: Json = serde_json::from_str(text)
            .map_err(|e| StoreError::Config(format!("infra/opensearch/{file} is not JSON: {e}")))?;
        t["index_patterns"] = json!([pattern]);
        Ok(t)
    }

    /// Check that both index templates are installed: `Ok` when they are, a
    /// [`StoreError::Config`] naming the missing ones and the deploy step that installs them
    /// when not (an index created without its template would get a dynamic mapping for good:
    /// IPs and dates as text, numbers as whatever came first).
    pub async fn check_templates(&self) -> Result<(), StoreError> {
        let mut missing = Vec::new();
        for (name, _) in self.templates()? {
            let path = format!("_index_template/{name}");
            let reply = self.transport.send(Method::Get, &path, &[], None).await?;
            if reply.status == 404 {
                missing.push(name);
                continue;
            }
            let v = ok_json(&format!("GET {path}"), reply)?;
            let found = v["index_templates"]
                .as_array()
                .is_some_and(|list| list.iter().any(|t| t["name"].as_str() == Some(name.as_str())));
            if !found {
                missing.push(name);
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        Err(StoreError::Config(format!(
            "index template(s) {} not installed on {}, and this store does not install them \
             (TRIPLINE_OPENSEARCH_INSTALL_TEMPLATES=false): run `tripline opensearch install-templates` \
             (make deploy does) before writing, or an index would be created with a dynamic mapping",
            missing.join(", "),
            config::redacted(&self.config.url)
        )))
    }

    /// Before the first write: install the templates (`install_templates`), or check that they
    /// are there (`check_templates`), once per store; a failed attempt is tried again next time.
    async fn templates_installed(&self) -> Result<(), StoreError> {
        match (self.config.install_templates, self.config.check_templates) {
            (true, _) => self.templates.get_or_try_init(|| self.ensure_templates()).await.map(|_| ()),
            (false, true) => self.templates.get_or_try_init(|| self.check_templates()).await.map(|_| ()),
            (false, false) => Ok(()),
        }
    }

    fn write_params(&self) -> Vec<(&'static str, &'static str)> {
        if self.config.refresh {
            vec![("refresh", "true")]
        } else {
            Vec::new()
        }
    }

    /// POST a search body to `target` and check the answer is complete.
    async fn run_search(
        &self,
        target: &str,
        body: &Json,
        params: &[(&str, &str)],
    ) -> Result<Json, StoreError> {
        let path = format!("{target}/_search");
        let body = body.to_string();
        let reply =
            self.transport.send(Method::Post, &path, params, Some((BodyKind::Json, body.as_bytes()))).await?;
        let what = format!("POST {path}");
        let v = ok_json(&what, reply)?;
        response::check_complete(&what, &v)?;
        Ok(v)
    }

    fn events_target(&self) -> String {
        format!("{}*", self.config.events_prefix)
    }

    /// Send bulk items in requests of at most `bulk_max_bytes`, sending items refused with 429 or
    /// 5xx again (alone, with backoff) up to the attempt limit, and a request answered 413 again
    /// in halves (a single document answered 413 is that item's failure, status 413, not
    /// retryable). Returns each item's last outcome.
    async fn bulk(&self, items: &[BulkItem]) -> Result<Vec<ItemOutcome>, StoreError> {
        let mut outcomes: Vec<Option<ItemOutcome>> = vec![None; items.len()];
        let mut pending: Vec<usize> = (0..items.len()).collect();
        let rounds = self.transport.max_attempts();
        let params = self.write_params();
        for round in 1..=rounds {
            // A request the cluster finds too large (413: its `http.max_content_length`, or a
            // proxy's limit, below `bulk_max_bytes`) is split in halves, each sent on its own,
            // down to single documents; a document refused alone is that document's failure.
            // Each split halves a request, so a batch of n items costs at most 2n − 1 requests.
            let mut queue: VecDeque<Vec<usize>> = chunks(items, &pending, self.config.bulk_max_bytes).into();
            while let Some(chunk) = queue.pop_front() {
                let mut body = String::with_capacity(chunk.iter().map(|&i| items[i].lines.len()).sum());
                for &i in &chunk {
                    body.push_str(&items[i].lines);
                }
                let reply = self
                    .transport
                    .send(Method::Post, "_bulk", &params, Some((BodyKind::NdJson, body.as_bytes())))
                    .await?;
                if reply.status == 413 {
                    if chunk.len() > 1 {
                        tracing::debug!(
                            items = chunk.len(),
                            bytes = body.len(),
                            "bulk request too large for the cluster; sending it in halves"
                        );
                        let (first, second) = chunk.split_at(chunk.len() / 2);
                        queue.push_front(second.to_vec());
                        queue.push_front(first.to_vec());
                    } else {
                        let reason = format!(
                            "the document alone ({} bytes of bulk NDJSON) is larger than the cluster accepts in one request: {}",
                            body.len(),
                            response::error_reason_bytes(&reply.body)
                        );
                        for &i in &chunk {
                            outcomes[i] = Some(ItemOutcome::Failed { status: 413, reason: reason.clone() });
                        }
                    }
                    continue;
                }
                let v = ok_json("POST _bulk", reply)?;
                let answers = response::parse_bulk("POST _bulk", &v, chunk.len())?;
                for (&i, outcome) in chunk.iter().zip(answers) {
                    outcomes[i] = Some(outcome);
                }
            }
            pending.retain(
                |&i| matches!(&outcomes[i], Some(ItemOutcome::Failed { status, .. }) if retryable(*status)),
            );
            if pending.is_empty() || round == rounds {
                break;
            }
            tracing::debug!(
                items = pending.len(),
                round,
                "bulk items throttled or failed on the server; sending them again"
            );
            self.transport.backoff(round).await;
        }
        outcomes
            .into_iter()
            .enumerate()
            .map(|(i, o)| o.ok_or_else(|| StoreError::Malformed(format!("bulk item {i} got no answer"))))
            .collect()
    }

    async fn bulk_report(&self, items: Vec<BulkItem>) -> Result<BulkReport, StoreError> {
        let outcomes = self.bulk(&items).await?;
        let mut report = BulkReport::default();
        for (item, outcome) in items.into_iter().zip(outcomes) {
            match outcome {
                ItemOutcome::Ok => report.written += 1,
                ItemOutcome::Failed { status, reason } => report.failed.push(item.failure(status, &reason)),
            }
        }
        report.failed.sort_by_key(|f| f.position);
        Ok(report)
    }

    /// `alert_names`, `_seq_no` and `_primary_term` of each referenced event (by position in
    /// `refs`); an event that cannot be read is an `Err` with the reason.
    async fn read_alert_names(&self, refs: &[&DocRef]) -> Result<Vec<Result<Current, String>>, StoreError> {
        let mut out = Vec::with_capacity(refs.len());
        for chunk in refs.chunks(1000) {
            let docs: Vec<Json> = chunk
                .iter()
                .map(|r| json!({"_index": r.index, "_id": r.id, "_source": ["alert_names"]}))
                .collect();
            let body = json!({ "docs": docs }).to_string();
            let reply = self
                .transport
                .send(Method::Post, "_mget", &[], Some((BodyKind::Json, body.as_bytes())))
                .await?;
            let v = ok_json("POST _mget", reply)?;
            let list = v["docs"].as_array().filter(|d| d.len() == chunk.len()).ok_or_else(|| {
                StoreError::Malformed(format!("POST _mget: expected {} docs in the answer", chunk.len()))
            })?;
            for (i, d) in list.iter().enumerate() {
                out.push(read_current(i, d)?);
            }
        }
        Ok(out)
    }
}

/// An event's tagging state as read.
struct Current {
    names: Vec<String>,
    /// `_seq_no` and `_primary_term`, when the server reports them.
    version: Option<(u64, u64)>,
}

fn read_current(i: usize, d: &Json) -> Result<Result<Current, String>, StoreError> {
    if d.get("error").is_some() {
        return Ok(Err(response::error_reason(d)));
    }
    match d["found"].as_bool() {
        Some(false) => return Ok(Err("document not found".into())),
        Some(true) => {}
        None => return Err(StoreError::Malformed(format!("POST _mget: docs[{i}] has no found flag"))),
    }
    let names = match &d["_source"]["alert_names"] {
        Json::Null => Vec::new(),
        Json::String(s) => vec![s.clone()],
        Json::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        other => return Ok(Err(format!("alert_names is {other}, not a list of names"))),
    };
    let version = d["_seq_no"].as_u64().zip(d["_primary_term"].as_u64());
    Ok(Ok(Current { names, version }))
}

fn sigv4_credentials(sdk: &aws_config::SdkConfig) -> Result<Credentials, StoreError> {
    if sdk.region().is_none() {
        return Err(StoreError::Config(
            "SigV4 needs a region: set AWS_REGION (or the profile's region)".into(),
        ));
    }
    if sdk.credentials_provider().is_none() {
        return Err(StoreError::Config("SigV4 needs AWS credentials; none were found".into()));
    }
    Credentials::try_from(sdk).map_err(|e| StoreError::Config(format!("SigV4 credentials: {e}")))
}

/// Throttled or failed on the server's side: another try may succeed.
fn retryable(status: u16) -> bool {
    status == 429 || status >= 500
}

/// A 2xx answer as JSON; anything else is the engine's refusal.
fn ok_json(what: &str, reply: Reply) -> Result<Json, StoreError> {
    if !(200..300).contains(&reply.status) {
        return Err(StoreError::Rejected {
            status: reply.status,
            reason: format!("{what}: {}", response::error_reason_bytes(&reply.body)),
        });
    }
    response::parse_json(what, &reply.body)
}

/// Split `pending` (indices into `items`) into runs whose NDJSON stays under `max_bytes` (an item
/// larger than that goes alone).
fn chunks(items: &[BulkItem], pending: &[usize], max_bytes: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    let mut size = 0;
    for &i in pending {
        let len = items[i].lines.len();
        if !current.is_empty() && size + len > max_bytes {
            out.push(std::mem::take(&mut current));
            size = 0;
        }
        current.push(i);
        size += len;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

impl BulkItem {
    /// The report entry of this item, refused with `status` for `reason`.
    fn failure(self, status: u16, reason: &str) -> BulkFailure {
        BulkFailure {
            position: self.position,
            id: self.id,
            reason: format!("HTTP {status}: {reason}"),
            retryable: retryable(status),
        }
    }
}

fn bulk_item(position: usize, action: &str, meta: Json, doc: &Json, id: String) -> BulkItem {
    let mut lines = json!({ action: meta }).to_string();
    lines.push('\n');
    lines.push_str(&doc.to_string());
    lines.push('\n');
    BulkItem { position, id, lines }
}

/// An event as stored: its JSON, plus the paths of values too long to index
/// ([`unindexed_paths`](crate::unindexed_paths)) when there are any.
fn stored_json(e: &Event) -> Json {
    let mut doc = e.to_json();
    let long = crate::unindexed_paths(e);
    if let (false, Some(obj)) = (long.is_empty(), doc.as_object_mut()) {
        obj.insert(tripline_dsl::UNINDEXED_FIELD.to_owned(), json!(long));
    }
    doc
}

fn search_body(query: &QueryAst, size: usize, sort: Sort) -> Json {
    let order = match sort {
        Sort::NewestFirst => Order::NewestFirst,
        Sort::OldestFirst => Order::OldestFirst,
    };
    search_request(query, &[], size, order)
}

#[async_trait]
impl EventStore for OpenSearchStore {
    async fn search(&self, request: &SearchRequest) -> Result<SearchResult, StoreError> {
        crate::check_request(&request.query, &[])?;
        let target = self.events_target();
        let body = search_body(&request.query, request.size, request.sort);
        let v = self.run_search(&target, &body, &[]).await?;
        let mut result = response::parse_hits(&format!("POST {target}/_search"), &v)?;
        if let Some(wide) = request.query.widened_for_unindexed() {
            let v = self.run_search(&target, &search_body(&wide, 0, request.sort), &[]).await?;
            let wide = response::parse_hits(&format!("POST {target}/_search"), &v)?;
            result.unindexed_candidates = wide.total.saturating_sub(result.total);
        }
        Ok(result)
    }

    async fn aggregate(
        &self,
        query: &QueryAst,
        aggregations: &[Aggregation],
    ) -> Result<Vec<AggregationResult>, StoreError> {
        crate::check_request(query, aggregations)?;
        let target = self.events_target();
        let body = search_request(query, aggregations, 0, Order::NewestFirst);
        let v = self.run_search(&target, &body, &[]).await?;
        response::parse_aggregations(&format!("POST {target}/_search"), &v, aggregations)
    }

    async fn index_events(&self, events: &[Event]) -> Result<BulkReport, StoreError> {
        if events.is_empty() {
            return Ok(BulkReport::default());
        }
        self.templates_installed().await?;
        // `create`, not `index`: an event is new in the common case, and one already stored (a
        // retried invocation, a replayed S3 notification) must keep the `alert_names` that alerts
        // gave it, or they would fire on it again. Those answer 409 and are merged into below.
        let items: Vec<BulkItem> = events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let id = e.id();
                bulk_item(i, "create", json!({"_index": self.event_index(e), "_id": id}), &stored_json(e), id)
            })
            .collect();
        let outcomes = self.bulk(&items).await?;
        let mut report = BulkReport::default();
        let mut existing = Vec::new();
        for (item, outcome) in items.into_iter().zip(outcomes) {
            match outcome {
                ItemOutcome::Ok => report.written += 1,
                ItemOutcome::Failed { status: 409, .. } => {
                    // Replace the stored event, except its `alert_names` if this one has none:
                    // a partial update (`doc`) leaves absent fields as they are.
                    let e = &events[item.position];
                    let mut doc = stored_json(e);
                    if let (true, Some(obj)) = (e.alert_names.is_empty(), doc.as_object_mut()) {
                        obj.remove("alert_names");
                    }
                    let meta = json!({"_index": self.event_index(e), "_id": item.id});
                    let body = json!({"doc": doc, "doc_as_upsert": true});
                    existing.push(bulk_item(item.position, "update", meta, &body, item.id));
                }
                ItemOutcome::Failed { status, reason } => report.failed.push(item.failure(status, &reason)),
            }
        }
        if !existing.is_empty() {
            let merged = self.bulk_report(existing).await?;
            report.written += merged.written;
            report.failed.extend(merged.failed);
        }
        report.failed.sort_by_key(|f| f.position);
        Ok(report)
    }

    async fn tag_events(&self, refs: &[DocRef], alert_name: &str) -> Result<BulkReport, StoreError> {
        let mut report = BulkReport::default();
        // The first position of each distinct event; a repeated reference is the same event.
        let mut first: HashMap<&DocRef, usize> = HashMap::new();
        let mut todo: Vec<(usize, &DocRef)> = Vec::new();
        for (i, r) in refs.iter().enumerate() {
            if !first.contains_key(r) {
                first.insert(r, i);
                todo.push((i, r));
            }
        }
        let rounds = self.transport.max_attempts();
        for round in 1..=rounds {
            let current = self.read_alert_names(&todo.iter().map(|(_, r)| *r).collect::<Vec<_>>()).await?;
            let mut items = Vec::new();
            let mut targets = Vec::new();
            for ((position, r), state) in todo.iter().zip(current) {
                match state {
                    Err(reason) => report.failed.push(BulkFailure {
                        position: *position,
                        id: r.id.clone(),
                        reason: format!("{}/{}: {reason}", r.index, r.id),
                        retryable: false,
                    }),
                    Ok(c) if c.names.iter().any(|n| n == alert_name) => report.written += 1,
                    Ok(mut c) => {
                        c.names.push(alert_name.to_string());
                        let mut meta = json!({"_index": r.index, "_id": r.id});
                        if let Some((seq_no, term)) = c.version {
                            meta["if_seq_no"] = json!(seq_no);
                            meta["if_primary_term"] = json!(term);
                        }
                        let doc = json!({"doc": {"alert_names": c.names}});
                        items.push(bulk_item(*position, "update", meta, &doc, r.id.clone()));
                        targets.push((*position, *r));
                    }
                }
            }
            if items.is_empty() {
                break;
            }
            let outcomes = self.bulk(&items).await?;
            let mut conflicts = Vec::new();
            for ((position, r), outcome) in targets.into_iter().zip(outcomes) {
                match outcome {
                    ItemOutcome::Ok => report.written += 1,
                    // Changed between our read and our write: read it again.
                    ItemOutcome::Failed { status: 409, .. } if round < rounds => {
                        conflicts.push((position, r))
                    }
                    ItemOutcome::Failed { status, reason } => report.failed.push(BulkFailure {
                        position,
                        id: r.id.clone(),
                        reason: format!("HTTP {status}: {reason}"),
                        retryable: retryable(status) || status == 409,
                    }),
                }
            }
            if conflicts.is_empty() {
                break;
            }
            todo = conflicts;
        }
        // A repeated reference shares the outcome of its first occurrence.
        let failed_at: HashMap<usize, BulkFailure> =
            report.failed.iter().map(|f| (f.position, f.clone())).collect();
        for (i, r) in refs.iter().enumerate() {
            let first_at = first.get(r).copied().unwrap_or(i);
            if first_at == i {
                continue;
            }
            match failed_at.get(&first_at) {
                Some(f) => report.failed.push(BulkFailure { position: i, ..f.clone() }),
                None => report.written += 1,
            }
        }
        report.failed.sort_by_key(|f| f.position);
        Ok(report)
    }

    async fn write_alerts(&self, alerts: &[AlertRecord]) -> Result<BulkReport, StoreError> {
        if alerts.is_empty() {
            return Ok(BulkReport::default());
        }
        self.templates_installed().await?;
        let items = alerts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                bulk_item(
                    i,
                    "index",
                    json!({"_index": self.config.alerts_index, "_id": a.id}),
                    &a.to_json(),
                    a.id.clone(),
                )
            })
            .collect();
        self.bulk_report(items).await
    }

    async fn search_alerts(&self, query: &QueryAst, size: usize) -> Result<SearchResult, StoreError> {
        crate::check_request(query, &[])?;
        let target = self.config.alerts_index.clone();
        let body = search_body(query, size, Sort::NewestFirst);
        // No alert written yet means no alerts index yet: an empty answer, truthfully.
        let v = self
            .run_search(&target, &body, &[("ignore_unavailable", "true"), ("allow_no_indices", "true")])
            .await?;
        response::parse_hits(&format!("POST {target}/_search"), &v)
    }

    /// OpenSearch's default `search.max_buckets`.
    fn max_buckets(&self) -> Option<usize> {
        Some(65_535)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(n: usize) -> BulkItem {
        BulkItem { position: 0, id: String::new(), lines: "x".repeat(n) }
    }

    #[test]
    fn chunks_respect_the_byte_limit() {
        let items = vec![item(40), item(40), item(40), item(200), item(10)];
        let all: Vec<usize> = (0..items.len()).collect();
        assert_eq!(chunks(&items, &all, 100), vec![vec![0, 1], vec![2], vec![3], vec![4]]);
        assert_eq!(chunks(&items, &[1, 4], 100), vec![vec![1, 4]]);
    }

    #[test]
    fn templates_are_valid_and_match_the_indices() {
        let url = url::Url::parse("http://127.0.0.1:9").unwrap();
        let mut config = OpenSearchConfig::new(url);
        config.events_prefix = "t1-events-".into();
        let store = OpenSearchStore::build(config, None).unwrap();
        assert_eq!(store.template_names(), ("tripline-t1-events".into(), "tripline-alerts".into()));
        let t = store.template(EVENTS_TEMPLATE, "index-template.json", "t1-events-*".into()).unwrap();
        assert_eq!(t["index_patterns"], json!(["t1-events-*"]));
        let props = &t["template"]["mappings"]["properties"];
        assert_eq!(props["summary"]["type"], "text");
        assert_eq!(props["details"]["properties"]["sourceipaddress"]["type"], "ip");
        assert_eq!(props["details"]["properties"]["success"]["type"], "boolean");
        assert_eq!(props["utctimestamp"]["type"], "date");
        let a: Json = serde_json::from_str(ALERTS_TEMPLATE).unwrap();
        assert_eq!(a["index_patterns"], json!(["alerts"]));
    }

    /// The query layer's field types are the template's: one truth for both stores.
    #[test]
    fn the_template_types_exactly_the_dsl_date_and_ip_fields() {
        let t: Json = serde_json::from_str(EVENTS_TEMPLATE).unwrap();
        let mappings = &t["template"]["mappings"];
        assert_eq!(mappings["date_detection"], false, "a field is a date only if the mapping says so");
        let mut by_type: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        fn walk(prefix: &str, props: &Json, out: &mut std::collections::BTreeMap<String, Vec<String>>) {
            for (k, v) in props.as_object().unwrap() {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                if let Some(sub) = v.get("properties") {
                    walk(&path, sub, out);
                } else {
                    out.entry(v["type"].as_str().unwrap().to_owned()).or_default().push(path);
                }
            }
        }
        walk("", &mappings["properties"], &mut by_type);
        let sorted = |xs: &[&str]| {
            let mut v: Vec<String> = xs.iter().map(|s| s.to_string()).collect();
            v.sort();
            v
        };
        let mut dates = by_type["date"].clone();
        dates.sort();
        assert_eq!(dates, sorted(&tripline_dsl::DATE_FIELDS));
        let mut ips = by_type["ip"].clone();
        ips.sort();
        assert_eq!(ips, sorted(&tripline_dsl::IP_FIELDS));
    }
}
