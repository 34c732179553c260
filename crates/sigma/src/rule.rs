//! A Sigma rule read from YAML: metadata, log source and detection, every node with its position.
//! Nothing is translated here; [`compile`](fn@crate::compile) does that.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use crate::error::{Pos, SigmaError};

/// A Sigma detection rule (Sigma 2 specification), as written.
#[derive(Debug, Clone, PartialEq)]
pub struct SigmaRule {
    /// The source name given to [`SigmaRule::parse`] (its file), used in every error.
    pub source: String,
    /// `id` (a UUID by convention), if any.
    pub id: Option<String>,
    /// `title`.
    pub title: String,
    /// `level`, if any.
    pub level: Option<Level>,
    /// `tags` (`attack.t1136`, `attack.persistence`).
    pub tags: Vec<String>,
    /// `status`, if any.
    pub status: Option<Status>,
    /// `logsource`.
    pub logsource: Logsource,
    /// `detection`.
    pub detection: Detection,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `name`: the identifier correlation rules refer to it by (Sigma 2), if any.
    pub name: Option<String>,
    /// `description`, if any.
    pub description: Option<String>,
    /// `fields`: the fields worth showing with a match (CloudTrail names).
    pub fields: Vec<String>,
    /// `tests`: Tripline's test cases with raw logs ([`TestCase`]).
    pub tests: Vec<TestCase>,
}

/// A correlation rule (Sigma 2): counts or orders the matches of other rules per group.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    /// The source name (its file).
    pub source: String,
    /// `id`, if any.
    pub id: Option<String>,
    /// `name`, if any.
    pub name: Option<String>,
    /// `title`.
    pub title: String,
    /// `description`, if any.
    pub description: Option<String>,
    /// `level`, if any.
    pub level: Option<Level>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `status`, if any.
    pub status: Option<Status>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `correlation.type`.
    pub kind: CorrelationKind,
    /// `correlation.rules`: names or ids of the rules whose matches are correlated.
    pub rules: Vec<(String, Pos)>,
    /// `correlation.group-by`: CloudTrail field names (empty: one group of everything).
    pub group_by: Vec<(String, Pos)>,
    /// `correlation.timespan`, in seconds.
    pub timespan_secs: u64,
    /// `correlation.timespan` as written (`10m`).
    pub timespan: String,
    /// `correlation.condition` (none for `temporal`: every rule matched).
    pub condition: Option<CountCondition>,
    /// `correlation.generate`: whether the referred rules also alert on their own.
    pub generate: bool,
    /// `tests`: Tripline's test cases with raw logs.
    pub tests: Vec<TestCase>,
    /// Where `correlation` is.
    pub pos: Pos,
}

/// `correlation.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationKind {
    /// `event_count`: how many matching events per group.
    EventCount,
    /// `value_count`: how many distinct values of a field per group.
    ValueCount,
    /// `temporal`: every referred rule matched in the group within the timespan.
    Temporal,
    /// `temporal_ordered`: and in the order listed.
    TemporalOrdered,
}

impl CorrelationKind {
    /// As Sigma writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            CorrelationKind::EventCount => "event_count",
            CorrelationKind::ValueCount => "value_count",
            CorrelationKind::Temporal => "temporal",
            CorrelationKind::TemporalOrdered => "temporal_ordered",
        }
    }
}

/// `correlation.condition`: bounds on a count (`gte: 10`), and for `value_count` the field whose
/// distinct values are counted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CountCondition {
    /// The counted field (`value_count`), CloudTrail's name.
    pub field: Option<(String, Pos)>,
    /// The least count that matches.
    pub min: Option<u64>,
    /// The greatest count that matches.
    pub max: Option<u64>,
    /// Where `condition` is.
    pub pos: Pos,
}

impl CountCondition {
    /// Whether `n` satisfies the bounds.
    pub fn holds(&self, n: u64) -> bool {
        self.min.is_none_or(|m| n >= m) && self.max.is_none_or(|m| n <= m)
    }
}

/// One YAML document of a rule file.
#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    /// A detection rule.
    Rule(Box<SigmaRule>),
    /// A correlation rule.
    Correlation(Box<Correlation>),
}

/// A test case carried by a rule: raw log records, the clock to run at, what must happen.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    /// What it shows.
    pub name: String,
    /// The run's clock; `None`: one minute after the latest record's `eventTime`.
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    /// Raw records (CloudTrail records, GuardDuty findings, …) written in the case.
    pub records: Vec<serde_json::Value>,
    /// Log files, relative to the rule's file.
    pub files: Vec<String>,
    /// The outcome.
    pub expect: Expect,
    /// Where the case is.
    pub pos: Pos,
}

