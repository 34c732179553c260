//! A rule's detection compiled to [`QueryAst`]: search identifiers, values and modifiers, the
//! condition. See the crate docs for what is supported and how case-insensitivity is expressed.

use tripline_dsl::{Bound, QueryAst, Value};

use crate::error::{Pos, SigmaError};
use crate::fields::{Target, SOURCE_HOST, SOURCE_IP};
use crate::rule::{FieldMatch, Search, SearchBody, SigmaRule, SigmaValue};

/// A field mapping: a rule's field name to where it is stored, or why it cannot be matched.
pub type FieldMap = dyn Fn(&str) -> Result<Target, String>;

/// Compile a CloudTrail rule (`logsource: {product: aws, service: cloudtrail}`): its detection,
/// AND `source: cloudtrail`, with CloudTrail's field names ([`crate::fields::cloudtrail`]).
pub fn compile(rule: &SigmaRule) -> Result<QueryAst, SigmaError> {
    let ls = &rule.logsource;
    let (source, fields) = match log_source(ls) {
        Some(found) => found,
        None => {
            let shown = [("product", &ls.product), ("service", &ls.service), ("category", &ls.category)]
                .iter()
                .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ls.pos.err(
                &rule.source,
                "logsource",
                format!(
                    "{{{shown}}} is not supported: product: aws with service: cloudtrail, vpcflowlogs or \
                         guardduty (and no category)"
                ),
            ));
        }
    };
    let detection = compile_detection(rule, &fields)?;
    Ok(QueryAst::all(vec![
        QueryAst::Term { field: "source".into(), value: Value::from(source), case_insensitive: false },
        detection,
    ]))
}

/// A field mapping as a plain function.
pub type Mapping = fn(&str) -> Result<Target, String>;

/// The stored `source` and the field mapping of a log source: `product: aws` with `service:`
/// `cloudtrail` (CloudTrail's field names), `vpcflowlogs` (the flow log format's names) or
/// `guardduty` (the finding's names); `None` for any other.
pub fn log_source(ls: &crate::rule::Logsource) -> Option<(&'static str, Mapping)> {
    match (ls.product.as_deref(), ls.service.as_deref(), ls.category.as_deref()) {
        (Some("aws"), Some("cloudtrail"), None) => Some(("cloudtrail", crate::fields::cloudtrail)),
        (Some("aws"), Some("vpcflowlogs"), None) => Some(("vpc_flow", crate::fields::vpcflow)),
        (Some("aws"), Some("guardduty"), None) => Some(("guardduty", crate::fields::guardduty)),
        _ => None,
    }
}

/// Compile a rule's detection alone, with the given field mapping (the log source is the
/// caller's business).
pub fn compile_detection(rule: &SigmaRule, fields: &FieldMap) -> Result<QueryAst, SigmaError> {
    let c = Compiler { rule, fields };
    let mut alternatives = Vec::new();
    for (text, at) in &rule.detection.conditions {
        alternatives.push(c.condition(text, *at)?);
    }
    let q = QueryAst::any(alternatives);
    let (_, at) = &rule.detection.conditions[0];
    q.validate().map_err(|e| at.err(&rule.source, "condition", e.to_string()))?;
    Ok(q)
}

struct Compiler<'a> {
    rule: &'a SigmaRule,
    fields: &'a FieldMap,
}

/// What a field condition does with its values.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Contains,
    StartsWith,
    EndsWith,
    Re { i: bool, m: bool, s: bool },
    Cidr,
    Exists,
    Cmp { lower: bool, inclusive: bool },
}

const UNSUPPORTED_MODIFIERS: [&str; 7] =
    ["utf16le", "utf16be", "utf16", "wide", "windash", "expand", "fieldref"];

/// `base64` / `base64offset`: the value is searched for as base64 text.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Encode {
    /// The value's base64 encoding.
    Base64,
    /// The three encodings of the value at byte offsets 0, 1 and 2 of a longer encoded text,
    /// each without the characters that depend on the bytes around it.
    Base64Offset,
}

