//! The matchers MozDef users know, as Rust values.
//!
//! Each matcher is plain data; it is checked (CIDR syntax, query-string syntax, empty field names)
//! when the query is compiled, so building a query never fails half-way and an invalid alert is
//! reported with the matcher at fault.
//!
//! ```
//! use tripline_dsl::prelude::*;
//!
//! let q = SearchQuery::minutes(20)
//!     .must((TermMatch("details.eventverb", "Describe"), ExistsMatch("details.source")))
//!     .must_not(TermMatch("details.errorcode", "AccessDenied"));
//! assert!(q.compile(tripline_dsl::parse_timestamp("2026-11-23T12:00:00Z").unwrap()).is_ok());
//! ```

use crate::ast::{Bound, QueryAst, Value};
use crate::DslError;

/// A matcher before compilation. All public matchers convert into this.
#[derive(Clone, Debug, PartialEq)]
pub enum Matcher {
    /// See [`TermMatch`].
    Term(String, Value),
    /// See [`TermsMatch`].
    Terms(String, Vec<Value>),
    /// See [`WildcardMatch`].
    Wildcard(String, String),
    /// See [`PhraseMatch`].
    Phrase(String, String),
    /// See [`QueryStringMatch`].
    QueryString(String),
    /// See [`ExistsMatch`].
    Exists(String),
    /// See [`RangeMatch`] and [`LessThanMatch`].
    Range(RangeMatch),
    /// See [`SubnetMatch`].
    Subnet(String, String),
    /// See [`BooleanMatch`].
    Boolean(BooleanMatch),
    /// An already compiled AST node.
    Ast(QueryAst),
}

fn field_ok(field: &str) -> Result<String, DslError> {
    let f = field.trim();
    if f.is_empty() || f.split('.').any(str::is_empty) {
        return Err(DslError::InvalidField(field.to_string()));
    }
    Ok(f.to_string())
}

fn invalid(matcher: &'static str, reason: String) -> DslError {
    DslError::Invalid { matcher, reason }
}

/// Numbers must be finite: NaN and infinity have no JSON form and order nothing.
fn value_ok(matcher: &'static str, field: &str, v: &Value) -> Result<(), DslError> {
    match v {
        Value::Float(f) if !f.is_finite() => {
            Err(invalid(matcher, format!("{f} is not a finite number (field {field:?})")))
        }
        _ => Ok(()),
    }
}

impl Matcher {
    /// Check the matcher and lower it to the AST.
    pub fn to_ast(&self) -> Result<QueryAst, DslError> {
        Ok(match self {
            Matcher::Term(f, v) => {
                let field = field_ok(f)?;
                value_ok("TermMatch", f, v)?;
                QueryAst::Term { field, value: v.clone(), case_insensitive: false }
            }
            Matcher::Terms(f, vs) => {
                let field = field_ok(f)?;
                if vs.is_empty() {
                    return Err(invalid("TermsMatch", format!("no values given for field {f:?}")));
                }
                for v in vs {
                    value_ok("TermsMatch", f, v)?;
                }
                QueryAst::Terms { field, values: vs.clone() }
            }
            Matcher::Wildcard(f, p) => {
                let field = field_ok(f)?;
                if p.is_empty() {
                    return Err(invalid("WildcardMatch", format!("empty pattern for field {f:?}")));
                }
                if p.ends_with('\\') && p.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1 {
                    return Err(invalid(
                        "WildcardMatch",
                        format!("pattern {p:?} ends in a lone backslash, which escapes nothing"),
                    ));
                }
                QueryAst::Wildcard { field, pattern: p.clone(), case_insensitive: false }
            }
            Matcher::Phrase(f, p) => {
                let field = field_ok(f)?;
                if p.is_empty() {
                    return Err(invalid("PhraseMatch", format!("empty phrase for field {f:?}")));
                }
                QueryAst::Phrase { field, phrase: p.clone() }
            }
            Matcher::QueryString(q) => crate::query_string::parse(q)?,
            Matcher::Exists(f) => QueryAst::Exists { field: field_ok(f)? },
            Matcher::Range(r) => {
                let field = field_ok(&r.field)?;
                let matcher = r.matcher;
                if r.lower.is_none() && r.upper.is_none() {
                    return Err(invalid(matcher, format!("no bound given for field {:?}", r.field)));
                }
                for b in r.lower.iter().chain(&r.upper) {
                    value_ok(matcher, &r.field, &b.value)?;
                    if let Value::Str(s) = &b.value {
                        if crate::query_string::is_date_math(s) {
                            return Err(invalid(
                                matcher,
                                format!(
                                    "date math {s:?} would be read against the store's clock: use an \
                                     absolute timestamp, or SearchQuery's time window"
                                ),
                            ));
                        }
                    }
                }
                QueryAst::Range { field, lower: r.lower.clone(), upper: r.upper.clone() }
            }
            Matcher::Subnet(f, cidr) => {
                let field = field_ok(f)?;
                let net = parse_cidr(cidr)?;
                QueryAst::Subnet { field, net }
            }
            Matcher::Boolean(b) => b.to_ast()?,
            Matcher::Ast(a) => a.clone(),
        })
    }
}