/// What a test case expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// `expect: no alert`.
    NoAlert,
    /// `expect: alert` (one), or `expect: {alerts: N, group: G, count: C}`.
    Alerts {
        /// How many alerts.
        alerts: usize,
        /// The group (correlations, aggregations): the alert's key.
        group: Option<String>,
        /// The group's event (or value) count.
        count: Option<u64>,
    },
}

/// `level`: how critical a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `informational`.
    Informational,
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
    /// `critical`.
    Critical,
}

/// `status`: how mature the rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `stable`.
    Stable,
    /// `test`.
    Test,
    /// `experimental`.
    Experimental,
    /// `deprecated`.
    Deprecated,
    /// `unsupported`.
    Unsupported,
}

/// `logsource`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Logsource {
    /// `product` (`aws`).
    pub product: Option<String>,
    /// `service` (`cloudtrail`).
    pub service: Option<String>,
    /// `category`.
    pub category: Option<String>,
    /// Where `logsource` is.
    pub pos: Pos,
}

/// `detection`: the search identifiers and the condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Search identifiers, in the order written.
    pub searches: Vec<Search>,
    /// `condition`: one or more (a list is OR-ed), each with its position.
    pub conditions: Vec<(String, Pos)>,
    /// Where the `detection` key is.
    pub pos: Pos,
}

/// One search identifier (`selection: …`).
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// Its name.
    pub name: String,
    /// What it matches.
    pub body: SearchBody,
    /// Where its name is.
    pub pos: Pos,
}

/// The shapes a search identifier can take.
#[derive(Debug, Clone, PartialEq)]
pub enum SearchBody {
    /// A map: every field condition holds (AND).
    Map(Vec<FieldMatch>),
    /// A list of maps: at least one map holds (OR).
    AnyMap(Vec<Vec<FieldMatch>>),
    /// A list of plain values searched across the whole event (keywords, OR).
    Keywords(Vec<(SigmaValue, Pos)>),
}

/// `field|mod1|mod2: value or values`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMatch {
    /// The field as written (CloudTrail's name: `eventName`); empty for keywords with modifiers (`'|all':`).
    pub field: String,
    /// The modifiers, in order, as written.
    pub modifiers: Vec<String>,
    /// The values (one for a scalar), each with its position.
    pub values: Vec<(SigmaValue, Pos)>,
    /// Where the key is.
    pub pos: Pos,
}

impl FieldMatch {
    /// `field|mod1|mod2`, as written.
    pub fn key(&self) -> String {
        std::iter::once(self.field.as_str())
            .chain(self.modifiers.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("|")
    }
}

/// A value in a detection.
#[derive(Debug, Clone, PartialEq)]
pub enum SigmaValue {
    /// A string (wildcards `*` `?` and escapes `\` still in it).
    Str(String),
    /// A whole number.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `null`: the field is absent.
    Null,
}

fn pos(node: &MarkedYaml<'_>) -> Pos {
    Pos { line: node.span.start.line(), column: node.span.start.col() + 1 }
}

struct Reader<'a> {
    source: &'a str,
    /// The rule text as characters (spans count characters).
    chars: Vec<char>,
}

type Entries<'n, 'i> = Vec<(&'n MarkedYaml<'i>, &'n MarkedYaml<'i>)>;

