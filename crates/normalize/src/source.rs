//! The table of log sources, and the dispatch that offers each record to it.
//!
//! A source says how it recognises a record ([`Source::recognise_json`] for a JSON object,
//! [`Source::recognise_text`] for a line of text) and how it normalizes one. Every record is
//! offered to every source in [`SOURCES`]; the one most confident wins, ties going to the one
//! listed first ([`Confidence::Certain`] ends the search). Wrappers (EventBridge envelopes,
//! CloudWatch Logs subscription events and payloads, `Records`/`Findings` containers) are sources
//! too: their `normalize` hands what they hold back to the table ([`object`], [`value`],
//! [`text`]). Text is never assumed to be anything: a line no source recognises is an
//! [`ErrorKind::UnknownFormat`].

use serde_json::{Map, Value};

use crate::pipeline::Pipeline;
use crate::sources;
use crate::ErrorKind;

/// Every log source, in order of precedence among equally confident ones. A new source is a
/// module in `sources/` and one line here.
pub(crate) static SOURCES: &[&dyn Source] = &[
    &sources::cloudtrail::CloudTrail,
    &sources::eventbridge::EventBridge,
    &sources::guardduty::GuardDuty,
    &sources::cloudwatch_logs::CloudWatchLogs,
    &sources::cloudtrail::Digest,
    &sources::containers::Containers,
    &sources::vpcflow::VpcFlow,
    &sources::generic::Generic,
];

/// How sure a source is that a record is one of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Confidence {
    /// Not this source's.
    No,
    /// Anything goes here when nothing else does (the generic event).
    Fallback,
    /// It has this source's shape.
    Likely,
    /// It says it is this source's (a header line, an EventBridge `detail-type`); the search
    /// stops.
    Certain,
}

/// The EventBridge envelope around a record (its `detail`).
pub(crate) struct Envelope<'a> {
    /// `detail-type` (`GuardDuty Finding`, `AWS API Call via CloudTrail`, …).
    pub(crate) detail_type: &'a str,
    /// The envelope's `time`.
    pub(crate) time: Option<&'a str>,
}

/// Where a line of text comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A line of a text file; `first` for its first line that is not blank (where a header is).
    File {
        /// The file's first non-blank line.
        first: bool,
    },
    /// The message of a CloudWatch Logs log event.
    LogEvent,
}

/// One log source. Every method has a default that declines, so a source implements only the
/// kinds of record it reads.
pub(crate) trait Source: Sync {
    /// The source's name (documentation, and the names of its counts).
    #[allow(dead_code)]
    fn name(&self) -> &'static str;

    /// A JSON record's bytes, before they are parsed: `true` when this source handled the record
    /// itself (CloudTrail's one-pass fast path). Asked before anything is parsed, so only a
    /// source that recognises its records cheaply and exactly should take it.
    fn raw(&self, _bytes: &[u8], _p: &mut Pipeline<'_>) -> bool {
        false
    }

    /// Whether a JSON object is this source's; `envelope` when it is the `detail` of an
    /// EventBridge event (a source that cannot be enveloped says [`Confidence::No`]).
    fn recognise_json(&self, _obj: &Map<String, Value>, _envelope: Option<&Envelope<'_>>) -> Confidence {
        Confidence::No
    }

    /// Normalize a JSON object this source recognised. `depth` counts the wrappers around it.
    fn normalize_json(
        &self,
        _obj: Map<String, Value>,
        _envelope: Option<&Envelope<'_>>,
        p: &mut Pipeline<'_>,
        _depth: u8,
    ) {
        p.fail(ErrorKind::UnknownFormat(format!("{} reads no JSON", self.name())))
    }

    /// Whether a line of text is this source's. In a file, the source that recognises the first
    /// line reads the whole file.
    fn recognise_text(&self, _line: &str, _at: Line, _p: &mut Pipeline<'_>) -> Confidence {
        Confidence::No
    }

    /// Normalize a line of text (of a file this source recognised, or a log event it recognised).
    fn normalize_text(&self, _line: &str, _at: Line, p: &mut Pipeline<'_>) {
        p.fail(ErrorKind::UnknownFormat(format!("{} reads no text", self.name())))
    }
}

/// The deepest nesting of wrappers followed; deeper records are kept as generic events.
const MAX_DEPTH: u8 = 4;

/// One JSON record's bytes: offered raw to the sources that read bytes, then parsed and
/// dispatched.
pub(crate) fn bytes(p: &mut Pipeline<'_>, b: &[u8]) {
    for s in SOURCES {
        if s.raw(b, p) {
            return;
        }
    }
    match serde_json::from_slice::<Value>(b) {
        Ok(v) => value(p, v, 0),
        Err(e) => p.fail(ErrorKind::Json(e.to_string())),
    }
}

/// One parsed JSON record. `depth` counts the wrappers around it.
pub(crate) fn value(p: &mut Pipeline<'_>, v: Value, depth: u8) {
    let Value::Object(obj) = v else { return p.fail(ErrorKind::NotAnObject) };
    if depth > MAX_DEPTH {
        return sources::generic::Generic.normalize_json(obj, None, p, depth);
    }
    if let Err(obj) = object(p, obj, None, depth) {
        // Unreachable with the generic source in the table; kept an error rather than a panic.
        drop(obj);
        p.fail(ErrorKind::UnknownFormat("no source reads this record".into()));
    }
}

/// A JSON object, to the most confident source; `Err` (the object back) when none recognises it.
pub(crate) fn object(
    p: &mut Pipeline<'_>,
    obj: Map<String, Value>,
    envelope: Option<&Envelope<'_>>,
    depth: u8,
) -> Result<(), Map<String, Value>> {
    match best(|s| s.recognise_json(&obj, envelope)) {
        Some(s) => {
            s.normalize_json(obj, envelope, p, depth);
            Ok(())
        }
        None => Err(obj),
    }
}

/// The source (if any) that recognises a line; `None` when no source does.
pub(crate) fn text_source(p: &mut Pipeline<'_>, line: &str, at: Line) -> Option<&'static dyn Source> {
    best(|s| s.recognise_text(line, at, p))
}

/// A line of text that stands alone (a CloudWatch Logs message): to the source that recognises
/// it, else an error for that record, and the rest goes on.
pub(crate) fn text(p: &mut Pipeline<'_>, line: &str) {
    match text_source(p, line, Line::LogEvent) {
        Some(s) => s.normalize_text(line, Line::LogEvent, p),
        None => p.fail(ErrorKind::UnknownFormat(format!(
            "a log event that is neither JSON nor a known text format (VPC flow logs): {:?}",
            clip(line)
        ))),
    }
}

/// The most confident source, the first listed among equals.
fn best(mut confidence: impl FnMut(&dyn Source) -> Confidence) -> Option<&'static dyn Source> {
    let mut best: Option<(Confidence, &'static dyn Source)> = None;
    for s in SOURCES {
        let c = confidence(*s);
        if c == Confidence::Certain {
            return Some(*s);
        }
        if c > Confidence::No && best.is_none_or(|(b, _)| c > b) {
            best = Some((c, *s));
        }
    }
    best.map(|(_, s)| s)
}

/// The start of a line, for messages.
pub(crate) fn clip(s: &str) -> String {
    s.chars().take(60).collect()
}
