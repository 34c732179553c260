//! What can go wrong with one record (or one file), and where it happened.

use std::fmt;

/// Why a record (or a whole file) could not be normalized.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ErrorKind {
    /// Reading the file failed (I/O, a corrupt or truncated gzip stream). The rest of that file is
    /// lost; other files go on.
    #[error("read failed: {0}")]
    Io(String),
    /// The file is neither JSON nor a VPC flow log (Parquet, an image, random text).
    #[error("unrecognized file format: {0}")]
    UnknownFormat(String),
    /// The record is not valid JSON (or the JSON stream ended in the middle of it).
    #[error("invalid JSON: {0}")]
    Json(String),
    /// A record larger than the configured limit; it is skipped, not buffered.
    #[error("record larger than {0} bytes")]
    TooLarge(usize),
    /// A JSON record that is not an object.
    #[error("record is not a JSON object")]
    NotAnObject,
    /// A field the format requires is absent (or has the wrong JSON type).
    #[error("missing or mistyped field `{0}`")]
    MissingField(&'static str),
    /// A timestamp that cannot be read.
    #[error("bad timestamp in `{field}`: {value:?}")]
    BadTimestamp {
        /// The field.
        field: &'static str,
        /// Its value, as found.
        value: String,
    },
    /// A valid timestamp whose instant lies outside what the stores hold
    /// ([`tripline_event::TIMESTAMP_MIN`] to [`tripline_event::TIMESTAMP_MAX`]): the record is
    /// refused rather than stored under a wrong date.
    #[error(
        "`{field}` {value:?} is outside the range Tripline stores ({} to {})",
        tripline_event::TIMESTAMP_MIN,
        tripline_event::TIMESTAMP_MAX
    )]
    TimestampOutOfRange {
        /// The field.
        field: &'static str,
        /// Its value, as found.
        value: String,
    },
    /// A container whose list of records is not a list: `{"Records": {…}}`, `{"Records": "x"}`,
    /// `{"Records": null}`, the same for `Findings`/`findings`, a CloudWatch Logs payload whose
    /// `logEvents` is not a list. A mis-shaped or truncated file: nothing of it is stored.
    #[error("{} whose `{field}` is {found}, not a list", container_name(field))]
    NotAList {
        /// The member that should hold the list (`Records`, `Findings`, `findings`, `logEvents`).
        field: &'static str,
        /// What it holds instead (`an object`, `a string`, `null`, …).
        found: &'static str,
    },
    /// A VPC flow log header line that cannot be used (a field name no flow log version has, a
    /// field named twice). The lines after it are not read by that header; each is reported
    /// with this kind too.
    #[error("bad flow log header: {0}")]
    BadFlowHeader(String),
    /// A VPC flow log line that does not fit its format.
    #[error("bad flow log line: {0}")]
    BadFlowLine(String),
    /// A CloudWatch Logs subscription payload whose base64 or gzip layer is broken.
    #[error("cannot decode CloudWatch Logs payload: {0}")]
    Decode(String),
}

impl ErrorKind {
    /// A short stable name, used to count errors by kind.
    pub fn name(&self) -> &'static str {
        match self {
            ErrorKind::Io(_) => "io",
            ErrorKind::UnknownFormat(_) => "unknown_format",
            ErrorKind::Json(_) => "json",
            ErrorKind::TooLarge(_) => "too_large",
            ErrorKind::NotAnObject => "not_an_object",
            ErrorKind::MissingField(_) => "missing_field",
            ErrorKind::BadTimestamp { .. } => "bad_timestamp",
            ErrorKind::TimestampOutOfRange { .. } => "timestamp_out_of_range",
            ErrorKind::NotAList { .. } => "not_a_list",
            ErrorKind::BadFlowHeader(_) => "bad_flow_header",
            ErrorKind::BadFlowLine(_) => "bad_flow_line",
            ErrorKind::Decode(_) => "decode",
        }
    }
}

/// What a container member belongs to, for [`ErrorKind::NotAList`]'s message.
fn container_name(field: &str) -> &'static str {
    match field {
        "Records" => "a CloudTrail file",
        "Findings" | "findings" => "a findings file",
        "logEvents" => "a CloudWatch Logs payload",
        _ => "a container",
    }
}

/// The JSON type of a value, for messages (`an object`, `a string`, `null`, …).
pub(crate) fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A record that could not be normalized: which file, which record, and why.
///
/// `record` is the 1-based ordinal of the record in its file: the element of the `Records` array,
/// the JSON value of a stream, the log event of a CloudWatch Logs payload, or the line of a flow
/// log (header and skipped rows included, so it is the line number). `None` for failures that
/// concern the whole file.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizeError {
    /// The file (or object key, or `-` for a stream) the record came from.
    pub file: String,
    /// The record's 1-based ordinal in that file.
    pub record: Option<u64>,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl fmt::Display for NormalizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.record {
            Some(n) => write!(f, "{}: record {}: {}", self.file, n, self.kind),
            None => write!(f, "{}: {}", self.file, self.kind),
        }
    }
}

impl std::error::Error for NormalizeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.kind)
    }
}