impl Reader<'_> {
    fn err(&self, at: Pos, construct: impl Into<String>, reason: impl Into<String>) -> SigmaError {
        at.err(self.source, construct, reason)
    }

    fn kind(node: &MarkedYaml<'_>) -> &'static str {
        match &node.data {
            YamlData::Mapping(_) => "a map",
            YamlData::Sequence(_) => "a list",
            YamlData::Value(_) | YamlData::Representation(..) => "a scalar",
            YamlData::Tagged(..) => "a tagged node",
            YamlData::Alias(_) => "an alias",
            YamlData::BadValue => "a bad value",
        }
    }

    fn mapping<'n, 'i>(
        &self,
        node: &'n MarkedYaml<'i>,
        construct: &str,
    ) -> Result<Entries<'n, 'i>, SigmaError> {
        match &node.data {
            YamlData::Mapping(m) => Ok(m.iter().collect()),
            _ => Err(self.err(pos(node), construct, format!("expected a map, found {}", Self::kind(node)))),
        }
    }

    fn key(&self, node: &MarkedYaml<'_>, construct: &str) -> Result<String, SigmaError> {
        match &node.data {
            YamlData::Value(Scalar::String(s)) => Ok(s.to_string()),
            _ => Err(self.err(
                pos(node),
                construct,
                format!("keys must be strings, found {}", Self::kind(node)),
            )),
        }
    }

    fn value(&self, node: &MarkedYaml<'_>, construct: &str) -> Result<SigmaValue, SigmaError> {
        match &node.data {
            YamlData::Value(Scalar::String(s)) => Ok(SigmaValue::Str(s.to_string())),
            // A number is kept as a number only when it is written as the number prints
            // (`42`, `1.5`); otherwise as the text written (`012345678901`, an account id with its
            // leading zero; `1.10`; `0x1F`), so that matching it as text matches what the rule says.
            YamlData::Value(Scalar::Integer(i)) => Ok(self.number(node, i.to_string(), SigmaValue::Int(*i))),
            YamlData::Value(Scalar::FloatingPoint(f)) => {
                Ok(self.number(node, f.into_inner().to_string(), SigmaValue::Float(f.into_inner())))
            }
            YamlData::Value(Scalar::Boolean(b)) => Ok(SigmaValue::Bool(*b)),
            YamlData::Value(Scalar::Null) => Ok(SigmaValue::Null),
            _ => Err(self.err(pos(node), construct, format!("expected a value, found {}", Self::kind(node)))),
        }
    }

    fn number(&self, node: &MarkedYaml<'_>, printed: String, value: SigmaValue) -> SigmaValue {
        let (start, end) = (node.span.start.index(), node.span.end.index());
        let written: String = self.chars.get(start..end).unwrap_or_default().iter().collect();
        let written = written.trim();
        if written == printed {
            value
        } else {
            SigmaValue::Str(written.to_string())
        }
    }

    fn string(&self, node: &MarkedYaml<'_>, construct: &str) -> Result<String, SigmaError> {
        match self.value(node, construct)? {
            SigmaValue::Str(s) => Ok(s),
            SigmaValue::Int(i) => Ok(i.to_string()),
            _ => Err(self.err(pos(node), construct, "expected a string")),
        }
    }

    fn strings(&self, node: &MarkedYaml<'_>, construct: &str) -> Result<Vec<String>, SigmaError> {
        match &node.data {
            YamlData::Sequence(items) => items.iter().map(|i| self.string(i, construct)).collect(),
            _ => Ok(vec![self.string(node, construct)?]),
        }
    }
}

/// The most test cases one rule may carry, and the most records one case may hold: rule files
/// come from users, and a case is run in memory.
pub const MAX_CASES: usize = 1_000;

/// Read every YAML document of a rule file: detection rules and correlation rules (Sigma 2
/// allows several, separated by `---`; `action: global` collections are refused).
pub fn parse_documents(source: &str, text: &str) -> Result<Vec<Document>, SigmaError> {
    let r = Reader { source, chars: text.chars().collect() };
    let docs = MarkedYaml::load_from_str(text).map_err(|e| {
        let m = e.marker();
        Pos { line: m.line(), column: m.col() + 1 }.err(source, "YAML", e.info())
    })?;
    if docs.is_empty() {
        return Err(r.err(Pos { line: 1, column: 1 }, "YAML", "the file holds no rule"));
    }
    docs.iter().map(|d| r.document(d)).collect()
}

impl SigmaRule {
    /// Read one Sigma detection rule from YAML text. `source` names it in errors (its file name).
    pub fn parse(source: &str, text: &str) -> Result<SigmaRule, SigmaError> {
        let r = Reader { source, chars: text.chars().collect() };
        let docs = MarkedYaml::load_from_str(text).map_err(|e| {
            let m = e.marker();
            Pos { line: m.line(), column: m.col() + 1 }.err(source, "YAML", e.info())
        })?;
        let doc = match docs.as_slice() {
            [one] => one,
            [] => return Err(r.err(Pos { line: 1, column: 1 }, "YAML", "the file holds no rule")),
            [_, second, ..] => {
                return Err(r.err(
                    pos(second),
                    "YAML",
                    "more than one YAML document: read rule files with parse_documents",
                ))
            }
        };
        match r.document(doc)? {
            Document::Rule(rule) => Ok(*rule),
            Document::Correlation(c) => {
                Err(r.err(c.pos, "correlation", "a correlation rule, not a detection rule"))
            }
        }
    }
}