/// The texts a value is searched for under `encode`: each is exact base64 (case-sensitive).
fn encoded(encode: Encode, text: &str) -> Vec<String> {
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    match encode {
        Encode::Base64 => vec![b64(text.as_bytes())],
        Encode::Base64Offset => (0..3usize)
            .map(|offset| {
                // `offset` unknown bytes before the value: the characters they reach are left out
                // (0, 2 or 3 of them), and so are those the unknown bytes after it reach (a last
                // group of one byte leaves one determined character of four, of two bytes two).
                let mut bytes = vec![0u8; offset];
                bytes.extend_from_slice(text.as_bytes());
                let all = b64(&bytes);
                let start = [0, 2, 3][offset];
                let end = all.len() - [0, 3, 2][bytes.len() % 3];
                all.get(start..end).unwrap_or_default().to_string()
            })
            .filter(|s| !s.is_empty())
            .collect(),
    }
}

/// One character of a Sigma string, after its escapes are read.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Piece {
    Lit(char),
    /// `*`
    Any,
    /// `?`
    One,
}

/// Sigma's escapes: `\*`, `\?` and `\\` are the character itself; a backslash before anything
/// else is a backslash.
fn pieces(s: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    chars.next();
                    out.push(Piece::Lit(n));
                }
                _ => out.push(Piece::Lit('\\')),
            },
            '*' => out.push(Piece::Any),
            '?' => out.push(Piece::One),
            c => out.push(Piece::Lit(c)),
        }
    }
    out
}

/// A character's case forms (simple, one-character mappings only): lower case first, then upper
/// case, then the character itself when it is neither (the Kelvin sign `\u{212a}` is `[k\u{212a}]`: its lower
/// case is `k`, its upper case itself; `K` is not reached from it).
fn case_forms(c: char) -> Vec<char> {
    let mut forms = Vec::new();
    for f in [c.to_lowercase().collect::<Vec<_>>(), c.to_uppercase().collect::<Vec<_>>(), vec![c]] {
        if let [one] = f[..] {
            if !forms.contains(&one) {
                forms.push(one);
            }
        }
    }
    if forms.is_empty() {
        forms.push(c);
    }
    forms
}

/// The pieces as a wildcard pattern: `*` and `?` as themselves, literal `*`, `?` and `\\` escaped.
fn push_wildcard(ps: &[Piece], pattern: &mut String) {
    for p in ps {
        match p {
            Piece::Any => pattern.push('*'),
            Piece::One => pattern.push('?'),
            Piece::Lit(c @ ('*' | '?' | '\\')) => {
                pattern.push('\\');
                pattern.push(*c);
            }
            Piece::Lit(c) => pattern.push(*c),
        }
    }
}

/// The pieces as a Lucene regular expression folding each letter to its case forms: `*` is
/// `.*`, `?` is `.`.
fn push_folded_regex(ps: &[Piece], pattern: &mut String) {
    for p in ps {
        match p {
            Piece::Any => pattern.push_str(".*"),
            Piece::One => pattern.push('.'),
            Piece::Lit(c) => regex_fold(*c, pattern),
        }
    }
}

/// A literal character in a Lucene regular expression.
fn regex_lit(c: char, out: &mut String) {
    if c.is_ascii() && !c.is_ascii_alphanumeric() {
        out.push('\\');
    }
    out.push(c);
}

/// A literal character, matched in either case.
fn regex_fold(c: char, out: &mut String) {
    let forms = case_forms(c);
    if forms.len() == 1 {
        regex_lit(c, out);
    } else {
        out.push('[');
        forms.iter().for_each(|f| out.push(*f));
        out.push(']');
    }
}

fn has_case(pieces: &[Piece]) -> bool {
    pieces.iter().any(|p| matches!(p, Piece::Lit(c) if case_forms(*c).len() > 1))
}

