//! CloudTrail records → MozDef events.
//!
//! | event field | from |
//! |---|---|
//! | `source` | `cloudtrail` |
//! | `type` | `cloudtrail` (MozDef stored these under the document type `cloudtrail`) |
//! | `category` | `eventType` (`AwsApiCall`, `AwsConsoleSignIn`, `AwsServiceEvent`, …; `cloudtrail` if absent) |
//! | `hostname` | `eventSource` (`iam.amazonaws.com`) |
//! | `summary` | `"<sourceIPAddress> performed <eventName> in <eventSource>"` |
//! | `utctimestamp` | `eventTime` (required; an instant outside 1678–2261, what the stores hold, is an error for that record) |
//! | `receivedtimestamp` | the ingest clock |
//! | `details.*` | every record field, keys lower-cased recursively (`details.useridentity.arn`) |
//! | `details.eventverb` | the leading word of `eventName` (`Describe`, `Put`, `Console`) |
//! | `details.eventreadonly` | `readOnly`; when the record has none, true for the verbs `Describe`, `Get`, `List`, `Head`, `Lookup`, `Search`, `Scan`, `Query` |
//! | `details.success` | false when the record has an `errorCode` or a `ConsoleLogin` failure, else true |
//! | `details.sourceipaddress` | `sourceIPAddress` when it is an IPv4/IPv6 address (canonical form) |
//! | `details.sourcehostname` | `sourceIPAddress` when it is anything else (`ec2.amazonaws.com`, `AWS Internal`) |
//!
//! ## Subtrees whose shape varies
//!
//! `requestParameters`, `responseElements`, `additionalEventData`, `serviceEventDetails`,
//! `insightDetails` and `edgeDeviceDetails` differ from one API to the next (the same key is a
//! string in one call and an object in another). Indexed as objects they would cause mapping
//! conflicts and a field explosion in OpenSearch; so, like MozDef, Tripline keeps each as **one
//! JSON string** in its lower-cased field (`details.requestparameters`): the record's own text,
//! original keys and values, whitespace between tokens removed, searchable with wildcards (`*AllUsers*`) and query strings. A fixed list of well-known
//! scalar members is also copied into flat keyword fields named `<subtree>_<key>` (for example
//! `details.requestparameters_bucketname`, `details.additionaleventdata_mfaused`,
//! `details.responseelements_consolelogin`): see [`EXTRACTS`]. The list is fixed so the number of
//! fields in the index stays bounded.
//!
//! So that **every** member can still be matched by its path, each subtree that is an object
//! also gives one keyword array `details.<subtree lower-cased>_pairs` (what OpenSearch's
//! `flat_object` does inside, portable to both stores, one field per subtree whatever the
//! record holds): a `path=value` string per scalar leaf, the path in CloudTrail's own key case
//! (`ipPermissions.items.fromPort=22`, `bucketName=my-bucket`), arrays contributing each element
//! under the array's path, strings as they are, numbers as written in the record, booleans as
//! `true`/`false`, nulls left out; `\`, `.` and `=` inside a key are escaped with a backslash
//! (`a\=b=c` is the key `a=b`), so the first unescaped `=` ends the path. Hostile input is
//! capped at [`MAX_PAIRS`] pairs and [`MAX_PAIRS_BYTES`] of text per subtree; a field cut short
//! ends with [`PAIRS_TRUNCATED`](tripline_event::PAIRS_TRUNCATED), which the stores report as
//! they report values too long to index (the event's `unindexed` paths), and a pair longer than
//! a keyword can be is kept and reported the same way. See [`subtree_pairs`].
//!
//! ## Three parts
//!
//! - [`mapping`]: what a CloudTrail record becomes, as data: the subtrees kept as text, the flat
//!   fields picked from them, the read-only verbs, [`event_verb`], [`is_record`]. Both
//!   implementations below read these tables; a change to the mapping is made here.
//! - `reference`: the plain implementation ([`normalize_json_reference`]): the record's top level
//!   borrowed as raw text, then each member parsed on its own. It *defines* the behaviour.
//! - `fast`: a one-pass reader that builds the event directly, and returns it only when the
//!   reference would return the very same event; otherwise it declines and the reference runs.
//!   `tests/cloudtrail_fast.rs` (examples, generated records, mutations) and the `cloudtrail`
//!   fuzz target check that the two agree on every input.

mod fast;
pub mod mapping;
mod reference;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tripline_event::Event;

use crate::keys::Scratch;
use crate::ErrorKind;

pub(crate) use fast::fast;
pub use mapping::{event_verb, is_record, subtree_pairs, EXTRACTS, MAX_PAIRS, MAX_PAIRS_BYTES, RAW_SUBTREES};
pub use reference::normalize_json_reference;
pub(crate) use reference::{normalize_top, TopLevel};

/// Normalize one CloudTrail record.
pub fn normalize(record: Value, received: DateTime<Utc>) -> Result<Event, ErrorKind> {
    if !record.is_object() {
        return Err(ErrorKind::NotAnObject);
    }
    normalize_json(&record.to_string(), received)
}

/// Normalize one CloudTrail record from its JSON text. The record is parsed once: keys
/// lower-cased on the way in, the variable subtrees copied as text, every map allocated once.
pub fn normalize_json(text: &str, received: DateTime<Utc>) -> Result<Event, ErrorKind> {
    match fast::fast(text.as_bytes(), received, &mut Scratch::default(), false) {
        Some(event) => Ok(event),
        None => normalize_json_reference(text, received),
    }
}

/// The fast path of [`normalize_json`] alone: `Some` only for records it finishes itself (the
/// differential tests and the fuzz target compare it with [`normalize_json_reference`]).
#[doc(hidden)]
pub fn normalize_json_fast(text: &str, received: DateTime<Utc>) -> Option<Event> {
    fast::fast(text.as_bytes(), received, &mut Scratch::default(), false)
}