/// The metadata every kind of rule shares.
#[derive(Default)]
struct Common {
    id: Option<String>,
    name: Option<String>,
    title: Option<String>,
    description: Option<String>,
    level: Option<Level>,
    tags: Vec<String>,
    status: Option<Status>,
    falsepositives: Vec<String>,
    fields: Vec<String>,
    tests: Vec<TestCase>,
}

impl Reader<'_> {
    fn document(&self, doc: &MarkedYaml<'_>) -> Result<Document, SigmaError> {
        let r = self;
        let top = r.mapping(doc, "rule")?;
        let mut c = Common::default();
        let mut detection = None;
        let mut logsource = None;
        let mut correlation = None;
        for (k, v) in top {
            let key = r.key(k, "rule")?;
            match key.as_str() {
                "title" => c.title = Some(r.string(v, "title")?),
                "id" => c.id = Some(r.string(v, "id")?),
                "name" => c.name = Some(r.string(v, "name")?),
                "description" => c.description = Some(r.string(v, "description")?),
                "tags" => c.tags = r.strings(v, "tags")?,
                "fields" => c.fields = r.strings(v, "fields")?,
                "falsepositives" => c.falsepositives = r.strings(v, "falsepositives")?,
                "tests" => c.tests = r.cases(v)?,
                "level" => {
                    let s = r.string(v, "level")?;
                    c.level = Some(match s.as_str() {
                        "informational" => Level::Informational,
                        "low" => Level::Low,
                        "medium" => Level::Medium,
                        "high" => Level::High,
                        "critical" => Level::Critical,
                        _ => {
                            return Err(r.err(
                                pos(v),
                                "level",
                                format!("{s:?} is not one of informational, low, medium, high, critical"),
                            ))
                        }
                    });
                }
                "status" => {
                    let s = r.string(v, "status")?;
                    c.status = Some(match s.as_str() {
                        "stable" => Status::Stable,
                        "test" => Status::Test,
                        "experimental" => Status::Experimental,
                        "deprecated" => Status::Deprecated,
                        "unsupported" => Status::Unsupported,
                        _ => {
                            return Err(r.err(
                                pos(v),
                                "status",
                                format!(
                                    "{s:?} is not one of stable, test, experimental, deprecated, unsupported"
                                ),
                            ))
                        }
                    });
                }
                "logsource" => logsource = Some(r.logsource(v)?),
                "detection" => detection = Some(r.detection(v, pos(k))?),
                "correlation" => correlation = Some((v, pos(k))),
                "filter" => return Err(r.err(pos(k), "filter", "Sigma filters are not supported yet")),
                "action" => {
                    return Err(r.err(
                        pos(k),
                        "action",
                        "rule collections (action: global, …) are not supported",
                    ))
                }
                // description, author, references, date, modified, fields, license, related, name,
                // taxonomy, scope and custom attributes: kept by nobody yet, harmless.
                _ => {}
            }
        }
        let at = pos(doc);
        let title = c.title.take().ok_or_else(|| r.err(at, "title", "a rule needs a title"))?;
        if let Some((node, cpos)) = correlation {
            if detection.is_some() || logsource.is_some() {
                return Err(r.err(cpos, "correlation", "a correlation rule has no detection or logsource"));
            }
            return Ok(Document::Correlation(Box::new(r.correlation(node, cpos, title, c)?)));
        }
        Ok(Document::Rule(Box::new(SigmaRule {
            source: self.source.to_string(),
            id: c.id,
            title,
            level: c.level,
            tags: c.tags,
            status: c.status,
            logsource: logsource.ok_or_else(|| r.err(at, "logsource", "a rule needs a logsource"))?,
            detection: detection.ok_or_else(|| r.err(at, "detection", "a rule needs a detection"))?,
            falsepositives: c.falsepositives,
            name: c.name,
            description: c.description,
            fields: c.fields,
            tests: c.tests,
        })))
    }
}