/// A string condition on a keyword field: a `Term` when the value is plain, a `Wildcard` when it
/// has wildcards, either with `case_insensitive` unless `cased` (or unless case cannot matter).
/// The flag folds ASCII letters only (OpenSearch's `case_insensitive`), so a value with a
/// non-ASCII cased letter (`é`, `Σ`) is a `Regex` in which each letter is a class of its case
/// forms instead, which is exact on both stores.
fn string_match(field: &str, ps: &[Piece], cased: bool) -> QueryAst {
    let wild = ps.iter().any(|p| !matches!(p, Piece::Lit(_)));
    let case_insensitive = !cased && has_case(ps);
    let non_ascii_case =
        ps.iter().any(|p| matches!(p, Piece::Lit(c) if !c.is_ascii() && case_forms(*c).len() > 1));
    if !case_insensitive || !non_ascii_case {
        if !wild {
            let text: String =
                ps.iter().filter_map(|p| if let Piece::Lit(c) = p { Some(*c) } else { None }).collect();
            return QueryAst::Term { field: field.into(), value: Value::Str(text), case_insensitive };
        }
        let mut pattern = String::new();
        push_wildcard(ps, &mut pattern);
        return QueryAst::Wildcard { field: field.into(), pattern, case_insensitive };
    }
    let mut pattern = String::new();
    push_folded_regex(ps, &mut pattern);
    QueryAst::Regex { field: field.into(), pattern, case_insensitive: false }
}

/// Why `|cidr` and numeric comparisons are refused on members of the variable subtrees.
const PAIR_NOT_TYPED: &str = "{} on members of requestParameters, responseElements, additionalEventData and \
     serviceEventDetails is not supported: they are stored as text (path=value pairs), not as addresses or numbers";

/// A wildcard pattern matching `text` literally.
fn wildcard_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A string condition on a member of a variable subtree: the pair `path=value` in its pairs
/// field. Case-insensitively only the value is folded (a `Regex`: the path literal, each letter
/// of the value a class of its case forms), so `bucketName` never matches `BucketName`.
fn pair_match(field: &str, path: &str, ps: &[Piece], cased: bool) -> QueryAst {
    let wild = ps.iter().any(|p| !matches!(p, Piece::Lit(_)));
    if cased || !has_case(ps) {
        if !wild {
            let mut value = format!("{path}=");
            value.extend(ps.iter().filter_map(|p| if let Piece::Lit(c) = p { Some(*c) } else { None }));
            return QueryAst::Term { field: field.into(), value: Value::Str(value), case_insensitive: false };
        }
        let mut pattern = format!("{}=", wildcard_escape(path));
        push_wildcard(ps, &mut pattern);
        return QueryAst::Wildcard { field: field.into(), pattern, case_insensitive: false };
    }
    let mut pattern = String::new();
    path.chars().for_each(|c| regex_lit(c, &mut pattern));
    pattern.push('=');
    push_folded_regex(ps, &mut pattern);
    QueryAst::Regex { field: field.into(), pattern, case_insensitive: false }
}

/// Whether a string pattern could match an IP address as text (digits, hex letters, `.`, `:`).
fn could_be_ip(ps: &[Piece]) -> bool {
    ps.iter().all(|p| match p {
        Piece::Lit(c) => c.is_ascii_hexdigit() || *c == '.' || *c == ':',
        _ => true,
    })
}

fn value_text(v: &SigmaValue) -> Option<String> {
    match v {
        SigmaValue::Str(s) => Some(s.clone()),
        SigmaValue::Int(i) => Some(i.to_string()),
        SigmaValue::Float(f) => Some(f.to_string()),
        SigmaValue::Bool(b) => Some(b.to_string()),
        SigmaValue::Null => None,
    }
}

