//! The Lucene query-string subset alerts use, parsed into the AST.
//!
//! MozDef users wrote Kibana-style query strings (`details.eventname:PutBucketAcl AND NOT
//! details.errorcode:*`). Tripline parses them here, into the same [`QueryAst`] the matchers
//! build, and both stores run that AST: OpenSearch never sees a raw `query_string`, so a query
//! string means the same thing on both stores by construction. Anything outside the subset below
//! is refused with a [`DslError::QueryString`] naming the 1-based column and listing what is
//! supported, never silently read some other way.
//!
//! ```
//! use tripline_dsl::{query_string, QueryAst, Value};
//! let q = query_string::parse("details.eventname:PutBucketAcl AND NOT details.errorcode:*").unwrap();
//! assert_eq!(
//!     q,
//!     QueryAst::Bool {
//!         must: vec![QueryAst::Term {
//!             field: "details.eventname".into(),
//!             value: Value::Str("PutBucketAcl".into()),
//!             case_insensitive: false,
//!         }],
//!         should: vec![],
//!         must_not: vec![QueryAst::Exists { field: "details.errorcode".into() }],
//!     }
//! );
//! assert_eq!(
//!     query_string::to_query_string(&q).as_deref(),
//!     Some("+details.eventname:PutBucketAcl -_exists_:details.errorcode"),
//! );
//! ```
//!
//! # The subset
//!
//! | syntax | AST |
//! |---|---|
//! | `field:value` | `Term` (see "Values" below) |
//! | `value` (no field) | `Term` on `summary` ([`DEFAULT_FIELD`]); likewise phrases, wildcards ... |
//! | `field:"a b"` | `Phrase` (wildcards inside quotes are literal) |
//! | `field:Desc*be?` | `Wildcard` (`*` any run, `?` one character) |
//! | `field:*` | `Exists` (as Lucene and OpenSearch read it) |
//! | `*:*`, `*` alone | `MatchAll` |
//! | `field:/re.*x/` | `Regex` (Lucene regular expression, anchored; `\/` for a slash) |
//! | `field:[a TO b]`, `{a TO b}`, `[a TO b}`, `{a TO *]` | `Range`; `[` `]` inclusive, `{` `}` exclusive, `*` open |
//! | `field:>=5`, `>5`, `<5`, `<=5` | `Range` with one bound |
//! | `_exists_:field` | `Exists` |
//! | `a AND b`, `a && b` | `Bool { must }` |
//! | `a OR b`, `a \|\| b`, `a b` | `Bool { should }`: juxtaposed clauses mean OR, Lucene's default |
//! | `NOT a`, `!a`, `-a` | `must_not` |
//! | `+a` | `must` |
//! | `( ... )` | grouping |
//! | `field:(a OR "b c" OR d*)` | the group's bare values all on `field` |
//! | `\:` `\*` `\"` `\ ` `\\` ... | the next character, literally |
//!
//! **Values.** On keyword (and number, boolean, date, ip) fields a bare value that is written
//! exactly as a number is one: `22` and `-3` are [`Value::Int`], `0.5` is [`Value::Float`] (only
//! the canonical spelling: `007`, `1.50`, `1e3` stay text), `true` / `false` are [`Value::Bool`];
//! anything else, anything quoted and anything with a backslash escape is [`Value::Str`] (`\22` is
//! the text "22"). On the analyzed `summary` field values are always text. The same rule applies
//! to range bounds.
//!
//! **Networks.** On the ip fields ([`IP_FIELDS`](crate::IP_FIELDS)) a value containing `/` is a
//! CIDR network and becomes `Subnet`: `details.sourceipaddress:10.0.0.0/8`, or quoted for IPv6,
//! `details.sourceipaddress:"fd00::/8"` (the colons of an IPv6 address need quotes or `\:`). A
//! value with `/` on an ip field that is not a network is an error. On other fields `/` inside a
//! value is an ordinary character; a value *starting* with `/` is a regular expression.
//! [`SubnetMatch`](crate::SubnetMatch) remains the plain way to say it in Rust.
//!
//! **AND, OR and modifiers.** One level of clauses (the whole query, or one pair of parentheses)
//! uses either AND or OR, not both: Lucene's classic parser reads `a OR b AND c` as `a +b +c`,
//! which surprises nearly everyone, so Tripline asks for parentheses instead. With OR, `+` clauses
//! and unprefixed clauses may not be mixed either (`+a b`): Lucene would let `b` only change the
//! score, and Tripline does not score. `a NOT b` and `a OR NOT b` mean `a AND NOT b`, as in Lucene.
//! A query of only negative clauses (`NOT a`) matches every event except those.
//!
//! **Refused** (an error naming the column): fuzzy and proximity searches (`~`), boosts (`^`),
//! wildcards in field names (`details.*:x`, `*:x`), date math in range bounds (`now-1d`, `||`; use
//! absolute timestamps or [`SearchQuery`](crate::SearchQuery)'s window), escapes in field names,
//! `field:` with no value (whitespace after the colon is skipped, as Lucene does: `summary: test` is
//! `summary:test`), empty phrases and groups, unbalanced parentheses, brackets and quotes,
//! AND/OR/NOT with nothing on one side, and parentheses nested deeper than [`MAX_DEPTH`].
//!
//! # Printing
//!
//! [`to_query_string`] prints an AST back as a query string. For every AST this parser produces,
//! parsing the printed string gives the identical AST; for other ASTs it prints an equivalent
//! query, or `None` when there is none (`MatchNone`, a `Subnet` on a field that is not an ip field,
//! values the syntax cannot carry).