impl Reader<'_> {
    fn logsource(&self, node: &MarkedYaml<'_>) -> Result<Logsource, SigmaError> {
        let mut ls = Logsource { pos: pos(node), ..Logsource::default() };
        for (k, v) in self.mapping(node, "logsource")? {
            let key = self.key(k, "logsource")?;
            let construct = format!("logsource.{key}");
            match key.as_str() {
                "product" => ls.product = Some(self.string(v, &construct)?),
                "service" => ls.service = Some(self.string(v, &construct)?),
                "category" => ls.category = Some(self.string(v, &construct)?),
                "definition" => {}
                _ => {
                    return Err(self.err(
                        pos(k),
                        construct,
                        "unknown logsource attribute (product, service, category, definition)",
                    ))
                }
            }
        }
        Ok(ls)
    }

    fn detection(&self, node: &MarkedYaml<'_>, at: Pos) -> Result<Detection, SigmaError> {
        let mut d = Detection { searches: vec![], conditions: vec![], pos: at };
        for (k, v) in self.mapping(node, "detection")? {
            let name = self.key(k, "detection")?;
            match name.as_str() {
                "condition" => {
                    d.conditions = match &v.data {
                        YamlData::Sequence(items) => items
                            .iter()
                            .map(|i| Ok((self.string(i, "condition")?, pos(i))))
                            .collect::<Result<_, SigmaError>>()?,
                        _ => vec![(self.string(v, "condition")?, pos(v))],
                    };
                    if d.conditions.is_empty() {
                        return Err(self.err(pos(v), "condition", "an empty list of conditions"));
                    }
                }
                "timeframe" => {
                    return Err(self.err(
                        pos(k),
                        "detection.timeframe",
                        "timeframe is Sigma 1 aggregation; use a correlation rule (not supported yet)",
                    ))
                }
                _ => {
                    let construct = format!("detection.{name}");
                    let body = self.search(v, &construct)?;
                    d.searches.push(Search { name, body, pos: pos(k) });
                }
            }
        }
        if d.conditions.is_empty() {
            return Err(self.err(d.pos, "detection", "a detection needs a condition"));
        }
        Ok(d)
    }

    fn search(&self, node: &MarkedYaml<'_>, construct: &str) -> Result<SearchBody, SigmaError> {
        match &node.data {
            YamlData::Mapping(_) => Ok(SearchBody::Map(self.field_map(node, construct)?)),
            YamlData::Sequence(items) if items.is_empty() => {
                Err(self.err(pos(node), construct, "an empty list matches nothing; remove it"))
            }
            YamlData::Sequence(items) if items.iter().all(|i| matches!(i.data, YamlData::Mapping(_))) => {
                Ok(SearchBody::AnyMap(
                    items.iter().map(|i| self.field_map(i, construct)).collect::<Result<_, _>>()?,
                ))
            }
            YamlData::Sequence(items) => Ok(SearchBody::Keywords(
                items
                    .iter()
                    .map(|i| Ok((self.value(i, construct)?, pos(i))))
                    .collect::<Result<_, SigmaError>>()?,
            )),
            _ => Ok(SearchBody::Keywords(vec![(self.value(node, construct)?, pos(node))])),
        }
    }

    fn field_map(&self, node: &MarkedYaml<'_>, construct: &str) -> Result<Vec<FieldMatch>, SigmaError> {
        let entries = self.mapping(node, construct)?;
        if entries.is_empty() {
            return Err(self.err(pos(node), construct, "an empty map; remove it"));
        }
        entries
            .into_iter()
            .map(|(k, v)| {
                let key = self.key(k, construct)?;
                let mut parts = key.split('|');
                let field = parts.next().unwrap_or_default().to_string();
                let modifiers: Vec<String> = parts.map(str::to_string).collect();
                let here = format!("{construct}.{key}");
                let values = match &v.data {
                    YamlData::Sequence(items) if items.is_empty() => {
                        return Err(self.err(pos(v), here, "an empty list of values matches nothing"))
                    }
                    YamlData::Sequence(items) => items
                        .iter()
                        .map(|i| Ok((self.value(i, &here)?, pos(i))))
                        .collect::<Result<_, SigmaError>>()?,
                    _ => vec![(self.value(v, &here)?, pos(v))],
                };
                Ok(FieldMatch { field, modifiers, values, pos: pos(k) })
            })
            .collect()
    }
}

/// Parse `10s`, `5m`, `1h`, `2d` into seconds (at most 30 days).
pub fn parse_timespan(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("{t:?} is not a timespan such as 30s, 5m, 1h, 2d"))?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("{t:?}: the unit must be s, m, h or d")),
    };
    let secs = n.checked_mul(unit_secs).filter(|s| (1..=30 * 86_400).contains(s));
    secs.ok_or_else(|| format!("{t:?}: a timespan is 1 s to 30 days"))
}

