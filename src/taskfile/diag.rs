//! Diagnostics: what is wrong, where (file:line:col in the file the user wrote) and what to do.

use serde::Serialize;
use std::fmt;

/// How bad a diagnostic is. Errors stop the pipeline; warnings are printed and the run goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Advice that does not stop anything.
    Warning,
    /// The file cannot be used as it is.
    Error,
}

/// A position in the original task file, 1-based. `col` is 0 when only the line is known.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column in characters; 0 when unknown.
    pub col: u32,
}

impl Pos {
    /// A position with a known line and column.
    pub fn new(line: u32, col: u32) -> Self {
        Pos { line, col }
    }
}

/// One finding about a task file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable kebab-case identifier, e.g. `unknown-property`, for scripts and docs.
    pub code: &'static str,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The file the position refers to (as the user named it).
    pub file: String,
    /// Where, in the original file; `None` for problems with no location (e.g. a missing file).
    pub pos: Option<Pos>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The source line at `pos`, for the caret display; filled in by [`Diagnostics::attach_source`].
    #[serde(skip)]
    pub source_line: Option<String>,
}

impl Diagnostic {
    /// An error with a code and message; add the place with [`Diagnostic::at`].
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            file: String::new(),
            pos: None,
            help: None,
            source_line: None,
        }
    }

    /// A warning with a code and message.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }

    /// Sets the position.
    pub fn at(mut self, pos: Pos) -> Self {
        self.pos = Some(pos);
        self
    }

    /// Sets the position when one is known.
    pub fn at_opt(mut self, pos: Option<Pos>) -> Self {
        self.pos = pos;
        self
    }

    /// Adds advice on what to do.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Whether this diagnostic stops the pipeline.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line:col: error[code]: message`, then the source line with a caret, then `help:`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match self.pos {
            Some(p) if p.col > 0 => write!(f, "{}:{}:{}: ", self.file, p.line, p.col)?,
            Some(p) => write!(f, "{}:{}: ", self.file, p.line)?,
            None if !self.file.is_empty() => write!(f, "{}: ", self.file)?,
            None => {}
        }
        write!(f, "{sev}[{}]: {}", self.code, self.message)?;
        if let (Some(p), Some(src)) = (self.pos, &self.source_line) {
            let gutter = p.line.to_string();
            write!(f, "\n {gutter} | {src}")?;
            if p.col > 0 {
                let pad: String =
                    src.chars().take(p.col as usize - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
                write!(f, "\n {} | {pad}^", " ".repeat(gutter.len()))?;
            }
        }
        if let Some(h) = &self.help {
            write!(f, "\n  = help: {h}")?;
        }
        Ok(())
    }
}

/// The findings of one pipeline run, in the order they were found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Appends a finding.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.is_error())
    }

    /// The warnings only.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| !d.is_error())
    }

    /// Fills in the file name (where not set) and the source line of every finding.
    pub fn attach_source(&mut self, file: &str, source: &str) {
        let lines: Vec<&str> = source.lines().collect();
        for d in &mut self.0 {
            if d.file.is_empty() {
                d.file = file.to_string();
            }
            if d.source_line.is_none()
                && d.file == file
                && let Some(p) = d.pos
                && p.line >= 1
                && let Some(l) = lines.get(p.line as usize - 1)
            {
                d.source_line = Some(l.trim_end_matches('\r').to_string());
            }
        }
    }

    /// Orders findings by position (those without one last), keeping the order of equals.
    pub fn sort(&mut self) {
        self.0.sort_by_key(|d| d.pos.map_or((u32::MAX, 0), |p| (p.line, p.col)));
    }

    /// Moves every finding of `other` into `self`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// The closest candidate to `word` by edit distance, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let max = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= max && *d < word.chars().count())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance over chars where swapping two neighbours counts as one edit (optimal string
/// alignment), because transposed letters (`wehn`) are the most common typo in property names.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let c = ["when", "timeout", "workingDirectory"];
        assert_eq!(did_you_mean("wehn", c), Some("when"));
        assert_eq!(did_you_mean("workingdirectory", c), Some("workingDirectory"));
        assert_eq!(did_you_mean("timeoutt", c), Some("timeout"));
        assert_eq!(did_you_mean("zzz", c), None);
        assert_eq!(did_you_mean("b", ["a"]), None);
    }

    #[test]
    fn renders_location_caret_and_help() {
        let mut ds = Diagnostics::default();
        ds.push(
            Diagnostic::error("unknown-property", "unknown step property `wehn`")
                .at(Pos::new(2, 5))
                .help("did you mean `when`?"),
        );
        ds.attach_source("acb.yaml", "steps:\n  - wehn: [\"-\"]\n");
        assert_eq!(
            ds.to_string(),
            "acb.yaml:2:5: error[unknown-property]: unknown step property `wehn`\n 2 |   - wehn: [\"-\"]\n   |     ^\n  = help: did you mean `when`?"
        );
    }
}
