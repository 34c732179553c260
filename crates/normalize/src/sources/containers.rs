//! Containers parsed whole (`{"Records":[…]}` when the streaming reader did not see it first,
//! `{"Findings":[…]}`, `{"findings":[…]}`): a wrapper; each element goes back to the table.

use serde_json::{Map, Value};

use crate::error::json_type;
use crate::pipeline::Pipeline;
use crate::source::{self, Confidence, Envelope, Source};
use crate::ErrorKind;

/// The members that hold a list of records, in the order they are looked for.
const LISTS: [&str; 3] = ["Records", "Findings", "findings"];

/// A JSON object holding a list of records.
pub(crate) struct Containers;

impl Source for Containers {
    fn name(&self) -> &'static str {
        "container"
    }

    fn recognise_json(&self, obj: &Map<String, Value>, envelope: Option<&Envelope<'_>>) -> Confidence {
        if envelope.is_none() && LISTS.iter().any(|k| obj.contains_key(*k)) {
            Confidence::Certain
        } else {
            Confidence::No
        }
    }

    /// A container member that is not a list (`{"Records": {…}}`, `"x"`, `null`) is a mis-shaped
    /// or truncated file: an error, never a generic event that would read as success.
    fn normalize_json(
        &self,
        mut obj: Map<String, Value>,
        _envelope: Option<&Envelope<'_>>,
        p: &mut Pipeline<'_>,
        depth: u8,
    ) {
        for key in LISTS {
            match obj.remove(key) {
                Some(Value::Array(items)) => {
                    for item in items {
                        source::value(p, item, depth + 1);
                    }
                    return;
                }
                Some(other) => return p.fail(ErrorKind::NotAList { field: key, found: json_type(&other) }),
                None => {}
            }
        }
    }
}