impl Reader<'_> {
    /// A YAML node as JSON (records in test cases); strings stay strings.
    fn json(
        &self,
        node: &MarkedYaml<'_>,
        construct: &str,
        depth: usize,
    ) -> Result<serde_json::Value, SigmaError> {
        use serde_json::Value as J;
        if depth > 64 {
            return Err(self.err(pos(node), construct, "nested deeper than 64 levels"));
        }
        Ok(match &node.data {
            YamlData::Mapping(m) => {
                let mut out = serde_json::Map::new();
                for (k, v) in m.iter() {
                    let key = match self.value(k, construct)? {
                        SigmaValue::Str(s) => s,
                        SigmaValue::Int(i) => i.to_string(),
                        other => format!("{other:?}"),
                    };
                    out.insert(key, self.json(v, construct, depth + 1)?);
                }
                J::Object(out)
            }
            YamlData::Sequence(items) => {
                J::Array(items.iter().map(|i| self.json(i, construct, depth + 1)).collect::<Result<_, _>>()?)
            }
            _ => match self.value(node, construct)? {
                SigmaValue::Str(s) => J::String(s),
                SigmaValue::Int(i) => J::from(i),
                SigmaValue::Float(f) => serde_json::Number::from_f64(f).map(J::Number).unwrap_or(J::Null),
                SigmaValue::Bool(b) => J::Bool(b),
                SigmaValue::Null => J::Null,
            },
        })
    }

    /// `tests:`: a list of cases.
    fn cases(&self, node: &MarkedYaml<'_>) -> Result<Vec<TestCase>, SigmaError> {
        let YamlData::Sequence(items) = &node.data else {
            return Err(self.err(
                pos(node),
                "tests",
                format!("expected a list of cases, found {}", Self::kind(node)),
            ));
        };
        if items.len() > MAX_CASES {
            return Err(self.err(pos(node), "tests", format!("more than {MAX_CASES} cases")));
        }
        items.iter().enumerate().map(|(i, item)| self.case(item, i + 1)).collect()
    }

    fn case(&self, node: &MarkedYaml<'_>, n: usize) -> Result<TestCase, SigmaError> {
        let here = format!("tests[{n}]");
        let mut case = TestCase {
            name: format!("case {n}"),
            at: None,
            records: vec![],
            files: vec![],
            expect: Expect::NoAlert,
            pos: pos(node),
        };
        let mut expect = None;
        for (k, v) in self.mapping(node, &here)? {
            let key = self.key(k, &here)?;
            let construct = format!("{here}.{key}");
            match key.as_str() {
                "name" => case.name = self.string(v, &construct)?,
                "at" => {
                    let text = self.string(v, &construct)?;
                    case.at = Some(tripline_dsl::parse_timestamp(&text).map_err(|e| {
                        self.err(pos(v), &construct, format!("{text:?} is not an RFC 3339 time: {e}"))
                    })?);
                }
                "records" => match self.json(v, &construct, 0)? {
                    serde_json::Value::Array(records) if records.len() <= MAX_CASES * 10 => {
                        // A record may be pasted as CloudTrail writes it: a string of JSON.
                        case.records = records
                            .into_iter()
                            .map(|r| match r {
                                serde_json::Value::String(text) => serde_json::from_str(&text).map_err(|e| {
                                    self.err(
                                        pos(v),
                                        &construct,
                                        format!("a record given as a string is not JSON: {e}"),
                                    )
                                }),
                                other => Ok(other),
                            })
                            .collect::<Result<_, _>>()?;
                    }
                    serde_json::Value::Array(_) => {
                        return Err(self.err(
                            pos(v),
                            construct,
                            format!("more than {} records", MAX_CASES * 10),
                        ))
                    }
                    one @ serde_json::Value::Object(_) => case.records = vec![one],
                    _ => return Err(self.err(pos(v), construct, "expected a list of records")),
                },
                "file" | "files" => case.files = self.strings(v, &construct)?,
                "expect" => expect = Some(self.expect(v, &construct)?),
                _ => {
                    return Err(self.err(
                        pos(k),
                        construct,
                        "unknown test case attribute (name, at, records, file, expect)",
                    ))
                }
            }
        }
        case.expect = expect.ok_or_else(|| {
            self.err(case.pos, &here, "a case needs expect: alert, no alert or {alerts: N}")
        })?;
        if case.records.is_empty() && case.files.is_empty() {
            return Err(self.err(case.pos, here, "a case needs records or a file"));
        }
        Ok(case)
    }

    fn expect(&self, node: &MarkedYaml<'_>, construct: &str) -> Result<Expect, SigmaError> {
        if let YamlData::Mapping(_) = &node.data {
            let (mut alerts, mut group, mut count) = (None, None, None);
            for (k, v) in self.mapping(node, construct)? {
                let key = self.key(k, construct)?;
                let here = format!("{construct}.{key}");
                let number = |v: &MarkedYaml<'_>| match self.value(v, &here)? {
                    SigmaValue::Int(i) if i >= 0 => Ok(i.unsigned_abs()),
                    _ => Err(self.err(pos(v), &here, "expected a whole number, 0 or more")),
                };
                match key.as_str() {
                    "alerts" => alerts = Some(usize::try_from(number(v)?).unwrap_or(usize::MAX)),
                    "group" => group = Some(self.string(v, &here)?),
                    "count" => count = Some(number(v)?),
                    _ => return Err(self.err(pos(k), here, "unknown expectation (alerts, group, count)")),
                }
            }
            let alerts = alerts.unwrap_or(1);
            if alerts == 0 && (group.is_some() || count.is_some()) {
                return Err(self.err(pos(node), construct, "no alert has no group or count"));
            }
            return Ok(if alerts == 0 { Expect::NoAlert } else { Expect::Alerts { alerts, group, count } });
        }
        match self.string(node, construct)?.as_str() {
            "alert" => Ok(Expect::Alerts { alerts: 1, group: None, count: None }),
            "no alert" | "no alerts" | "none" => Ok(Expect::NoAlert),
            other => Err(self.err(
                pos(node),
                construct,
                format!("{other:?}: expected alert, no alert or {{alerts: N, group: G, count: C}}"),
            )),
        }
    }

    fn correlation(
        &self,
        node: &MarkedYaml<'_>,
        at: Pos,
        title: String,
        c: Common,
    ) -> Result<Correlation, SigmaError> {
        let mut kind = None;
        let mut rules = vec![];
        let mut group_by = vec![];
        let mut timespan = None;
        let mut condition = None;
        let mut generate = false;
        for (k, v) in self.mapping(node, "correlation")? {
            let key = self.key(k, "correlation")?;
            let construct = format!("correlation.{key}");
            let positioned = |v: &MarkedYaml<'_>| -> Result<Vec<(String, Pos)>, SigmaError> {
                match &v.data {
                    YamlData::Sequence(items) => {
                        items.iter().map(|i| Ok((self.string(i, &construct)?, pos(i)))).collect()
                    }
                    _ => Ok(vec![(self.string(v, &construct)?, pos(v))]),
                }
            };
            match key.as_str() {
                "type" => {
                    let t = self.string(v, &construct)?;
                    kind = Some(match t.as_str() {
                        "event_count" => CorrelationKind::EventCount,
                        "value_count" => CorrelationKind::ValueCount,
                        "temporal" => CorrelationKind::Temporal,
                        "temporal_ordered" => CorrelationKind::TemporalOrdered,
                        _ => {
                            return Err(self.err(
                                pos(v),
                                construct,
                                format!(
                                "{t:?}: the types are event_count, value_count, temporal, temporal_ordered"
                            ),
                            ))
                        }
                    });
                }
                "rules" => rules = positioned(v)?,
                "group-by" => group_by = positioned(v)?,
                "timespan" | "timeframe" => {
                    let text = self.string(v, &construct)?;
                    let secs = parse_timespan(&text).map_err(|e| self.err(pos(v), &construct, e))?;
                    timespan = Some((text, secs));
                }
                "condition" => condition = Some(self.count_condition(v, &construct)?),
                "generate" => match self.value(v, &construct)? {
                    SigmaValue::Bool(b) => generate = b,
                    _ => return Err(self.err(pos(v), construct, "expected true or false")),
                },
                "aliases" => return Err(self.err(pos(k), construct, "field aliases are not supported yet")),
                _ => return Err(self.err(
                    pos(k),
                    construct,
                    "unknown correlation attribute (type, rules, group-by, timespan, condition, generate)",
                )),
            }
        }
        let kind = kind.ok_or_else(|| self.err(at, "correlation.type", "a correlation needs a type"))?;
        if rules.is_empty() {
            return Err(self.err(at, "correlation.rules", "a correlation needs the rules it correlates"));
        }
        let (timespan, timespan_secs) =
            timespan.ok_or_else(|| self.err(at, "correlation.timespan", "a correlation needs a timespan"))?;
        match (kind, &condition) {
            (CorrelationKind::EventCount | CorrelationKind::ValueCount, None) => {
                return Err(self.err(
                    at,
                    "correlation.condition",
                    "event_count and value_count need a condition",
                ))
            }
            (CorrelationKind::ValueCount, Some(cond)) if cond.field.is_none() => {
                return Err(self.err(
                    cond.pos,
                    "correlation.condition",
                    "value_count needs the field whose values it counts",
                ))
            }
            (CorrelationKind::EventCount, Some(cond)) if cond.field.is_some() => {
                return Err(self.err(
                    cond.pos,
                    "correlation.condition.field",
                    "event_count counts events, not a field's values",
                ))
            }
            _ => {}
        }
        Ok(Correlation {
            source: self.source.to_string(),
            id: c.id,
            name: c.name,
            title,
            description: c.description,
            level: c.level,
            tags: c.tags,
            status: c.status,
            falsepositives: c.falsepositives,
            kind,
            rules,
            group_by,
            timespan_secs,
            timespan,
            condition,
            generate,
            tests: c.tests,
            pos: at,
        })
    }

    fn count_condition(&self, node: &MarkedYaml<'_>, construct: &str) -> Result<CountCondition, SigmaError> {
        let mut cond = CountCondition { pos: pos(node), ..CountCondition::default() };
        for (k, v) in self.mapping(node, construct)? {
            let key = self.key(k, construct)?;
            let here = format!("{construct}.{key}");
            if key == "field" {
                cond.field = Some((self.string(v, &here)?, pos(v)));
                continue;
            }
            let n = match self.value(v, &here)? {
                SigmaValue::Int(i) if i >= 0 => i.unsigned_abs(),
                _ => return Err(self.err(pos(v), here, "expected a whole number, 0 or more")),
            };
            let (min, max) = match key.as_str() {
                "gte" => (Some(n), None),
                "gt" => (Some(n.saturating_add(1)), None),
                "lte" => (None, Some(n)),
                "lt" => match n.checked_sub(1) {
                    Some(m) => (None, Some(m)),
                    None => return Err(self.err(pos(v), here, "lt: 0 can never hold")),
                },
                "eq" => (Some(n), Some(n)),
                _ => return Err(self.err(pos(k), here, "unknown condition (gt, gte, lt, lte, eq, field)")),
            };
            if let Some(m) = min {
                cond.min = Some(cond.min.map_or(m, |x: u64| x.max(m)));
            }
            if let Some(m) = max {
                cond.max = Some(cond.max.map_or(m, |x: u64| x.min(m)));
            }
        }
        if cond.min.is_none() && cond.max.is_none() {
            return Err(self.err(cond.pos, construct, "a condition needs gt, gte, lt, lte or eq"));
        }
        if let (Some(lo), Some(hi)) = (cond.min, cond.max) {
            if lo > hi {
                return Err(self.err(
                    cond.pos,
                    construct,
                    format!("no count is at least {lo} and at most {hi}"),
                ));
            }
        }
        Ok(cond)
    }
}