pub use crate::ast::parse_cidr;

/// Exact match on a keyword, number, boolean or date field; every word present on `summary`.
/// MozDef: `TermMatch('details.eventname', 'CreateUser')`.
#[derive(Clone, Debug, PartialEq)]
#[allow(non_snake_case)]
pub struct TermMatch<F, V>(pub F, pub V);

/// Any of the values. MozDef: `TermsMatch('category', ['bro', 'zeek'])`.
#[derive(Clone, Debug, PartialEq)]
pub struct TermsMatch<F, I>(pub F, pub I);

/// `*` and `?` wildcards over the value. MozDef: `WildcardMatch('details.eventname', 'Describe*')`.
#[derive(Clone, Debug, PartialEq)]
pub struct WildcardMatch<F, P>(pub F, pub P);

/// Words in order (`match_phrase`). MozDef: `PhraseMatch('summary', 'failed login')`.
#[derive(Clone, Debug, PartialEq)]
pub struct PhraseMatch<F, P>(pub F, pub P);

/// A Lucene query string in Tripline's supported subset (see [`crate::query_string`]).
#[derive(Clone, Debug, PartialEq)]
pub struct QueryStringMatch<Q>(pub Q);

/// The field is present and not null. MozDef: `ExistsMatch('details.sourceipaddress')`.
#[derive(Clone, Debug, PartialEq)]
pub struct ExistsMatch<F>(pub F);

/// The field is strictly less than the value. MozDef: `LessThanMatch('utctimestamp', ts)`.
#[derive(Clone, Debug, PartialEq)]
pub struct LessThanMatch<F, V>(pub F, pub V);

/// The `ip` field lies in an IPv4 or IPv6 network.
/// MozDef: `SubnetMatch('details.sourceipaddress', '10.0.0.0/8')`.
#[derive(Clone, Debug, PartialEq)]
pub struct SubnetMatch<F, C>(pub F, pub C);

/// A range with either bound optional, each inclusive or exclusive.
///
/// ```
/// use tripline_dsl::prelude::*;
/// let big = RangeMatch::new("details.bytes").gte(5000);
/// let ports = RangeMatch::between("details.destinationport", 1, 1023);
/// let _ = (big, ports);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RangeMatch {
    matcher: &'static str,
    field: String,
    lower: Option<Bound>,
    upper: Option<Bound>,
}

impl RangeMatch {
    /// A range on `field` with no bounds yet (add at least one).
    pub fn new(field: impl Into<String>) -> Self {
        RangeMatch { matcher: "RangeMatch", field: field.into(), lower: None, upper: None }
    }
    /// MozDef's `RangeMatch(key, from, to)`: both bounds inclusive.
    pub fn between(field: impl Into<String>, from: impl Into<Value>, to: impl Into<Value>) -> Self {
        RangeMatch::new(field).gte(from).lte(to)
    }
    /// Lower bound, inclusive.
    pub fn gte(mut self, v: impl Into<Value>) -> Self {
        self.lower = Some(Bound::inclusive(v));
        self
    }
    /// Lower bound, exclusive.
    pub fn gt(mut self, v: impl Into<Value>) -> Self {
        self.lower = Some(Bound::exclusive(v));
        self
    }
    /// Upper bound, inclusive.
    pub fn lte(mut self, v: impl Into<Value>) -> Self {
        self.upper = Some(Bound::inclusive(v));
        self
    }
    /// Upper bound, exclusive.
    pub fn lt(mut self, v: impl Into<Value>) -> Self {
        self.upper = Some(Bound::exclusive(v));
        self
    }
}

/// A nested boolean: MozDef's `BooleanMatch(must=[..], should=[..], must_not=[..])`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct BooleanMatch {
    pub(crate) must: Vec<Matcher>,
    pub(crate) should: Vec<Matcher>,
    pub(crate) must_not: Vec<Matcher>,
}

impl BooleanMatch {
    /// An empty boolean (matches everything until clauses are added).
    pub fn new() -> Self {
        Self::default()
    }
    /// All of these must hold.
    pub fn must(mut self, c: impl Clauses) -> Self {
        c.push_into(&mut self.must);
        self
    }
    /// At least one of these must hold.
    pub fn should(mut self, c: impl Clauses) -> Self {
        c.push_into(&mut self.should);
        self
    }
    /// None of these may hold.
    pub fn must_not(mut self, c: impl Clauses) -> Self {
        c.push_into(&mut self.must_not);
        self
    }

    pub(crate) fn to_ast(&self) -> Result<QueryAst, DslError> {
        let lower = |v: &[Matcher]| v.iter().map(Matcher::to_ast).collect::<Result<Vec<_>, _>>();
        let (must, should, must_not) = (lower(&self.must)?, lower(&self.should)?, lower(&self.must_not)?);
        Ok(if should.is_empty() && must_not.is_empty() {
            QueryAst::all(must)
        } else {
            QueryAst::Bool { must, should, must_not }
        })
    }
}

