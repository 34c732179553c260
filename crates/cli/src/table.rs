//! Tables that fit the terminal: each cell on one line, the widest columns cut with an ellipsis
//! until the table fits (`--json` has the full text), severities coloured.
//!
//! The width is the terminal's; when the output is not a terminal, `COLUMNS` if set, else no
//! limit (a file or a pipe gets whole cells).

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Color, ContentArrangement, Table};

/// A table under construction: the header, rows of plain text, and which columns hold numbers
/// (right-aligned, never cut) or severities (coloured).
pub struct Fit {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    numeric: Vec<bool>,
    keep: Vec<bool>,
    severity: Option<usize>,
    error: Option<usize>,
    width: Option<usize>,
}

/// The narrowest a cut column becomes.
const MIN_COLUMN: usize = 8;

impl Fit {
    /// A table with these column names, as wide as the terminal.
    pub fn new(header: &[&str]) -> Self {
        Fit {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            numeric: vec![false; header.len()],
            keep: vec![false; header.len()],
            severity: None,
            error: None,
            width: terminal_width(),
        }
    }

    /// Right-align column `i` and never cut it.
    pub fn numeric(mut self, i: usize) -> Self {
        if let Some(n) = self.numeric.get_mut(i) {
            *n = true;
        }
        self
    }

    /// Never cut column `i` (a bar).
    pub fn keep(mut self, i: usize) -> Self {
        if let Some(k) = self.keep.get_mut(i) {
            *k = true;
        }
        self
    }

    /// Column `i` says why a call failed: red where it says anything.
    pub fn error(mut self, i: usize) -> Self {
        self.error = Some(i);
        self
    }

    /// Colour column `i` by severity (CRITICAL red, WARNING yellow, NOTICE cyan).
    pub fn severity(mut self, i: usize) -> Self {
        self.severity = Some(i);
        self
    }

    /// At most this many characters wide (`None`: no limit).
    #[cfg(test)]
    pub fn width(mut self, width: Option<usize>) -> Self {
        self.width = width;
        self
    }

    /// Add a row (missing cells are empty; line breaks become spaces).
    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        let mut row: Vec<String> =
            cells.into_iter().map(|c| c.as_ref().replace(['\n', '\r', '\t'], " ")).collect();
        row.resize(self.header.len(), String::new());
        self.rows.push(row);
    }

    /// The widths each column gets: its widest cell, then the widest cut column by column
    /// until the table (with its borders: 3 characters a column, plus 1) fits.
    fn widths(&self) -> Vec<usize> {
        let n = self.header.len();
        let mut widths: Vec<usize> = (0..n)
            .map(|i| {
                std::iter::once(&self.header[i])
                    .chain(self.rows.iter().map(|r| &r[i]))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let Some(limit) = self.width else { return widths };
        let budget = limit.saturating_sub(3 * n + 1);
        loop {
            let total: usize = widths.iter().sum();
            if total <= budget {
                break;
            }
            // The widest column that may be cut and is not yet at its minimum.
            let Some((i, w)) = widths
                .iter()
                .enumerate()
                .filter(|(i, w)| !self.numeric[*i] && !self.keep[*i] && **w > MIN_COLUMN)
                .max_by_key(|(i, w)| (**w, std::cmp::Reverse(*i)))
                .map(|(i, w)| (i, *w))
            else {
                break;
            };
            let second = widths
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i && !self.numeric[*j] && !self.keep[*j])
                .map(|(_, w)| *w)
                .max()
                .unwrap_or(0);
            // Down to the next widest (or just enough) in one step; ties a character at a time.
            let excess = total - budget;
            let floor = second.max(MIN_COLUMN);
            let step = if w > floor { (w - floor).min(excess) } else { 1 };
            widths[i] = w - step;
        }
        widths
    }

    /// The table, ready to print.
    pub fn build(&self) -> Table {
        let widths = self.widths();
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Disabled);
        t.set_header(self.header.iter().zip(&widths).map(|(h, w)| Cell::new(cut(h, *w))));
        for row in &self.rows {
            t.add_row(row.iter().enumerate().map(|(i, c)| {
                let mut cell = Cell::new(cut(c, widths[i]));
                if self.numeric[i] {
                    cell = cell.set_alignment(CellAlignment::Right);
                }
                if self.error == Some(i) && !c.is_empty() && c != "—" {
                    cell = cell.fg(Color::Red);
                }
                if self.severity == Some(i) {
                    if let Some(colour) = severity_colour(c) {
                        cell = cell.fg(colour);
                    }
                }
                cell
            }));
        }
        t
    }
}

impl std::fmt::Display for Fit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.build())
    }
}

/// The colour of a severity.
pub fn severity_colour(severity: &str) -> Option<Color> {
    match severity {
        "CRITICAL" => Some(Color::Red),
        "WARNING" => Some(Color::Yellow),
        "NOTICE" => Some(Color::Cyan),
        _ => None,
    }
}

/// `text` in at most `width` characters, cut with an ellipsis.
pub fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The terminal's width; `COLUMNS` when stdout is not a terminal; else none.
pub fn terminal_width() -> Option<usize> {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() {
        if let Some(w) = Table::new().width() {
            return Some(usize::from(w));
        }
    }
    std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse().ok()).filter(|w: &usize| *w > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(t: &Fit) -> Vec<String> {
        t.build().to_string().lines().map(str::to_string).collect()
    }

    #[test]
    fn a_wide_table_is_cut_to_the_width_with_an_ellipsis() {
        let mut t = Fit::new(&["time", "alert", "count", "summary"]).numeric(2).width(Some(60));
        t.row(["2024-06-03T10:00:00Z", "describe_recon", "12", &"a very long summary ".repeat(10)]);
        t.row(["2024-06-03T11:00:00Z", "root_account_usage", "123456", "short"]);
        for l in lines(&t) {
            assert!(l.chars().count() <= 60, "{l:?} is {} wide", l.chars().count());
        }
        let text = t.build().to_string();
        assert!(text.contains('…'), "{text}");
        assert!(text.contains("123456"), "numbers are never cut: {text}");
        assert_eq!(lines(&t).len(), 6, "one line per row: {text}");
    }

    #[test]
    fn no_limit_keeps_cells_whole_and_line_breaks_become_spaces() {
        let mut t = Fit::new(&["a", "b"]).width(None);
        t.row(["x".repeat(300), "two\nlines".to_string()]);
        let text = t.build().to_string();
        assert!(text.contains(&"x".repeat(300)));
        assert!(text.contains("two lines"));
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
        assert_eq!(cut("日本語のテキスト", 3), "日本…");
    }

    #[test]
    fn a_narrow_terminal_still_shows_every_column() {
        let mut t = Fit::new(&["time", "alert", "severity", "summary"]).width(Some(20));
        t.row(["2024-06-03T10:00:00Z", "describe_recon", "WARNING", "summary"]);
        let text = t.build().to_string();
        assert!(text.contains("2024-06…") && text.contains("describ…") && text.contains("WARNING"), "{text}");
    }
}