/// Read a test-case file for an alert written in Rust (`<name>.tests.yml`): `alert: <name>` and
/// `tests:`, the cases written as in a rule.
pub fn parse_case_file(source: &str, text: &str) -> Result<(String, Vec<TestCase>), SigmaError> {
    let r = Reader { source, chars: text.chars().collect() };
    let docs = MarkedYaml::load_from_str(text).map_err(|e| {
        let m = e.marker();
        Pos { line: m.line(), column: m.col() + 1 }.err(source, "YAML", e.info())
    })?;
    let [doc] = docs.as_slice() else {
        return Err(r.err(Pos { line: 1, column: 1 }, "YAML", "a test file is one YAML document"));
    };
    let (mut alert, mut tests) = (None, None);
    for (k, v) in r.mapping(doc, "test file")? {
        match r.key(k, "test file")?.as_str() {
            "alert" => alert = Some(r.string(v, "alert")?),
            "tests" => tests = Some(r.cases(v)?),
            "description" => {}
            other => {
                return Err(r.err(
                    pos(k),
                    other,
                    "unknown attribute of a test file (alert, tests, description)",
                ))
            }
        }
    }
    let at = pos(doc);
    Ok((
        alert.ok_or_else(|| r.err(at, "alert", "a test file names its alert"))?,
        tests.ok_or_else(|| r.err(at, "tests", "a test file holds tests"))?,
    ))
}