use crate::ast::{Bound, QueryAst, Value};
use crate::{is_ip_field, is_text_field, DslError};

/// The field bare values (no `field:`) are matched against: the analyzed `summary`.
pub const DEFAULT_FIELD: &str = "summary";

/// The deepest nesting of parentheses accepted.
pub const MAX_DEPTH: usize = 32;

/// What every query-string error message ends with.
pub const SUPPORTED: &str = "supported: field:value, field:\"a phrase\", bare words (on summary), \
AND OR NOT && || !, + and - prefixes, ( ), field:(a OR b), wildcards * and ?, /regex/, \
ranges [a TO b] {a TO b} with * for an open end, field:>=v (also > < <=), _exists_:field, \
backslash escapes";

/// Parse a query string into the AST.
pub fn parse(text: &str) -> Result<QueryAst, DslError> {
    let mut p = Parser { chars: text.chars().collect(), pos: 0, depth: 0 };
    p.skip_ws();
    if p.at_end() {
        return Err(p.err(0, "the query is empty"));
    }
    let q = p.group_body(None)?;
    if !p.at_end() {
        // group_body stops only at the end or at a ')'.
        return Err(p.err(p.pos, "unbalanced ')': no '(' opens it"));
    }
    Ok(q)
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Modifier {
    None,
    Must,
    Not,
}

/// One character of a value and whether it was backslash-escaped.
type Chars = Vec<(char, bool)>;

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

fn plain(chars: &[(char, bool)]) -> String {
    chars.iter().map(|(c, _)| *c).collect()
}

fn any_escaped(chars: &[(char, bool)]) -> bool {
    chars.iter().any(|(_, e)| *e)
}

const OPERATORS: [&str; 5] = ["AND", "OR", "NOT", "&&", "||"];

/// Whether `field` can be written in a query string: a dotted path whose segments are letters,
/// digits, `_`, `-` and `@`, not starting with `-`.
pub fn is_printable_field(field: &str) -> bool {
    !field.is_empty()
        && !field.starts_with('-')
        && field != "_exists_"
        && field.split('.').all(|seg| {
            !seg.is_empty() && seg.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '@'))
        })
}

/// Date math OpenSearch would evaluate against its own clock (`now`, `now-1d`, `2026-01-01||+1d`).
pub fn is_date_math(s: &str) -> bool {
    let t = s.trim();
    t == "now" || t.starts_with("now+") || t.starts_with("now-") || t.starts_with("now/") || t.contains("||")
}

/// A bare value's type on a non-text field: canonical numbers and booleans, else text.
fn classify_plain(text: &str) -> Value {
    match text {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        if i.to_string() == text {
            return Value::Int(i);
        }
    }
    if text.contains('.') && text.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-') {
        if let Ok(f) = text.parse::<f64>() {
            if f.is_finite() && format!("{f:?}") == text {
                return Value::Float(f);
            }
        }
    }
    Value::Str(text.to_string())
}

fn classify_scalar(field: &str, chars: &[(char, bool)]) -> Value {
    let text = plain(chars);
    if is_text_field(field) || any_escaped(chars) {
        Value::Str(text)
    } else {
        classify_plain(&text)
    }
}

impl Parser {
    fn err(&self, at: usize, what: impl std::fmt::Display) -> DslError {
        DslError::QueryString { column: at + 1, message: format!("{what}; {SUPPORTED}") }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// The word at the cursor, up to whitespace or a parenthesis.
    fn peek_word(&self) -> String {
        self.chars[self.pos..].iter().take_while(|c| !c.is_whitespace() && !matches!(c, '(' | ')')).collect()
    }

    fn peek_operator(&self) -> Option<&'static str> {
        let w = self.peek_word();
        OPERATORS.iter().copied().find(|o| *o == w)
    }

