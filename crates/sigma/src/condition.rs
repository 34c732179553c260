//! Sigma conditions: `and`, `or`, `not`, parentheses, `1 of X*`, `all of X*`, `1 of them`,
//! `all of them`, parsed into a small tree over search identifier names.

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// A search identifier.
    Search(String),
    /// Both.
    And(Vec<Cond>),
    /// At least one.
    Or(Vec<Cond>),
    /// Not.
    Not(Box<Cond>),
    /// `1 of` / `all of` a pattern (`them` is the pattern `*` without `_` names).
    Of {
        /// `all of` rather than `1 of`.
        all: bool,
        /// The pattern (`*` wildcards), `None` for `them`.
        pattern: Option<String>,
    },
}

/// How deeply parentheses and `not` may nest.
pub const MAX_NESTING: usize = 32;

/// A condition that does not parse: the character offset (0-based) and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct CondError {
    /// 0-based character offset in the condition.
    pub offset: usize,
    /// What is wrong.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Word(String),
}

fn tokens(text: &str) -> Vec<(usize, Tok)> {
    let mut out = Vec::new();
    let mut word: Option<(usize, String)> = None;
    for (i, c) in text.chars().enumerate() {
        if c.is_whitespace() || c == '(' || c == ')' {
            if let Some((at, w)) = word.take() {
                out.push((at, Tok::Word(w)));
            }
            match c {
                '(' => out.push((i, Tok::Open)),
                ')' => out.push((i, Tok::Close)),
                _ => {}
            }
        } else {
            word.get_or_insert_with(|| (i, String::new())).1.push(c);
        }
    }
    if let Some((at, w)) = word {
        out.push((at, Tok::Word(w)));
    }
    out
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    k: usize,
    end: usize,
}

fn is_keyword(w: &str) -> bool {
    matches!(w, "and" | "or" | "not" | "of" | "them")
}

impl Parser {
    fn peek_word(&self) -> Option<&str> {
        match self.toks.get(self.k) {
            Some((_, Tok::Word(w))) => Some(w),
            _ => None,
        }
    }
    fn at(&self) -> usize {
        self.toks.get(self.k).map_or(self.end, |(at, _)| *at)
    }
    fn err<T>(&self, reason: impl Into<String>) -> Result<T, CondError> {
        Err(CondError { offset: self.at(), reason: reason.into() })
    }

    fn or(&mut self, depth: usize) -> Result<Cond, CondError> {
        let mut parts = vec![self.and(depth)?];
        while self.peek_word() == Some("or") {
            self.k += 1;
            parts.push(self.and(depth)?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Cond::Or(parts) })
    }

    fn and(&mut self, depth: usize) -> Result<Cond, CondError> {
        let mut parts = vec![self.not(depth)?];
        while self.peek_word() == Some("and") {
            self.k += 1;
            parts.push(self.not(depth)?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Cond::And(parts) })
    }

    fn not(&mut self, depth: usize) -> Result<Cond, CondError> {
        if depth > MAX_NESTING {
            return self.err(format!("nested deeper than {MAX_NESTING} levels"));
        }
        if self.peek_word() == Some("not") {
            self.k += 1;
            return Ok(Cond::Not(Box::new(self.not(depth + 1)?)));
        }
        self.primary(depth)
    }

    fn primary(&mut self, depth: usize) -> Result<Cond, CondError> {
        match self.toks.get(self.k).cloned() {
            None => self.err("the condition ends where a search identifier or ( was expected"),
            Some((_, Tok::Close)) => self.err("a ) where a search identifier or ( was expected"),
            Some((_, Tok::Open)) => {
                self.k += 1;
                let inner = self.or(depth + 1)?;
                match self.toks.get(self.k) {
                    Some((_, Tok::Close)) => {
                        self.k += 1;
                        Ok(inner)
                    }
                    _ => self.err("a ( is not closed"),
                }
            }
            Some((_, Tok::Word(w))) => {
                let followed_by_of =
                    matches!(self.toks.get(self.k + 1), Some((_, Tok::Word(o))) if o == "of");
                if followed_by_of {
                    let all = match w.as_str() {
                        "1" => false,
                        "all" => true,
                        _ => {
                            return self.err(format!("{w:?} of: only \"1 of\" and \"all of\" are supported"))
                        }
                    };
                    self.k += 2;
                    let pattern = match self.toks.get(self.k) {
                        Some((_, Tok::Word(t))) if t == "them" => None,
                        Some((_, Tok::Word(p))) if !is_keyword(p) => Some(p.clone()),
                        _ => return self.err("\"of\" needs a search identifier pattern or \"them\""),
                    };
                    self.k += 1;
                    return Ok(Cond::Of { all, pattern });
                }
                if is_keyword(&w) || w == "all" || w == "1" {
                    return self.err(format!("{w:?} where a search identifier was expected"));
                }
                if w.contains('*') {
                    return self.err(format!("the pattern {w:?} needs \"1 of\" or \"all of\" before it"));
                }
                self.k += 1;
                Ok(Cond::Search(w))
            }
        }
    }
}

/// Parse a condition. Operators are lower case, as the specification writes them.
pub fn parse(text: &str) -> Result<Cond, CondError> {
    let mut p = Parser { toks: tokens(text), k: 0, end: text.chars().count() };
    let cond = p.or(0)?;
    if p.k < p.toks.len() {
        return p.err("unexpected text after a complete condition (a missing and/or?)");
    }
    Ok(cond)
}

/// Whether a search identifier matches a `1 of` / `all of` pattern (`*`: any run of characters).
pub fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Classic two-pointer wildcard match with backtracking to the last star.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < n.len() {
        if i < p.len() && p[i] != '*' && p[i] == n[j] {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}
