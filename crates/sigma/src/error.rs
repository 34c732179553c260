//! The one error type: which rule, which line, which construct, and why.

/// A rule that cannot be read or cannot be translated exactly. Every error names the rule (the
/// source name the caller gave, usually its file), the 1-based line and column in that text,
/// the construct at fault (`detection.selection.eventName|base64`, `condition`, `logsource`)
/// and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rule}, line {line}, column {column}: {construct}: {reason}")]
pub struct SigmaError {
    /// The rule's source name (its file).
    pub rule: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The construct at fault.
    pub construct: String,
    /// What is wrong, or what is not supported.
    pub reason: String,
}

/// A position in the rule text (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Pos {
    /// The error at this position.
    pub fn err(self, rule: &str, construct: impl Into<String>, reason: impl Into<String>) -> SigmaError {
        SigmaError {
            rule: rule.to_string(),
            line: self.line,
            column: self.column,
            construct: construct.into(),
            reason: reason.into(),
        }
    }
}