    /// Clauses up to the end of input or a `)`, combined by their operators and modifiers.
    fn group_body(&mut self, field: Option<&str>) -> Result<QueryAst, DslError> {
        let start = self.pos;
        let mut items: Vec<(Modifier, QueryAst, usize)> = Vec::new();
        let mut first_and: Option<usize> = None;
        let mut first_or: Option<(usize, bool)> = None;
        loop {
            self.skip_ws();
            if self.at_end() || self.peek() == Some(')') {
                break;
            }
            let at = self.pos;
            let op = self.peek_operator();
            if items.is_empty() {
                if let Some(o @ ("AND" | "OR" | "&&" | "||")) = op {
                    return Err(self.err(at, format!("{o} has nothing on its left")));
                }
            } else {
                let explicit = match op {
                    Some(o @ ("AND" | "&&")) => {
                        first_and.get_or_insert(at);
                        Some(o)
                    }
                    Some(o @ ("OR" | "||")) => {
                        first_or.get_or_insert((at, true));
                        Some(o)
                    }
                    _ => {
                        first_or.get_or_insert((at, false));
                        None
                    }
                };
                if let Some(o) = explicit {
                    self.pos += o.chars().count();
                    self.skip_ws();
                    if self.at_end() || self.peek() == Some(')') {
                        return Err(self.err(at, format!("{o} has nothing on its right")));
                    }
                }
                if let (Some(a), Some((o, explicit_or))) = (first_and, first_or) {
                    let msg = if explicit_or {
                        "AND and OR are mixed at one level: Lucene's reading of that surprises, so say \
                         which you mean with parentheses, e.g. (a AND b) OR c"
                    } else {
                        "AND is mixed with clauses side by side (which mean OR, Lucene's default): say \
                         which you mean with parentheses, or write AND between every clause"
                    };
                    return Err(self.err(a.max(o), msg));
                }
            }
            items.push(self.clause(field)?);
        }
        if items.is_empty() {
            return Err(self.err(start, "nothing here where a clause was expected"));
        }
        let mut must = Vec::new();
        let mut should = Vec::new();
        let mut must_not = Vec::new();
        let mut first_should = None;
        let and = first_and.is_some();
        for (m, q, col) in items {
            match m {
                Modifier::Not => must_not.push(q),
                Modifier::Must => must.push(q),
                Modifier::None if and => must.push(q),
                Modifier::None => {
                    first_should.get_or_insert(col);
                    should.push(q);
                }
            }
        }
        if !must.is_empty() && !should.is_empty() {
            let at = first_should.unwrap_or(start);
            return Err(self.err(
                at,
                "a clause without + next to clauses with +: in Lucene it would only change the score, \
                 and Tripline does not score; prefix it with + to require it, or group the optional \
                 ones as +(a OR b)",
            ));
        }
        Ok(match (must.is_empty(), should.is_empty(), must_not.is_empty()) {
            (_, true, true) => QueryAst::all(must),
            (true, false, true) => QueryAst::any(should),
            _ => QueryAst::Bool { must, should, must_not },
        })
    }

    fn clause(&mut self, field: Option<&str>) -> Result<(Modifier, QueryAst, usize), DslError> {
        let at = self.pos;
        if let Some(o @ ("AND" | "OR" | "&&" | "||")) = self.peek_operator() {
            return Err(self.err(at, format!("{o} where a clause was expected (two operators in a row?)")));
        }
        let modifier = match self.peek() {
            Some(c @ ('+' | '-')) => {
                self.pos += 1;
                if self.peek().is_none_or(|n| n.is_whitespace() || n == ')') {
                    return Err(self.err(
                        at,
                        format!("'{c}' must be attached to the clause it applies to ({c}field:value)"),
                    ));
                }
                if c == '+' {
                    Modifier::Must
                } else {
                    Modifier::Not
                }
            }
            Some('!') => {
                self.pos += 1;
                Modifier::Not
            }
            _ if self.peek_operator() == Some("NOT") => {
                self.pos += 3;
                Modifier::Not
            }
            _ => Modifier::None,
        };
        if modifier != Modifier::None {
            self.skip_ws();
            if self.at_end() || self.peek() == Some(')') {
                return Err(self.err(at, "NOT, !, + or - with no clause after it"));
            }
            if matches!(self.peek(), Some('+' | '-' | '!')) || self.peek_operator().is_some() {
                return Err(self.err(self.pos, "one modifier (+, -, !, NOT) per clause"));
            }
        }
        let col = self.pos;
        let q = self.primary(field)?;
        Ok((modifier, q, col))
    }

    fn primary(&mut self, field: Option<&str>) -> Result<QueryAst, DslError> {
        let at = self.pos;
        let default = field.unwrap_or(DEFAULT_FIELD);
        match self.peek() {
            Some('(') => return self.group(field),
            Some('"') => return self.phrase(default),
            Some('/') => return self.regex(default),
            Some('[' | '{') => return self.range(default),
            Some(':') => {
                return Err(self.err(at, "':' with no field name before it (a literal colon is written \\:)"))
            }
            Some(c @ (']' | '}')) => return Err(self.err(at, format!("unbalanced '{c}': no range opens it"))),
            _ => {}
        }
        let term = self.read_term()?;
        if self.peek() == Some(':') {
            if field.is_some() {
                return Err(self.err(
                    at,
                    "a field inside a field group: field:(a OR b) takes bare values only; write \
                     (field:a OR other:b) instead",
                ));
            }
            let name = self.field_name(&term, at)?;
            self.pos += 1;
            return match name.as_str() {
                "*" => {
                    self.skip_ws();
                    let v = self.pos;
                    let rest = self.read_term_or_empty()?;
                    if rest == [('*', false)] {
                        Ok(QueryAst::MatchAll)
                    } else {
                        Err(self.err(v, "*:value (a value in every field) is not supported; name the field"))
                    }
                }
                "_exists_" => {
                    self.skip_ws();
                    let v = self.pos;
                    if self.peek().is_none_or(|c| c.is_whitespace() || matches!(c, '(' | ')')) {
                        return Err(self
                            .err(v, "_exists_: needs a field name, as in _exists_:details.sourceipaddress"));
                    }
                    let f = self.read_term()?;
                    let name = self.field_name(&f, v)?;
                    if name == "*" || name == "_exists_" {
                        return Err(self.err(v, "_exists_: needs a field name"));
                    }
                    if self.peek() == Some(':') {
                        return Err(self.err(self.pos, "a second ':' after _exists_:field"));
                    }
                    Ok(QueryAst::Exists { field: name })
                }
                _ => self.value(&name),
            };
        }
        if field.is_none() && term == [('*', false)] {
            return Ok(QueryAst::MatchAll);
        }
        self.term_value(default, &term, at)
    }