/// One clause or many: what `must`, `should` and `must_not` accept.
///
/// Implemented for every matcher, for [`QueryAst`], for `Vec`s and arrays of clauses, and for
/// tuples of up to eight clauses of different kinds.
pub trait Clauses {
    /// Append the clauses to `out`.
    fn push_into(self, out: &mut Vec<Matcher>);
}

impl Clauses for Matcher {
    fn push_into(self, out: &mut Vec<Matcher>) {
        out.push(self);
    }
}
impl Clauses for QueryAst {
    fn push_into(self, out: &mut Vec<Matcher>) {
        out.push(Matcher::Ast(self));
    }
}
impl Clauses for BooleanMatch {
    fn push_into(self, out: &mut Vec<Matcher>) {
        out.push(Matcher::Boolean(self));
    }
}
impl Clauses for RangeMatch {
    fn push_into(self, out: &mut Vec<Matcher>) {
        out.push(Matcher::Range(self));
    }
}
impl<F: Into<String>, V: Into<Value>> Clauses for TermMatch<F, V> {
    fn push_into(self, out: &mut Vec<Matcher>) {
        out.push(Matcher::Term(self.0.into(), self.1.into()));
    }
}
impl<F: Into<String>, I: IntoIterator<Item = V>, V: Into<Value>> Clauses for TermsMatch<F, I> {
    fn push_into(self, out: &mut Vec<Matcher>) {
        out.push(Matcher::Terms(self.0.into(), self.1.into_iter().map(Into::into).collect()));
    }
}
impl<F: Into<String>, P: Into<String>> Clauses for WildcardMatch<F, P> {
    fn push_into(self, out: &mut Vec<Matcher>) {
        out.push(Matcher::Wildcard(self.0.into(), self.1.into()));
    }
}
impl<F: Into<String>, P: Into<String>> Clauses for PhraseMatch<F, P> {
    fn push_into(self, out: &mut Vec<Matcher>) {
        out.push(Matcher::Phrase(self.0.into(), self.1.into()));
    }
}
impl<Q: Into<String>> Clauses for QueryStringMatch<Q> {
    fn push_into(self, out: &mut Vec<Matcher>) {
        out.push(Matcher::QueryString(self.0.into()));
    }
}
impl<F: Into<String>> Clauses for ExistsMatch<F> {
    fn push_into(self, out: &mut Vec<Matcher>) {
        out.push(Matcher::Exists(self.0.into()));
    }
}
impl<F: Into<String>, V: Into<Value>> Clauses for LessThanMatch<F, V> {
    fn push_into(self, out: &mut Vec<Matcher>) {
        let mut r = RangeMatch::new(self.0).lt(self.1);
        r.matcher = "LessThanMatch";
        out.push(Matcher::Range(r));
    }
}
impl<F: Into<String>, C: Into<String>> Clauses for SubnetMatch<F, C> {
    fn push_into(self, out: &mut Vec<Matcher>) {
        out.push(Matcher::Subnet(self.0.into(), self.1.into()));
    }
}
impl<T: Clauses> Clauses for Vec<T> {
    fn push_into(self, out: &mut Vec<Matcher>) {
        for c in self {
            c.push_into(out);
        }
    }
}
impl<T: Clauses, const N: usize> Clauses for [T; N] {
    fn push_into(self, out: &mut Vec<Matcher>) {
        for c in self {
            c.push_into(out);
        }
    }
}
impl<T: Clauses> Clauses for Option<T> {
    fn push_into(self, out: &mut Vec<Matcher>) {
        if let Some(c) = self {
            c.push_into(out);
        }
    }
}

macro_rules! tuple_clauses {
    ($($name:ident),+) => {
        impl<$($name: Clauses),+> Clauses for ($($name,)+) {
            #[allow(non_snake_case)]
            fn push_into(self, out: &mut Vec<Matcher>) {
                let ($($name,)+) = self;
                $($name.push_into(out);)+
            }
        }
    };
}
tuple_clauses!(A);
tuple_clauses!(A, B);
tuple_clauses!(A, B, C);
tuple_clauses!(A, B, C, D);
tuple_clauses!(A, B, C, D, E);
tuple_clauses!(A, B, C, D, E, G);
tuple_clauses!(A, B, C, D, E, G, H);
tuple_clauses!(A, B, C, D, E, G, H, I);

/// Lower any clause to the AST directly (handy in tests and for nesting).
pub fn to_ast(c: impl Clauses) -> Result<QueryAst, DslError> {
    let mut v = Vec::new();
    c.push_into(&mut v);
    let asts = v.iter().map(Matcher::to_ast).collect::<Result<Vec<_>, _>>()?;
    Ok(QueryAst::all(asts))
}
