//! The CloudTrail mapping as data: which subtrees are kept as JSON strings, which of their scalar
//! members become flat fields, which verbs are read-only, how a record is recognised. Both the
//! reference implementation and the fast path read these; see [the module docs](super) for the
//! mapping field by field.

use serde_json::{Map, Value};

/// Subtrees kept as JSON strings (record key, as CloudTrail writes it).
pub const RAW_SUBTREES: [&str; 6] = [
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "serviceEventDetails",
    "insightDetails",
    "edgeDeviceDetails",
];

/// Scalar members of the raw subtrees copied into flat fields `details.<subtree>_<key>` (both
/// lower-cased), as strings.
pub const EXTRACTS: [(&str, &[&str]); 3] = [
    (
        "requestParameters",
        &[
            "bucketName",
            "key",
            "userName",
            "roleName",
            "groupName",
            "policyArn",
            "policyName",
            "accessKeyId",
            "name",
            "keyId",
            "functionName",
            "groupId",
            "instanceId",
            "secretId",
            "detectorId",
            "roleArn",
            "roleSessionName",
        ],
    ),
    ("responseElements", &["ConsoleLogin"]),
    ("additionalEventData", &["MFAUsed", "LoginTo", "MobileVersion"]),
];

pub(crate) const READ_VERBS: [&str; 8] =
    ["Describe", "Get", "List", "Head", "Lookup", "Search", "Scan", "Query"];

/// Whether a JSON object looks like a CloudTrail record: `eventSource`, `eventName`, and
/// `eventVersion` or `eventTime` (so that a record missing its time is reported as a broken
/// CloudTrail record rather than kept as an unknown one); S3 event notifications, whose
/// `eventSource` is `aws:s3`, are not.
pub fn is_record(obj: &Map<String, Value>) -> bool {
    obj.contains_key("eventName")
        && (obj.contains_key("eventTime") || obj.contains_key("eventVersion"))
        && matches!(obj.get("eventSource"), Some(Value::String(s)) if !s.starts_with("aws:"))
}

/// The leading verb of an event name: `DescribeInstances` → `Describe`, `ConsoleLogin` →
/// `Console`, `listObjects` → `list`.
pub fn event_verb(name: &str) -> &str {
    let mut end = name.len();
    for (i, c) in name.char_indices().skip(1) {
        if c.is_uppercase() || !c.is_alphanumeric() {
            end = i;
            break;
        }
    }
    &name[..end]
}

