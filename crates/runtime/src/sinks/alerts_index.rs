//! The alerts index, through the store: where every alert is written first, under its
//! deterministic id (a rewrite replaces), and where its [`Delivery`] receipts are read back.

use std::collections::HashMap;

use serde_json::Value as Json;
use tripline_dsl::{QueryAst, Value};
use tripline_event::AlertRecord;
use tripline_store::{BulkReport, EventStore};

use super::{Delivery, SinkError};

/// The alerts index, through the store.
pub struct AlertsIndex<'a> {
    store: &'a dyn EventStore,
}

impl<'a> AlertsIndex<'a> {
    /// The alerts index of `store`.
    pub fn new(store: &'a dyn EventStore) -> Self {
        AlertsIndex { store }
    }

    /// Write (or replace) alerts by id. Any refused alert is an error.
    pub async fn write(&self, alerts: &[AlertRecord]) -> Result<BulkReport, SinkError> {
        let report = self.store.write_alerts(alerts).await?;
        match report.failed.first() {
            Some(first) => Err(SinkError::Refused {
                count: report.failed.len(),
                first_id: first.id.clone(),
                first_reason: first.reason.clone(),
            }),
            None => Ok(report),
        }
    }

    /// The delivery markers of those of `ids` already stored.
    pub async fn deliveries(&self, ids: &[String]) -> Result<HashMap<String, Delivery>, SinkError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let query = QueryAst::Terms {
            field: "id".into(),
            values: ids.iter().map(|i| Value::Str(i.clone())).collect(),
        };
        let found = self.store.search_alerts(&query, ids.len()).await?;
        Ok(found
            .hits
            .into_iter()
            .map(|h| {
                let details = h.source.get("details").and_then(Json::as_object).cloned().unwrap_or_default();
                let id = h.source.get("id").and_then(Json::as_str).map(str::to_string).unwrap_or(h.id);
                (id, Delivery::from_details(&details))
            })
            .collect())
    }
}
