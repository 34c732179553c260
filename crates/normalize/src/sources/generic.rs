//! A record of no known type: kept, as a generic event holding the whole record as a JSON string
//! (`details.raw`), so that it is searchable and can never cause a mapping conflict. The table's
//! fallback.

use serde_json::{Map, Value};
use tripline_event::Event;

use crate::keys::{get_ci, parse_time};
use crate::pipeline::Pipeline;
use crate::source::{Confidence, Envelope, Source};

/// Any JSON object no other source recognises.
pub(crate) struct Generic;

impl Source for Generic {
    fn name(&self) -> &'static str {
        "unknown"
    }

    fn recognise_json(&self, _obj: &Map<String, Value>, envelope: Option<&Envelope<'_>>) -> Confidence {
        if envelope.is_none() {
            Confidence::Fallback
        } else {
            Confidence::No
        }
    }

    fn normalize_json(
        &self,
        obj: Map<String, Value>,
        _envelope: Option<&Envelope<'_>>,
        p: &mut Pipeline<'_>,
        _depth: u8,
    ) {
        let received = p.now();
        let time = ["time", "eventTime", "timestamp", "@timestamp", "utctimestamp"]
            .iter()
            .find_map(|k| get_ci(&obj, k).and_then(Value::as_str).and_then(parse_time))
            .unwrap_or(received);
        let summary =
            match (obj.get("detail-type").and_then(Value::as_str), obj.get("source").and_then(Value::as_str))
            {
                (Some(dt), Some(src)) => format!("{dt} from {src}"),
                _ => "unrecognized record".to_owned(),
            };
        let mut e = Event::new("unknown", "unknown", summary, time, received);
        e.details.insert("raw".into(), Value::String(Value::Object(obj).to_string()));
        p.done(Ok(e))
    }
}
