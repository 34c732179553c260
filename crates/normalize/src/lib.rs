//! # tripline-normalize: AWS security logs → MozDef events, one record at a time
//!
//! Alerts only work on well-normalized events. MozDef turned each log source into one event
//! format with lower-case keys under `details`; this crate does the same for CloudTrail, VPC Flow
//! Logs and GuardDuty, and it does it **streaming**: memory is bounded by the largest record, not
//! by the file, so a 100 MB CloudTrail delivery file costs a few kilobytes of buffer.
//!
//! It never drops a good record because of a bad neighbour: a malformed record becomes a
//! [`NormalizeError`] naming the file and the record's ordinal, is counted in [`Stats`], and the
//! rest of the file goes on. A record of no known type becomes a generic event (`source:
//! unknown`, the record as a JSON string in `details.raw`): kept, not dropped. A container whose
//! list is not a list (`{"Records": {…}}`, `{"Records": "x"}`, `{"Findings": null}`, a
//! `logEvents` that is not a list) is not such a record: it is a mis-shaped or truncated file,
//! an [`ErrorKind::NotAList`], and nothing of it is stored. A time outside what the stores hold
//! (1678 to 2261, [`tripline_event::TIMESTAMP_MIN`]..[`tripline_event::TIMESTAMP_MAX`]) in
//! `eventTime`, a finding's `updatedAt`/`createdAt` or a flow's `start`/`end` is an
//! [`ErrorKind::TimestampOutOfRange`] for that record, never a wrong date.
//!
//! ## What it reads
//!
//! [`read_path`] and [`read_reader`] recognise the input by content (a file's extension is not
//! trusted: `.gz` is detected by its magic bytes, JSON by its first character):
//!
//! - CloudTrail S3 delivery files `{"Records":[…]}`, plain or gzip, streamed element by element;
//! - JSON streams: one object, NDJSON, concatenated objects (Firehose), or an array, each value a
//!   CloudTrail record, a GuardDuty finding, an EventBridge event ("AWS API Call via CloudTrail",
//!   "GuardDuty Finding"), a CloudWatch Logs subscription event (`{"awslogs":{"data":…}}`, base64
//!   gzip) or its decoded payload (`{"messageType":…,"logEvents":[…]}`), or `{"Findings":[…]}`;
//! - VPC flow logs as text: with a header line (S3 delivery; it sets the format) or without
//!   (the default version-2 format, or [`Options::flow_format`]).
//!
//! Text is recognised, never assumed: a file whose first line is neither a flow log header nor a
//! line with the flow format's fields is one [`ErrorKind::UnknownFormat`] naming the file and the
//! line; a CloudWatch Logs message that is neither JSON nor a flow log line is that error for
//! that record, and the rest goes on.
//!
//! ## Log sources
//!
//! Each log source is one module of `src/sources/` implementing the crate's `Source` trait
//! (`src/source.rs`): how it recognises a JSON record (`recognise_json`, a confidence:
//! no, fallback, likely, certain) or a line of text (`recognise_text`), and how it
//! normalizes one (`normalize_json`, `normalize_text`). All are listed once, in `SOURCES`; every
//! record goes to the most confident source (the first listed among equals). Today: CloudTrail
//! (with a `raw` hook for its one-pass fast path) and CloudTrail digests (skipped), GuardDuty, VPC
//! flow logs (text), and three wrappers that hand what they hold back to the table: EventBridge
//! envelopes, CloudWatch Logs subscription events and payloads, `Records`/`Findings` containers;
//! then the generic event, the fallback.
//!
//! What a read shares (the file name, record numbering, the clock, [`Stats`], where results go)
//! is the pipeline (`src/pipeline.rs`); what a source remembers between records (CloudTrail's
//! scratch buffers, a flow log file's header) is a private type of its module, kept in the
//! pipeline's per-source state.
//!
//! **Adding a source** is one file plus one line: write `src/sources/<name>.rs` with a unit type
//! implementing `Source` (its mapping can live there too, or in a public module like
//! [`cloudtrail`] when callers should reach it), declare it in `src/sources/mod.rs`, and list it
//! in `SOURCES` (`src/source.rs`), before any source it must win against.
//!
//! The per-format modules ([`cloudtrail`], [`vpcflow`], [`guardduty`]) document their mapping
//! field by field and can be called on single records. This crate does no I/O policy: it reads
//! what it is given and calls back; where events go is the caller's business.
//!
//! ```
//! use tripline_normalize::{read_reader, Clock, Options};
//!
//! let file = br#"{"Records":[{"eventVersion":"1.08","eventTime":"2026-11-23T10:00:00Z",
//!   "eventSource":"iam.amazonaws.com","eventName":"CreateUser","eventType":"AwsApiCall",
//!   "sourceIPAddress":"203.0.113.9","requestParameters":{"userName":"mallory"}}]}"#;
//! let opts = Options { clock: Clock::Fixed(chrono::Utc::now()), ..Options::default() };
//! let mut events = Vec::new();
//! let stats = read_reader(&file[..], "example.json", &opts, |r| events.extend(r.ok()));
//! assert_eq!(stats.records["cloudtrail"], 1);
//! assert_eq!(events[0].summary, "203.0.113.9 performed CreateUser in iam.amazonaws.com");
//! assert_eq!(events[0].details["requestparameters_username"], "mallory");
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cloudtrail;
mod error;
pub mod guardduty;
mod keys;
mod pipeline;
mod read;
mod source;
mod sources;
mod stats;
mod stream;
pub mod vpcflow;

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Utc};

