//! Installing the index templates: the deploy step (`tripline opensearch install-templates`), or
//! the first write of a store with [`OpenSearchConfig::install_templates`] on.
//!
//! This file holds the store's only `PUT`. `scripts/iam_check.py` knows it: a function whose
//! environment sets `TRIPLINE_OPENSEARCH_INSTALL_TEMPLATES=false` never sends it, so its role
//! needs no `es:ESHttpPut`. Keep every other request out of this file.
//!
//! [`OpenSearchConfig::install_templates`]: super::OpenSearchConfig::install_templates

use opensearch::http::Method;
use serde_json::json;

use super::transport::BodyKind;
use super::{ok_json, OpenSearchStore};
use crate::StoreError;

impl OpenSearchStore {
    /// Install (or update) the events and alerts index templates ([`OpenSearchStore::templates`]).
    /// Idempotent. Indices created before it keep their mapping: run it before the first ingest
    /// (`tripline opensearch install-templates`, which `make deploy` runs), or leave
    /// [`OpenSearchConfig::install_templates`](super::OpenSearchConfig::install_templates) on and
    /// let the first write do it.
    pub async fn ensure_templates(&self) -> Result<(), StoreError> {
        for (name, body) in self.templates()? {
            let path = format!("_index_template/{name}");
            let body = body.to_string();
            let reply =
                self.transport.send(Method::Put, &path, &[], Some((BodyKind::Json, body.as_bytes()))).await?;
            let v = ok_json(&format!("PUT {path}"), reply)?;
            if v["acknowledged"] != json!(true) {
                return Err(StoreError::Malformed(format!("PUT {path}: not acknowledged: {v}")));
            }
        }
        Ok(())
    }
}