impl Compiler<'_> {
    fn err(&self, at: Pos, construct: impl Into<String>, reason: impl Into<String>) -> SigmaError {
        at.err(&self.rule.source, construct, reason)
    }

    fn search(&self, s: &Search) -> Result<QueryAst, SigmaError> {
        let construct = format!("detection.{}", s.name);
        match &s.body {
            SearchBody::Map(fields) => self.map(&construct, fields),
            SearchBody::AnyMap(maps) => {
                Ok(QueryAst::any(maps.iter().map(|m| self.map(&construct, m)).collect::<Result<_, _>>()?))
            }
            SearchBody::Keywords(values) => Err(self.err(
                values.first().map_or(s.pos, |(_, p)| *p),
                construct,
                "keyword searches (values without a field) are not supported: Tripline matches fields, and \
                 its one text field, summary, is not the whole event",
            )),
        }
    }

    fn map(&self, construct: &str, fields: &[FieldMatch]) -> Result<QueryAst, SigmaError> {
        Ok(QueryAst::all(fields.iter().map(|f| self.field(construct, f)).collect::<Result<_, _>>()?))
    }

    fn field(&self, construct: &str, f: &FieldMatch) -> Result<QueryAst, SigmaError> {
        let here = format!("{construct}.{}", f.key());
        let bad = |reason: String| self.err(f.pos, here.clone(), reason);
        let (mut op, mut all, mut cased) = (Op::Eq, false, false);
        let mut encode = None;
        for m in &f.modifiers {
            let next = match m.as_str() {
                kind @ ("base64" | "base64offset") => {
                    if encode.is_some() || op != Op::Eq {
                        return Err(bad(format!(
                            "{kind} comes first, once, before contains/startswith/endswith"
                        )));
                    }
                    encode = Some(if kind == "base64" { Encode::Base64 } else { Encode::Base64Offset });
                    continue;
                }
                "contains" => Op::Contains,
                "startswith" => Op::StartsWith,
                "endswith" => Op::EndsWith,
                "re" => Op::Re { i: false, m: false, s: false },
                "cidr" => Op::Cidr,
                "exists" => Op::Exists,
                "lt" => Op::Cmp { lower: false, inclusive: false },
                "lte" => Op::Cmp { lower: false, inclusive: true },
                "gt" => Op::Cmp { lower: true, inclusive: false },
                "gte" => Op::Cmp { lower: true, inclusive: true },
                "all" => {
                    all = true;
                    continue;
                }
                "cased" => {
                    cased = true;
                    continue;
                }
                flag @ ("i" | "m" | "s") => {
                    let Op::Re { i, m, s } = &mut op else {
                        return Err(bad(format!("the {flag} modifier only follows re")));
                    };
                    *match flag {
                        "i" => i,
                        "m" => m,
                        _ => s,
                    } = true;
                    continue;
                }
                m if UNSUPPORTED_MODIFIERS.contains(&m) => {
                    return Err(bad(format!("the {m} modifier is not supported yet")))
                }
                m => return Err(bad(format!("unknown modifier {m:?}"))),
            };
            if op != Op::Eq {
                return Err(bad(format!("{m} cannot be combined with another matching modifier")));
            }
            op = next;
        }
        if all && f.values.len() < 2 {
            return Err(bad(
                "all needs a list of at least two values (the specification forbids it on one)".into()
            ));
        }
        if encode == Some(Encode::Base64Offset) && op != Op::Contains {
            return Err(bad(
                "base64offset finds the value inside a longer text: use base64offset|contains".into()
            ));
        }
        if encode.is_some() && !matches!(op, Op::Eq | Op::Contains | Op::StartsWith | Op::EndsWith) {
            return Err(bad("base64 and base64offset encode a value to match as text".into()));
        }
        let target =
            (self.fields)(&f.field).map_err(|reason| bad(format!("field {:?}: {reason}", f.field)))?;
        let mut clauses = Vec::new();
        for (v, at) in &f.values {
            let vbad = |reason: String| self.err(*at, here.clone(), reason);
            let Some(kind) = encode else {
                clauses.push(self.value(&target, op, cased, v).map_err(vbad)?);
                continue;
            };
            let text = match v {
                SigmaValue::Str(s) if s.is_empty() => {
                    return Err(vbad("an empty value has no base64 text".into()))
                }
                SigmaValue::Str(s) if !pieces(s).iter().any(|p| !matches!(p, Piece::Lit(_))) => {
                    pieces(s).iter().map(|p| if let Piece::Lit(c) = p { *c } else { '?' }).collect::<String>()
                }
                SigmaValue::Str(_) => return Err(vbad("a wildcard cannot be base64-encoded".into())),
                SigmaValue::Int(_) | SigmaValue::Float(_) => value_text(v).unwrap_or_default(),
                _ => return Err(vbad("base64 encodes text".into())),
            };
            // Base64 text is matched exactly (its letters' case is information); the encoded
            // text holds no wildcard or escape characters.
            let variants = encoded(kind, &text)
                .into_iter()
                .map(|e| self.value(&target, op, true, &SigmaValue::Str(e)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(vbad)?;
            clauses.push(QueryAst::any(variants));
        }
        if all {
            return Ok(QueryAst::all(clauses));
        }
        // Plain values of one field: one Terms node.
        if clauses.len() > 1 {
            if let Some(QueryAst::Term { field, .. }) = clauses.first() {
                let field = field.clone();
                let values: Option<Vec<Value>> = clauses
                    .iter()
                    .map(|c| match c {
                        QueryAst::Term { field: f2, value, case_insensitive: false } if *f2 == field => {
                            Some(value.clone())
                        }
                        _ => None,
                    })
                    .collect();
                if let Some(values) = values {
                    return Ok(QueryAst::Terms { field, values });
                }
            }
        }
        Ok(QueryAst::any(clauses))
    }

    fn value(&self, target: &Target, op: Op, cased: bool, v: &SigmaValue) -> Result<QueryAst, String> {
        let exists = |present: bool| {
            let q = match target {
                Target::SourceIp => QueryAst::any(vec![
                    QueryAst::Exists { field: SOURCE_IP.into() },
                    QueryAst::Exists { field: SOURCE_HOST.into() },
                ]),
                Target::Keyword(f) | Target::Bool(f) | Target::Number(f) | Target::Ip(f) => {
                    QueryAst::Exists { field: f.clone() }
                }
                // The member itself, or members under it.
                Target::Pair { field, path } => QueryAst::any(vec![
                    QueryAst::Wildcard {
                        field: field.clone(),
                        pattern: format!("{}=*", wildcard_escape(path)),
                        case_insensitive: false,
                    },
                    QueryAst::Wildcard {
                        field: field.clone(),
                        pattern: format!("{}.*", wildcard_escape(path)),
                        case_insensitive: false,
                    },
                ]),
            };
            if present {
                q
            } else {
                QueryAst::negate(q)
            }
        };
        match op {
            Op::Exists => match v {
                SigmaValue::Bool(b) => Ok(exists(*b)),
                _ => Err("exists takes true or false".into()),
            },
            Op::Cidr => {
                let Some(text) = value_text(v) else {
                    return Err("cidr needs a network such as 10.0.0.0/8".into());
                };
                let net = tripline_dsl::ast::parse_cidr(&text).map_err(|e| e.to_string())?;
                match target {
                    Target::SourceIp => Ok(QueryAst::Subnet { field: SOURCE_IP.into(), net }),
                    Target::Ip(f) => Ok(QueryAst::Subnet { field: f.clone(), net }),
                    Target::Pair { .. } => Err(PAIR_NOT_TYPED.replace("{}", "cidr")),
                    _ => Err("cidr works on IP address fields only (sourceIPAddress)".into()),
                }
            }
            Op::Cmp { lower, inclusive } => {
                let value = match v {
                    SigmaValue::Int(i) => Value::Int(*i),
                    SigmaValue::Float(f) if f.is_finite() => Value::Float(*f),
                    _ => return Err("lt, lte, gt and gte compare numbers: give a number".into()),
                };
                if let Target::Pair { .. } = target {
                    return Err(PAIR_NOT_TYPED.replace("{}", "lt, lte, gt and gte"));
                }
                let Target::Number(field) = target else {
                    return Err(
                        "this field is stored as text or boolean: a numeric comparison on it would compare \
                                text, not numbers"
                            .into(),
                    );
                };
                let bound = Some(Bound { value, inclusive });
                let (lower, upper) = if lower { (bound, None) } else { (None, bound) };
                Ok(QueryAst::Range { field: field.clone(), lower, upper })
            }
            Op::Re { i, m, s } => {
                let SigmaValue::Str(re) = v else { return Err("re needs a string".into()) };
                let pattern = translate_regex(re, i, m, s)?;
                if let Target::Pair { field, path } = target {
                    // The path literal, then the expression over the value.
                    let mut literal = String::new();
                    path.chars().for_each(|c| regex_lit(c, &mut literal));
                    return Ok(QueryAst::Regex {
                        field: field.clone(),
                        pattern: format!("{literal}=({pattern})"),
                        case_insensitive: false,
                    });
                }
                let field = match target {
                    Target::Keyword(f) => f,
                    _ => return Err("re works on text fields only".into()),
                };
                Ok(QueryAst::Regex { field: field.clone(), pattern, case_insensitive: false })
            }
            Op::Eq | Op::Contains | Op::StartsWith | Op::EndsWith => {
                if *v == SigmaValue::Null {
                    if op != Op::Eq || cased {
                        return Err("null (the field is absent) takes no modifier".into());
                    }
                    return Ok(exists(false));
                }
                if let (Target::Bool(field), Op::Eq) = (target, op) {
                    let b = match v {
                        SigmaValue::Bool(b) => *b,
                        SigmaValue::Str(s) if s.eq_ignore_ascii_case("true") && (!cased || s == "true") => {
                            true
                        }
                        SigmaValue::Str(s) if s.eq_ignore_ascii_case("false") && (!cased || s == "false") => {
                            false
                        }
                        _ => return Err("this field is a boolean: give true or false".into()),
                    };
                    return Ok(QueryAst::Term {
                        field: field.clone(),
                        value: Value::Bool(b),
                        case_insensitive: false,
                    });
                }
                if let (Target::Number(field), Op::Eq, SigmaValue::Int(i)) = (target, op, v) {
                    return Ok(QueryAst::Term {
                        field: field.clone(),
                        value: Value::Int(*i),
                        case_insensitive: false,
                    });
                }
                let text = value_text(v).unwrap_or_default();
                let mut ps = pieces(&text);
                if matches!(op, Op::Contains | Op::EndsWith) {
                    ps.insert(0, Piece::Any);
                }
                if matches!(op, Op::Contains | Op::StartsWith) {
                    ps.push(Piece::Any);
                }
                match target {
                    Target::Keyword(field) => Ok(string_match(field, &ps, cased)),
                    Target::Pair { field, path } => Ok(pair_match(field, path, &ps, cased)),
                    Target::SourceIp => {
                        let wild = ps.iter().any(|p| !matches!(p, Piece::Lit(_)));
                        if !wild {
                            if let Ok(ip) = text.parse::<std::net::IpAddr>() {
                                return Ok(QueryAst::Term {
                                    field: SOURCE_IP.into(),
                                    value: Value::Str(ip.to_string()),
                                    case_insensitive: false,
                                });
                            }
                            return Ok(string_match(SOURCE_HOST, &ps, cased));
                        }
                        if could_be_ip(&ps) {
                            return Err(
                                "sourceIPAddress: a pattern that could match an IP address (IPs are stored \
                                        as addresses, not text): use |cidr"
                                    .into(),
                            );
                        }
                        Ok(string_match(SOURCE_HOST, &ps, cased))
                    }
                    Target::Ip(field) => {
                        let wild = ps.iter().any(|p| !matches!(p, Piece::Lit(_)));
                        match text.parse::<std::net::IpAddr>() {
                            Ok(ip) if !wild => Ok(QueryAst::Term {
                                field: field.clone(),
                                value: Value::Str(ip.to_string()),
                                case_insensitive: false,
                            }),
                            _ => Err("an IP address field: give an address, or a network with |cidr".into()),
                        }
                    }
                    Target::Bool(_) => {
                        Err("this field is a boolean: give true or false, without modifiers".into())
                    }
                    Target::Number(_) => {
                        Err("this field is a number: give a whole number, or use lt/lte/gt/gte".into())
                    }
                }
            }
        }
    }
}

/// A Sigma regular expression (PCRE, unanchored: it matches anywhere) as a Lucene one (anchored
/// at both ends), for the subset both mean the same by; anything else is refused, named.
pub fn translate_regex(re: &str, i: bool, m: bool, s: bool) -> Result<String, String> {
    let refuse = |what: &str| Err(format!("regular expression {re:?}: {what} is not supported"));
    let mut body: Vec<char> = re.chars().collect();
    let start_anchor = body.first() == Some(&'^');
    if start_anchor {
        body.remove(0);
    }
    let trailing_backslashes = body.iter().rev().skip(1).take_while(|c| **c == '\\').count();
    let end_anchor = body.last() == Some(&'$') && trailing_backslashes % 2 == 0;
    if end_anchor {
        body.pop();
    }
    let mut out = String::new();
    out.push_str(match (start_anchor, m) {
        (false, _) => ".*",
        (true, false) => "",
        // ^ under m: the start of any line.
        (true, true) => "(.*\n)?",
    });
    let mut k = 0;
    while k < body.len() {
        let c = body[k];
        k += 1;
        match c {
            '\\' => {
                let Some(&n) = body.get(k) else { return refuse("a trailing backslash") };
                k += 1;
                match n {
                    'd' => out.push_str("[0-9]"),
                    'D' => out.push_str("[^0-9]"),
                    'w' => out.push_str("[a-zA-Z0-9_]"),
                    'W' => out.push_str("[^a-zA-Z0-9_]"),
                    's' => out.push_str("[ \t\n\r\u{b}\u{c}]"),
                    'S' => out.push_str("[^ \t\n\r\u{b}\u{c}]"),
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    n if n.is_ascii_alphanumeric() => return refuse(&format!("the escape \\{n}")),
                    n => regex_lit(n, &mut out),
                }
            }
            '.' => out.push_str(if s { "." } else { "[^\n]" }),
            '(' => {
                if body.get(k) == Some(&'?') {
                    if body.get(k + 1) == Some(&':') {
                        k += 2;
                    } else {
                        return refuse("a (?…) group other than (?:…)");
                    }
                }
                out.push('(');
            }
            ')' | '|' => out.push(c),
            '*' | '+' | '?' => {
                if body.get(k) == Some(&'+') {
                    return refuse("a possessive quantifier");
                }
                out.push(c);
            }
            '{' => {
                let rest: String = body[k..].iter().collect();
                let rep = rest.split_once('}').map(|(r, _)| r).filter(|r| {
                    let mut parts = r.splitn(2, ',');
                    let first = parts.next().unwrap_or_default();
                    !first.is_empty()
                        && first.chars().all(|c| c.is_ascii_digit())
                        && parts.next().is_none_or(|p| p.chars().all(|c| c.is_ascii_digit()))
                });
                match rep {
                    Some(r) => {
                        out.push('{');
                        out.push_str(r);
                        out.push('}');
                        k += r.chars().count() + 1;
                        if body.get(k) == Some(&'+') {
                            return refuse("a possessive quantifier");
                        }
                    }
                    None => out.push_str("\\{"),
                }
            }
            '}' => out.push_str("\\}"),
            '^' | '$' => return refuse("an anchor (^ or $) inside the expression"),
            '[' => {
                k = class(&body, k, i, &mut out)
                    .map_err(|what| format!("regular expression {re:?}: {what} is not supported"))?
            }
            c if i => regex_fold(c, &mut out),
            c => regex_lit(c, &mut out),
        }
    }
    out.push_str(match (end_anchor, m) {
        (false, _) => ".*",
        // $ without m: the end, or before a final newline (as PCRE reads it).
        (true, false) => "\n?",
        (true, true) => "(\n.*)?",
    });
    Ok(out)
}

/// A `[…]` class starting after the `[` at `k`; returns the index after its `]`.
fn class(body: &[char], mut k: usize, i: bool, out: &mut String) -> Result<usize, String> {
    out.push('[');
    if body.get(k) == Some(&'^') {
        out.push('^');
        k += 1;
    }
    let mut first = true;
    loop {
        let Some(&c) = body.get(k) else { return Err("an unterminated [class]".into()) };
        k += 1;
        if c == ']' && !first {
            out.push(']');
            return Ok(k);
        }
        first = false;
        let c = match c {
            '\\' => {
                let Some(&n) = body.get(k) else { return Err("a trailing backslash".into()) };
                k += 1;
                if n.is_ascii_alphanumeric() {
                    return Err(format!("the escape \\{n} inside a class"));
                }
                n
            }
            '[' if body.get(k) == Some(&':') => return Err("a POSIX [:class:]".into()),
            c => c,
        };
        // A range a-z.
        if body.get(k) == Some(&'-') && body.get(k + 1).is_some_and(|e| *e != ']') {
            let mut end = body[k + 1];
            k += 2;
            if end == '\\' {
                let Some(&n) = body.get(k) else { return Err("a trailing backslash".into()) };
                k += 1;
                end = n;
            }
            push_class_char(c, out);
            out.push('-');
            push_class_char(end, out);
            if i {
                let same = |f: fn(&char) -> bool| f(&c) && f(&end);
                if same(char::is_ascii_lowercase) || same(char::is_ascii_uppercase) {
                    let other = |x: char| {
                        if x.is_ascii_lowercase() {
                            x.to_ascii_uppercase()
                        } else {
                            x.to_ascii_lowercase()
                        }
                    };
                    push_class_char(other(c), out);
                    out.push('-');
                    push_class_char(other(end), out);
                } else if c.is_alphabetic() || end.is_alphabetic() {
                    return Err(format!("the range {c}-{end} under the i modifier"));
                }
            }
            continue;
        }
        if i {
            case_forms(c).into_iter().for_each(|f| push_class_char(f, out));
        } else {
            push_class_char(c, out);
        }
    }
}

/// A literal character inside a class: ASCII punctuation escaped, except `<` and `>` (plain
/// inside a Lucene class, and the embedded store's regex engine reads `\<` as a word boundary).
fn push_class_char(c: char, out: &mut String) {
    if c.is_ascii() && !c.is_ascii_alphanumeric() && c != '<' && c != '>' {
        out.push('\\');
    }
    out.push(c);
}

impl Compiler<'_> {
    fn condition(&self, text: &str, at: Pos) -> Result<QueryAst, SigmaError> {
        let here = |offset: usize| Pos { line: at.line, column: at.column + offset };
        let cond = crate::condition::parse(text)
            .map_err(|e| self.err(here(e.offset), "condition", format!("{:?}: {}", text, e.reason)))?;
        self.cond(&cond, text, at)
    }

    fn cond(&self, c: &crate::condition::Cond, text: &str, at: Pos) -> Result<QueryAst, SigmaError> {
        use crate::condition::Cond;
        let searches = &self.rule.detection.searches;
        Ok(match c {
            Cond::Search(name) => match searches.iter().find(|s| s.name == *name) {
                Some(s) => self.search(s)?,
                None => {
                    return Err(self.err(
                        at,
                        "condition",
                        format!("{text:?}: no search identifier is named {name:?}"),
                    ))
                }
            },
            Cond::And(parts) => {
                QueryAst::all(parts.iter().map(|p| self.cond(p, text, at)).collect::<Result<_, _>>()?)
            }
            Cond::Or(parts) => {
                QueryAst::any(parts.iter().map(|p| self.cond(p, text, at)).collect::<Result<_, _>>()?)
            }
            Cond::Not(inner) => QueryAst::negate(self.cond(inner, text, at)?),
            Cond::Of { all, pattern } => {
                let chosen: Vec<&Search> = searches
                    .iter()
                    .filter(|s| match pattern {
                        None => !s.name.starts_with('_'),
                        Some(p) => crate::condition::glob(p, &s.name),
                    })
                    .collect();
                if chosen.is_empty() {
                    let what = pattern.as_deref().unwrap_or("them");
                    return Err(self.err(
                        at,
                        "condition",
                        format!("{text:?}: {what:?} names no search identifier"),
                    ));
                }
                let qs = chosen.iter().map(|s| self.search(s)).collect::<Result<Vec<_>, _>>()?;
                if *all {
                    QueryAst::all(qs)
                } else {
                    QueryAst::any(qs)
                }
            }
        })
    }
}
