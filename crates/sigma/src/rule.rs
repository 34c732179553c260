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

impl SigmaRule {
    /// Read one Sigma rule from YAML text. `source` names it in errors (its file name).
    pub fn parse(source: &str, text: &str) -> Result<SigmaRule, SigmaError> {
        let r = Reader { source, chars: text.chars().collect() };
        let docs = MarkedYaml::load_from_str(text).map_err(|e| {
            let m = e.marker();
            Pos { line: m.line(), column: m.col() + 1 }.err(source, "YAML", e.info())
        })?;
        let doc = match docs.as_slice() {
            [one] => one,
            [] => return Err(r.err(Pos { line: 1, column: 1 }, "YAML", "the file holds no rule")),
            [_, second, ..] => return Err(r.err(
                pos(second),
                "YAML",
                "more than one YAML document: rule collections (---) are not supported, one rule per file",
            )),
        };
        let top = r.mapping(doc, "rule")?;
        let mut title = None;
        let mut rule = SigmaRule {
            source: source.to_string(),
            id: None,
            title: String::new(),
            level: None,
            tags: vec![],
            status: None,
            logsource: Logsource::default(),
            detection: Detection { searches: vec![], conditions: vec![], pos: pos(doc) },
            falsepositives: vec![],
        };
        let mut detection = None;
        let mut logsource = None;
        for (k, v) in top {
            let key = r.key(k, "rule")?;
            match key.as_str() {
                "title" => title = Some(r.string(v, "title")?),
                "id" => rule.id = Some(r.string(v, "id")?),
                "tags" => rule.tags = r.strings(v, "tags")?,
                "falsepositives" => rule.falsepositives = r.strings(v, "falsepositives")?,
                "level" => {
                    let s = r.string(v, "level")?;
                    rule.level = Some(match s.as_str() {
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
                    rule.status = Some(match s.as_str() {
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
                "correlation" => {
                    return Err(r.err(pos(k), "correlation", "correlation rules are not supported yet"))
                }
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
        rule.title = title.ok_or_else(|| r.err(at, "title", "a rule needs a title"))?;
        rule.logsource = logsource.ok_or_else(|| r.err(at, "logsource", "a rule needs a logsource"))?;
        rule.detection = detection.ok_or_else(|| r.err(at, "detection", "a rule needs a detection"))?;
        Ok(rule)
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