pub use error::{ErrorKind, NormalizeError};
pub use keys::lower_keys;
pub use stats::Stats;
pub use tripline_event::{Event, PAIRS_SUFFIX, PAIRS_TRUNCATED};
pub use vpcflow::FlowFormat;

/// Where `receivedtimestamp` comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Clock {
    /// The system clock, read per record.
    #[default]
    System,
    /// A fixed instant (tests, reproducible runs).
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// The current time by this clock.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(t) => *t,
        }
    }
}

/// How to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The ingest clock (`receivedtimestamp`).
    pub clock: Clock,
    /// The flow log format of header-less input (CloudWatch Logs); `None` means the default
    /// version-2 format. A header line in a file always wins.
    pub flow_format: Option<FlowFormat>,
    /// The largest record (JSON value or line) accepted; larger ones are reported and skipped
    /// without being buffered. Default 16 MiB.
    pub max_record_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options { clock: Clock::System, flow_format: None, max_record_bytes: 16 * 1024 * 1024 }
    }
}

/// Read one file (plain or gzip, any supported format), calling `on` for every event or error.
/// Returns what was counted. An unreadable file is one error, not a panic.
pub fn read_path(path: &Path, opts: &Options, mut on: impl FnMut(Result<Event, NormalizeError>)) -> Stats {
    read::path(path, opts, &mut |_, r| on(r))
}

/// [`read_path`], telling `on` each record's 1-based ordinal in its file too: the number a
/// [`NormalizeError`] for that record carries, so that a caller can name the origin of an event
/// that fails later (a document the store refuses). 0 for a failure of the whole file.
pub fn read_path_numbered(
    path: &Path,
    opts: &Options,
    mut on: impl FnMut(u64, Result<Event, NormalizeError>),
) -> Stats {
    read::path(path, opts, &mut on)
}

/// Read one stream (plain or gzip, any supported format); `name` is used in error messages.
pub fn read_reader<R: Read>(
    reader: R,
    name: &str,
    opts: &Options,
    mut on: impl FnMut(Result<Event, NormalizeError>),
) -> Stats {
    read::reader(reader, name, opts, &mut |_, r| on(r))
}

/// [`read_reader`], telling `on` each record's ordinal too (see [`read_path_numbered`]).
pub fn read_reader_numbered<R: Read>(
    reader: R,
    name: &str,
    opts: &Options,
    mut on: impl FnMut(u64, Result<Event, NormalizeError>),
) -> Stats {
    read::reader(reader, name, opts, &mut on)
}

/// Normalize one JSON value (a CloudTrail record, a GuardDuty finding, an EventBridge event, a
/// CloudWatch Logs subscription event or payload, …) as [`read_reader`] would.
pub fn read_value(
    value: serde_json::Value,
    name: &str,
    opts: &Options,
    mut on: impl FnMut(Result<Event, NormalizeError>),
) -> Stats {
    read::value(value, name, opts, &mut |_, r| on(r))
}

/// [`read_value`], telling `on` each record's ordinal too (see [`read_path_numbered`]).
pub fn read_value_numbered(
    value: serde_json::Value,
    name: &str,
    opts: &Options,
    mut on: impl FnMut(u64, Result<Event, NormalizeError>),
) -> Stats {
    read::value(value, name, opts, &mut on)
}

/// Decode a CloudWatch Logs subscription `awslogs.data` string (base64 of gzip of JSON).
pub fn decode_awslogs(data: &str) -> Result<serde_json::Value, ErrorKind> {
    sources::cloudwatch_logs::decode_awslogs(data)
}