/// JSON text without the whitespace between tokens (strings untouched).
pub(crate) fn minify(text: &str) -> String {
    if !text.bytes().any(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t')) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let (mut in_str, mut esc) = (false, false);
    for c in text.chars() {
        if in_str {
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
            }
            out.push(c);
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
}

/// The most pairs one subtree contributes ([`subtree_pairs`]); beyond, the field ends with
/// [`PAIRS_TRUNCATED`](tripline_event::PAIRS_TRUNCATED).
pub const MAX_PAIRS: usize = 1000;

/// The most text (bytes, all pairs together) one subtree contributes; beyond, the field ends
/// with [`PAIRS_TRUNCATED`](tripline_event::PAIRS_TRUNCATED). A long path repeated for each
/// leaf cannot make an event much larger than this.
pub const MAX_PAIRS_BYTES: usize = 1 << 20;

/// Nesting deeper than this ends the pairs (serde_json already stops at 128 levels).
const MAX_PAIRS_DEPTH: usize = 256;

/// The `path=value` pairs of a subtree's JSON text (an object), in document order: every scalar
/// leaf, the path its keys joined with `.` in CloudTrail's own case (`\`, `.` and `=` inside a key
/// escaped with a backslash), an array's elements each under the array's path; strings as they
/// are, numbers as written in the record, `true`/`false`; nulls, empty objects and arrays give
/// nothing. `None` when `text` is not an object or gives no pair. At most [`MAX_PAIRS`] pairs
/// and [`MAX_PAIRS_BYTES`] of them; when a leaf is left out, the last element is
/// [`PAIRS_TRUNCATED`](tripline_event::PAIRS_TRUNCATED).
pub fn subtree_pairs(text: &str) -> Option<Vec<Value>> {
    let text = text.trim_start();
    if !text.starts_with('{') {
        return None;
    }
    let mut w = PairWalk { text, pos: 0, path: String::new(), out: Vec::new(), bytes: 0 };
    if let Err(Stop::Malformed) = w.value(0) {
        // Not JSON after all (the record's parser let it through): nothing silently missing.
        w.truncated();
    }
    (!w.out.is_empty()).then_some(w.out)
}

/// Why a walk stopped early.
enum Stop {
    /// A cap was reached; the marker is in place.
    Full,
    /// The text is not JSON.
    Malformed,
}

struct PairWalk<'a> {
    text: &'a str,
    pos: usize,
    path: String,
    out: Vec<Value>,
    bytes: usize,
}

impl<'a> PairWalk<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), Stop> {
        self.skip_ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Stop::Malformed)
        }
    }

    fn truncated(&mut self) {
        if self.out.last().and_then(Value::as_str) != Some(tripline_event::PAIRS_TRUNCATED) {
            self.out.push(Value::String(tripline_event::PAIRS_TRUNCATED.to_owned()));
        }
    }

    fn leaf(&mut self, value: &str) -> Result<(), Stop> {
        if self.path.is_empty() {
            return Ok(());
        }
        let len = self.path.len() + 1 + value.len();
        if self.out.len() >= MAX_PAIRS || self.bytes.saturating_add(len) > MAX_PAIRS_BYTES {
            self.truncated();
            return Err(Stop::Full);
        }
        self.bytes += len;
        let mut pair = String::with_capacity(len);
        pair.push_str(&self.path);
        pair.push('=');
        pair.push_str(value);
        self.out.push(Value::String(pair));
        Ok(())
    }

    /// A JSON string starting at `pos` (its opening quote), unescaped.
    fn string(&mut self) -> Result<std::borrow::Cow<'a, str>, Stop> {
        let text: &'a str = self.text;
        let bytes = text.as_bytes();
        let start = self.pos;
        let mut i = start + 1;
        let mut escaped = false;
        loop {
            match bytes.get(i) {
                None => return Err(Stop::Malformed),
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    i += 2;
                }
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        let raw = text.get(start..=i).ok_or(Stop::Malformed)?;
        if escaped {
            serde_json::from_str::<String>(raw).map(std::borrow::Cow::Owned).map_err(|_| Stop::Malformed)
        } else {
            raw.get(1..raw.len() - 1).map(std::borrow::Cow::Borrowed).ok_or(Stop::Malformed)
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), Stop> {
        if depth > MAX_PAIRS_DEPTH {
            self.truncated();
            return Err(Stop::Full);
        }
        self.skip_ws();
        match self.peek().ok_or(Stop::Malformed)? {
            b'{' => {
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.skip_ws();
                    if self.peek() != Some(b'"') {
                        return Err(Stop::Malformed);
                    }
                    let key = self.string()?;
                    self.expect(b':')?;
                    let len = self.path.len();
                    if len > 0 {
                        self.path.push('.');
                    }
                    push_key(&mut self.path, &key);
                    let r = self.value(depth + 1);
                    self.path.truncate(len);
                    r?;
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(Stop::Malformed),
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.value(depth + 1)?;
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(Stop::Malformed),
                    }
                }
            }
            b'"' => {
                let s = self.string()?;
                self.leaf(&s)
            }
            _ => {
                let start = self.pos;
                while matches!(self.peek(), Some(b) if !matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r'))
                {
                    self.pos += 1;
                }
                let text: &'a str = self.text;
                let token = text.get(start..self.pos).ok_or(Stop::Malformed)?;
                match token {
                    "null" => Ok(()),
                    "true" | "false" => self.leaf(token),
                    t if t.starts_with(|c: char| c == '-' || c.is_ascii_digit())
                        && t.bytes()
                            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')) =>
                    {
                        self.leaf(t)
                    }
                    _ => Err(Stop::Malformed),
                }
            }
        }
    }
}

/// A key into a pairs path: `\`, `.` and `=` escaped with a backslash.
pub fn push_key(path: &mut String, key: &str) {
    for c in key.chars() {
        if matches!(c, '\\' | '.' | '=') {
            path.push('\\');
        }
        path.push(c);
    }
}