    fn field_name(&self, term: &[(char, bool)], at: usize) -> Result<String, DslError> {
        if any_escaped(term) {
            return Err(self.err(
                at,
                "escapes in field names are not supported; field names are dotted paths such as \
                 details.sourceipaddress",
            ));
        }
        let name = plain(term);
        if name == "*" || name == "_exists_" {
            return Ok(name);
        }
        if name.contains(['*', '?']) {
            return Err(
                self.err(at, format!("wildcards in field names ({name}) are not supported; name the field"))
            );
        }
        if !is_printable_field(&name) {
            return Err(self.err(
                at,
                format!(
                    "{name:?} is not a field name: use a dotted path of letters, digits, _, - and @ \
                     such as details.sourceipaddress"
                ),
            ));
        }
        Ok(name)
    }

    /// What follows `field:`.
    fn value(&mut self, field: &str) -> Result<QueryAst, DslError> {
        let colon = self.pos - 1;
        // Lucene skips whitespace between the colon and the value: `summary: test` is
        // `summary:test` (MozDef's own query strings are written so).
        self.skip_ws();
        let at = self.pos;
        match self.peek() {
            None => return Err(self.err(colon, format!("{field}: has no value"))),
            Some(')') => {
                return Err(self.err(colon, format!("{field}: has no value (quote values with spaces)")))
            }
            Some('(') => return self.group(Some(field)),
            Some('"') => return self.phrase(field),
            Some('/') => return self.regex(field),
            Some('[' | '{') => return self.range(field),
            Some('<' | '>') => return self.comparison(field),
            Some('-') if self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) => {}
            Some(c @ ('+' | '-' | '!')) => {
                return Err(self.err(
                    at,
                    format!("'{c}' after the colon: modifiers go before the field ({c}{field}:value); a literal {c} is written \\{c}"),
                ))
            }
            Some(c @ (']' | '}' | ':')) => {
                return Err(self.err(at, format!("'{c}' where {field}'s value was expected (escape it as \\{c})")))
            }
            _ => {}
        }
        let term = self.read_term()?;
        if !any_escaped(&term) {
            let text = plain(&term);
            if OPERATORS.contains(&text.as_str()) {
                return Err(
                    self.err(at, format!("{text} is an operator, not a value: write \\{text} or \"{text}\""))
                );
            }
        }
        if self.peek() == Some(':') {
            return Err(self.err(self.pos, "a second ':' in field:value (a literal colon is written \\:)"));
        }
        self.term_value(field, &term, at)
    }

    /// An unquoted value: a wildcard, a network on an ip field, or a term.
    fn term_value(&self, field: &str, term: &[(char, bool)], at: usize) -> Result<QueryAst, DslError> {
        if term.iter().any(|&(c, e)| !e && (c == '*' || c == '?')) {
            if term == [('*', false)] {
                return Ok(QueryAst::Exists { field: field.to_string() });
            }
            let mut pattern = String::new();
            for &(c, e) in term {
                if e && matches!(c, '*' | '?' | '\\') {
                    pattern.push('\\');
                }
                pattern.push(c);
            }
            return Ok(QueryAst::Wildcard { field: field.to_string(), pattern, case_insensitive: false });
        }
        let text = plain(term);
        if is_ip_field(field) && text.contains('/') {
            return self.cidr(field, &text, at);
        }
        Ok(QueryAst::Term {
            field: field.to_string(),
            value: classify_scalar(field, term),
            case_insensitive: false,
        })
    }

    fn cidr(&self, field: &str, text: &str, at: usize) -> Result<QueryAst, DslError> {
        match crate::ast::parse_cidr(text) {
            Ok(net) => Ok(QueryAst::Subnet { field: field.to_string(), net }),
            Err(_) => Err(self.err(
                at,
                format!(
                    "{text:?} on the ip field {field} is not a network: a value with '/' on an ip field \
                     is a CIDR such as 10.0.0.0/8 or \"fd00::/8\""
                ),
            )),
        }
    }

    /// Characters of a value up to whitespace, a parenthesis or a colon, with escapes resolved.
    fn read_term(&mut self) -> Result<Chars, DslError> {
        let at = self.pos;
        let out = self.read_term_or_empty()?;
        if out.is_empty() {
            return Err(self.err(at, "a value was expected here"));
        }
        Ok(out)
    }

    fn read_term_or_empty(&mut self) -> Result<Chars, DslError> {
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            match c {
                '\\' => out.push((self.escaped()?, true)),
                c if c.is_whitespace() || matches!(c, '(' | ')' | ':') => break,
                '^' | '~' => return Err(self.unsupported_suffix(c)),
                '"' | '[' | ']' | '{' | '}' | '!' => {
                    return Err(self.err(
                        self.pos,
                        format!("'{c}' inside a value: escape it as \\{c}, or quote the whole value"),
                    ))
                }
                c => {
                    out.push((c, false));
                    self.pos += 1;
                }
            }
        }
        Ok(out)
    }

    /// The character after a backslash (the cursor is on the backslash).
    fn escaped(&mut self) -> Result<char, DslError> {
        let at = self.pos;
        self.pos += 1;
        match self.peek() {
            Some(c) => {
                self.pos += 1;
                Ok(c)
            }
            None => Err(self.err(at, "a backslash at the end escapes nothing (a literal backslash is \\\\)")),
        }
    }

    fn unsupported_suffix(&self, c: char) -> DslError {
        if c == '^' {
            self.err(self.pos, "boosts (^) are not supported: Tripline does not score; a literal ^ is \\^")
        } else {
            self.err(
                self.pos,
                "fuzzy and proximity searches (~) are not supported: use a wildcard or a regex; a literal ~ is \\~",
            )
        }
    }

    /// After a closing quote, bracket, slash or parenthesis: only a separator may follow.
    fn end_of_value(&self) -> Result<(), DslError> {
        match self.peek() {
            None => Ok(()),
            Some(c) if c.is_whitespace() || c == ')' => Ok(()),
            Some(c @ ('^' | '~')) => Err(self.unsupported_suffix(c)),
            Some(c) => Err(self.err(self.pos, format!("'{c}' right after the end of a value: add a space"))),
        }
    }

    fn group(&mut self, field: Option<&str>) -> Result<QueryAst, DslError> {
        let at = self.pos;
        if self.depth >= MAX_DEPTH {
            return Err(self.err(at, format!("parentheses nested deeper than {MAX_DEPTH}")));
        }
        self.depth += 1;
        self.pos += 1;
        self.skip_ws();
        match self.peek() {
            None => return Err(self.err(at, "unbalanced '(': it is never closed")),
            Some(')') => return Err(self.err(at, "empty parentheses")),
            _ => {}
        }
        let q = self.group_body(field)?;
        if self.peek() != Some(')') {
            return Err(self.err(at, "unbalanced '(': it is never closed"));
        }
        self.pos += 1;
        self.depth -= 1;
        match self.peek() {
            Some(c @ ('^' | '~')) => Err(self.unsupported_suffix(c)),
            _ => Ok(q),
        }
    }

    /// A quoted string (the cursor is on the opening quote), escapes resolved.
    fn quoted(&mut self) -> Result<String, DslError> {
        let at = self.pos;
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err(at, "unbalanced '\"': the quote opened here is never closed")),
                Some('\\') => {
                    if self.peek_at(1).is_none() {
                        return Err(self.err(at, "unbalanced '\"': the quote opened here is never closed"));
                    }
                    s.push(self.escaped()?);
                }
                Some('"') => {
                    self.pos += 1;
                    return Ok(s);
                }
                Some(c) => {
                    s.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn phrase(&mut self, field: &str) -> Result<QueryAst, DslError> {
        let at = self.pos;
        let s = self.quoted()?;
        if self.peek() == Some(':') {
            return Err(self.err(self.pos, "quoted field names are not supported: write field:value"));
        }
        self.end_of_value()?;
        if s.is_empty() {
            return Err(self.err(at, "an empty phrase \"\" matches nothing useful"));
        }
        if is_ip_field(field) {
            if s.contains('/') {
                return self.cidr(field, &s, at);
            }
            return Ok(QueryAst::Term {
                field: field.to_string(),
                value: Value::Str(s),
                case_insensitive: false,
            });
        }
        Ok(QueryAst::Phrase { field: field.to_string(), phrase: s })
    }

    fn regex(&mut self, field: &str) -> Result<QueryAst, DslError> {
        let at = self.pos;
        self.pos += 1;
        let mut pattern = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err(
                    at,
                    "unterminated /regex/: add the closing slash (a literal slash inside is \\/; a value \
                         starting with / is written \\/ or quoted)",
                )),
                Some('\\') => {
                    pattern.push('\\');
                    self.pos += 1;
                    match self.peek() {
                        Some(c) => {
                            pattern.push(c);
                            self.pos += 1;
                        }
                        None => return Err(self.err(at, "unterminated /regex/: it ends in a backslash")),
                    }
                }
                Some('/') => {
                    self.pos += 1;
                    break;
                }
                Some(c) => {
                    pattern.push(c);
                    self.pos += 1;
                }
            }
        }
        self.end_of_value()?;
        Ok(QueryAst::Regex { field: field.to_string(), pattern, case_insensitive: false })
    }

    fn range(&mut self, field: &str) -> Result<QueryAst, DslError> {
        let at = self.pos;
        let lower_inclusive = self.peek() == Some('[');
        self.pos += 1;
        self.skip_ws();
        let lower = self.range_bound(field, at)?;
        self.skip_ws();
        let to = self.pos;
        if !(self.peek() == Some('T')
            && self.peek_at(1) == Some('O')
            && self.peek_at(2).is_some_and(char::is_whitespace))
        {
            if self.at_end() {
                return Err(self.err(at, "unbalanced bracket: the range opened here is never closed"));
            }
            return Err(self.err(to, "expected TO, as in [a TO b]"));
        }
        self.pos += 2;
        self.skip_ws();
        let upper = self.range_bound(field, at)?;
        self.skip_ws();
        let upper_inclusive = match self.peek() {
            Some(']') => true,
            Some('}') => false,
            None => return Err(self.err(at, "unbalanced bracket: the range opened here is never closed")),
            Some(c) => return Err(self.err(self.pos, format!("'{c}' where ] or }} should close the range"))),
        };
        self.pos += 1;
        self.end_of_value()?;
        if lower.is_none() && upper.is_none() {
            return Err(self.err(
                at,
                format!("a range needs at least one bound ([* TO *] is any value: write _exists_:{field})"),
            ));
        }
        Ok(QueryAst::Range {
            field: field.to_string(),
            lower: lower.map(|value| Bound { value, inclusive: lower_inclusive }),
            upper: upper.map(|value| Bound { value, inclusive: upper_inclusive }),
        })
    }

    /// One end of a range: `*` (open), a quoted string, or characters up to a space or `]` / `}`.
    fn range_bound(&mut self, field: &str, open: usize) -> Result<Option<Value>, DslError> {
        let at = self.pos;
        let value = if self.peek() == Some('"') {
            Value::Str(self.quoted()?)
        } else {
            let mut chars = Vec::new();
            while let Some(c) = self.peek() {
                match c {
                    '\\' => chars.push((self.escaped()?, true)),
                    c if c.is_whitespace() || c == ']' || c == '}' => break,
                    c => {
                        chars.push((c, false));
                        self.pos += 1;
                    }
                }
            }
            if chars.is_empty() {
                if self.at_end() {
                    return Err(self.err(open, "unbalanced bracket: the range opened here is never closed"));
                }
                return Err(self.err(at, "a range bound is missing: write * for an open end, as in [5 TO *]"));
            }
            if chars == [('*', false)] {
                return Ok(None);
            }
            if chars == [('T', false), ('O', false)] {
                return Err(self.err(at, "a range bound is missing before TO: write * for an open end"));
            }
            classify_scalar(field, &chars)
        };
        self.bound_ok(&value, at)?;
        Ok(Some(value))
    }

    fn bound_ok(&self, value: &Value, at: usize) -> Result<(), DslError> {
        if let Value::Str(s) = value {
            if is_date_math(s) {
                return Err(self.err(
                    at,
                    format!(
                        "date math ({s}) is not supported: it would be read against the store's clock; use \
                         absolute timestamps, or SearchQuery's time window"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// `field:>=v`, `>v`, `<v`, `<=v` (the cursor is on `<` or `>`).
    fn comparison(&mut self, field: &str) -> Result<QueryAst, DslError> {
        let at = self.pos;
        let lower = self.peek() == Some('>');
        self.pos += 1;
        let inclusive = self.peek() == Some('=');
        if inclusive {
            self.pos += 1;
        }
        let v = self.pos;
        let value = match self.peek() {
            None => return Err(self.err(at, "a comparison with no value, as in field:>=5")),
            Some(c) if c.is_whitespace() || matches!(c, '(' | ')') => {
                return Err(self.err(at, "a comparison with no value (no space after >=), as in field:>=5"))
            }
            Some('"') => {
                let s = self.quoted()?;
                self.end_of_value()?;
                Value::Str(s)
            }
            Some(_) => {
                let mut chars = Vec::new();
                while let Some(c) = self.peek() {
                    match c {
                        '\\' => chars.push((self.escaped()?, true)),
                        c if c.is_whitespace() || matches!(c, '(' | ')') => break,
                        '^' | '~' => return Err(self.unsupported_suffix(c)),
                        '"' | '[' | ']' | '{' | '}' | '<' | '>' | '=' => {
                            return Err(self.err(
                                self.pos,
                                format!("'{c}' inside a comparison value: escape it as \\{c}"),
                            ))
                        }
                        c => {
                            chars.push((c, false));
                            self.pos += 1;
                        }
                    }
                }
                if chars == [('*', false)] {
                    return Err(
                        self.err(v, format!("a comparison with * bounds nothing: write _exists_:{field}"))
                    );
                }
                classify_scalar(field, &chars)
            }
        };
        self.bound_ok(&value, v)?;
        let bound = Some(Bound { value, inclusive });
        let (lower, upper) = if lower { (bound, None) } else { (None, bound) };
        Ok(QueryAst::Range { field: field.to_string(), lower, upper })
    }
}

// ---------------------------------------------------------------------------------------------
// Printing

/// Print an AST as a query string in the subset above, or `None` where it has no query-string
/// form.
///
/// For every AST [`parse`] produces, `parse(&to_query_string(&ast)?)` is `ast` again. Other ASTs
/// print as an equivalent query (a `Terms` as an OR of terms, a `Bool` with both `must` and
/// `should` as `+m +(s1 OR s2)`, a one-clause `Bool` as its clause).
pub fn to_query_string(ast: &QueryAst) -> Option<String> {
    match ast {
        QueryAst::MatchAll => Some("*:*".into()),
        QueryAst::MatchNone => None,
        // A query string has no spelling for "ignoring case".
        QueryAst::Term { case_insensitive: true, .. }
        | QueryAst::Wildcard { case_insensitive: true, .. }
        | QueryAst::Regex { case_insensitive: true, .. } => None,
        QueryAst::Term { field, value, .. } => {
            Some(format!("{}:{}", field_text(field)?, value_token(field, value)?))
        }
        QueryAst::Terms { field, values } => {
            let parts = values
                .iter()
                .map(|v| Some(format!("{}:{}", field_text(field)?, value_token(field, v)?)))
                .collect::<Option<Vec<_>>>()?;
            if parts.is_empty() {
                return None;
            }
            Some(parts.join(" OR "))
        }
        QueryAst::Wildcard { field, pattern, .. } => {
            Some(format!("{}:{}", field_text(field)?, wildcard_token(pattern)?))
        }
        QueryAst::Regex { field, pattern, .. } => {
            if !regex_printable(pattern) {
                return None;
            }
            Some(format!("{}:/{pattern}/", field_text(field)?))
        }
        QueryAst::Phrase { field, phrase } => {
            if phrase.is_empty() || (is_ip_field(field) && phrase.contains('/')) {
                return None;
            }
            Some(format!("{}:{}", field_text(field)?, quote(phrase)))
        }
        QueryAst::Exists { field } => Some(format!("_exists_:{}", field_text(field)?)),
        QueryAst::Range { field, lower, upper } => {
            if lower.is_none() && upper.is_none() {
                return None;
            }
            let bound = |b: &Option<Bound>| match b {
                None => Some("*".to_string()),
                Some(b) => bound_token(&b.value),
            };
            let open = if lower.as_ref().is_none_or(|b| b.inclusive) { '[' } else { '{' };
            let close = if upper.as_ref().is_none_or(|b| b.inclusive) { ']' } else { '}' };
            Some(format!("{}:{open}{} TO {}{close}", field_text(field)?, bound(lower)?, bound(upper)?))
        }
        QueryAst::Subnet { field, net } => {
            if !is_ip_field(field) {
                return None;
            }
            Some(format!("{}:\"{net}\"", field_text(field)?))
        }
        QueryAst::Bool { must, should, must_not } => {
            let atoms = |v: &[QueryAst]| v.iter().map(atom).collect::<Option<Vec<_>>>();
            let (m, s, n) = (atoms(must)?, atoms(should)?, atoms(must_not)?);
            match (m.len(), s.len(), n.len()) {
                (0, 0, 0) => Some("*:*".into()),
                (1, 0, 0) => to_query_string(&must[0]),
                (0, 1, 0) => to_query_string(&should[0]),
                (_, 0, 0) => Some(m.join(" AND ")),
                (0, _, 0) => Some(s.join(" OR ")),
                (0, 0, _) => Some(n.iter().map(|x| format!("-{x}")).collect::<Vec<_>>().join(" ")),
                (0, _, _) => {
                    let mut out = s.join(" OR ");
                    for x in n {
                        out.push_str(" -");
                        out.push_str(&x);
                    }
                    Some(out)
                }
                _ => {
                    let mut parts: Vec<String> = m.into_iter().map(|x| format!("+{x}")).collect();
                    if !s.is_empty() {
                        parts.push(format!("+({})", s.join(" OR ")));
                    }
                    parts.extend(n.into_iter().map(|x| format!("-{x}")));
                    Some(parts.join(" "))
                }
            }
        }
    }
}

/// A clause as it appears inside a larger one: parenthesised unless it is a single clause.
fn atom(ast: &QueryAst) -> Option<String> {
    let s = to_query_string(ast)?;
    let single = match ast {
        QueryAst::Bool { .. } => false,
        QueryAst::Terms { values, .. } => values.len() == 1,
        _ => true,
    };
    Some(if single { s } else { format!("({s})") })
}

fn field_text(field: &str) -> Option<&str> {
    is_printable_field(field).then_some(field)
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Escape one character of a value; `first` for the value's first character.
fn push_escaped(out: &mut String, c: char, first: bool) {
    let special = c.is_whitespace()
        || matches!(c, '\\' | '(' | ')' | ':' | '"' | '[' | ']' | '{' | '}' | '^' | '~' | '*' | '?' | '!')
        || (first && matches!(c, '+' | '-' | '/' | '<' | '>'));
    if special {
        out.push('\\');
    }
    out.push(c);
}

fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        push_escaped(&mut out, c, i == 0);
    }
    out
}

/// A value in `field:value` position that parses back to the same value.
fn value_token(field: &str, value: &Value) -> Option<String> {
    match value {
        Value::Str(s) => {
            if s.is_empty() || (is_ip_field(field) && s.contains('/')) {
                return None;
            }
            let tok = escape_text(s);
            let needs_mark = !tok.starts_with('\\')
                && (OPERATORS.contains(&s.as_str())
                    || (!is_text_field(field) && classify_plain(s) != Value::Str(s.clone())));
            Some(if needs_mark { format!("\\{tok}") } else { tok })
        }
        Value::Int(i) => Some(i.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Float(f) => {
            let t = format!("{f:?}");
            (f.is_finite() && classify_plain(&t) == Value::Float(*f)).then_some(t)
        }
    }
}

/// A range bound: text is always quoted (quoted bounds are always text), the rest bare.
fn bound_token(value: &Value) -> Option<String> {
    match value {
        Value::Str(s) if is_date_math(s) => None,
        Value::Str(s) => Some(quote(s)),
        other => value_token("", other),
    }
}

fn wildcard_token(pattern: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = pattern.chars();
    let mut first = true;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let d = chars.next()?;
                out.push('\\');
                out.push(d);
            }
            '*' | '?' => out.push(c),
            c => push_escaped(&mut out, c, first),
        }
        first = false;
    }
    if out.is_empty() {
        return None;
    }
    Some(out)
}

/// Whether the lexer would read `/pattern/` back as exactly `pattern`.
fn regex_printable(pattern: &str) -> bool {
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.next().is_none() => return false,
            '/' => return false,
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(f: &str, v: impl Into<Value>) -> QueryAst {
        QueryAst::Term { field: f.into(), value: v.into(), case_insensitive: false }
    }

    #[test]
    fn values_are_typed_only_when_canonical() {
        assert_eq!(parse("p:22").unwrap(), term("p", 22));
        assert_eq!(parse("p:-3").unwrap(), term("p", -3));
        assert_eq!(parse("p:007").unwrap(), term("p", "007"));
        assert_eq!(parse("p:0.5").unwrap(), term("p", 0.5));
        assert_eq!(parse("p:1.50").unwrap(), term("p", "1.50"));
        assert_eq!(parse("p:true").unwrap(), term("p", true));
        assert_eq!(parse("p:\\22").unwrap(), term("p", "22"));
        assert_eq!(parse("summary:22").unwrap(), term("summary", "22"));
    }

    #[test]
    fn whitespace_after_the_colon_is_skipped_as_lucene_does() {
        // MozDef's QueryStringMatch('summary: test conf'): summary:test OR conf (on summary).
        assert_eq!(parse("summary: test").unwrap(), term("summary", "test"));
        assert_eq!(
            parse("summary: test conf").unwrap(),
            QueryAst::any(vec![term("summary", "test"), term("summary", "conf")])
        );
        assert_eq!(parse("p:  22").unwrap(), term("p", 22));
        assert_eq!(
            parse("hostname: /a.*/").unwrap(),
            QueryAst::Regex { field: "hostname".into(), pattern: "a.*".into(), case_insensitive: false }
        );
        assert_eq!(parse("x: \"a b\"").unwrap(), parse("x:\"a b\"").unwrap());
        assert_eq!(parse("x: (a OR b)").unwrap(), parse("x:(a OR b)").unwrap());
        assert_eq!(parse("x: [1 TO 2]").unwrap(), parse("x:[1 TO 2]").unwrap());
        assert_eq!(parse("x:\t>=5").unwrap(), parse("x:>=5").unwrap());
        assert_eq!(parse("_exists_: x").unwrap(), QueryAst::Exists { field: "x".into() });
        assert_eq!(parse("*: *").unwrap(), QueryAst::MatchAll);
        assert!(parse("x: ").is_err());
        assert!(parse("x: AND").is_err());
        assert!(parse("x: -y").is_err());
    }

    #[test]
    fn printer_marks_text_that_looks_like_a_number() {
        let q = term("p", "22");
        let s = to_query_string(&q).unwrap();
        assert_eq!(s, "p:\\22");
        assert_eq!(parse(&s).unwrap(), q);
    }

    #[test]
    fn case_insensitive_nodes_have_no_query_string() {
        let ci = QueryAst::Term { field: "p".into(), value: "a".into(), case_insensitive: true };
        assert_eq!(to_query_string(&ci), None);
        let w = QueryAst::Wildcard { field: "p".into(), pattern: "a*".into(), case_insensitive: true };
        assert_eq!(to_query_string(&QueryAst::all(vec![term("q", "b"), w])), None);
        assert_eq!(to_query_string(&term("p", "a")).as_deref(), Some("p:a"));
    }
}
