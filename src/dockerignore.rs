//! `.dockerignore` with the exact semantics of the Docker CLI's classic-builder context
//! upload (recorded against the real CLI, see `scripts/record-dockerignore-golden.sh`).
//!
//! What differs from gitignore and from a naive "last match wins" reading:
//! * patterns are anchored at the context root (`a.txt` excludes only `./a.txt`);
//! * a path is excluded when it or one of its parent directories matches;
//! * Docker evaluates paths top-down and reuses each directory's per-pattern results for
//!   its children, so a pattern that only matched a parent through the *same* pattern
//!   list is remembered, but one skipped at the parent level is not: with
//!   `src`, `!src/main.rs`, `src` the file `src/main.rs` is still sent;
//! * an excluded directory is skipped as a whole unless some exception's text starts with
//!   `dir/`, so `build` + `!**/k.txt` does *not* bring back `build/keep/k.txt`;
//! * the CLI always sends `.dockerignore` and the Dockerfile, even when excluded (it adds
//!   `!` exceptions for them, see [`DockerIgnore::with_build_files`]); the classic daemon
//!   then deletes them from the context again when the original patterns exclude them.

mod clean;
mod pattern;

#[cfg(test)]
mod golden;
#[cfg(test)]
mod golden_data;
#[cfg(test)]
mod tests;

use clean::clean;
use pattern::Pattern;
pub use pattern::PatternProblem;

/// Name of the ignore file at the context root.
pub const DOCKERIGNORE: &str = ".dockerignore";

/// A parsed `.dockerignore`.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

/// A `.dockerignore` line that Docker refuses to build with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerIgnoreError {
    /// The pattern's syntax is invalid.
    #[error(".dockerignore line {line}: pattern `{pattern}` is invalid: {problem}")]
    BadPattern {
        /// 1-based line number.
        line: usize,
        /// The pattern after trimming.
        pattern: String,
        /// What is wrong with it.
        problem: PatternProblem,
    },
    /// A line that is only `!`.
    #[error(
        ".dockerignore line {line}: `!` alone is not a pattern; write `!path` to re-include a path, or delete the line"
    )]
    BareExclamation {
        /// 1-based line number.
        line: usize,
    },
}

/// Per-pattern results for a directory, handed to its children (Docker's `MatchInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchState {
    parent_matched: Vec<bool>,
}

impl DockerIgnore {
    /// Parses `.dockerignore` text: a UTF-8 BOM is dropped, lines starting with `#` are
    /// comments, other lines are trimmed, and blank lines are skipped.
    pub fn parse(text: &str) -> Result<Self, DockerIgnoreError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            // Only a `#` in the very first column makes a comment: ` #x` is a pattern.
            if raw.starts_with('#') {
                continue;
            }
            let trimmed = raw.trim();
            if trimmed.is_empty() {
                continue;
            }
            let (exception, body) = match trimmed.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, trimmed),
            };
            let cleaned = clean(body);
            // Docker cleans `!` + pattern once more, which turns `!/` into a bare `!`.
            if exception && (body.is_empty() || cleaned == "/") {
                return Err(DockerIgnoreError::BareExclamation { line });
            }
            let cleaned = match cleaned.strip_prefix('/') {
                Some(rest) if !rest.is_empty() => rest.to_string(),
                _ => cleaned,
            };
            let pattern = Pattern::compile(&cleaned, exception).map_err(|problem| DockerIgnoreError::BadPattern {
                line,
                pattern: trimmed.to_string(),
                problem,
            })?;
            patterns.push(pattern);
        }
        Ok(DockerIgnore { patterns })
    }

    /// True when the file has no patterns, so nothing is excluded.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// True when some pattern is a `!` exception.
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exception)
    }

    /// Adds the exceptions the Docker CLI adds before walking the context, so that
    /// `.dockerignore` and the Dockerfile (`dockerfile_rel`, relative to the context)
    /// are always sent to the daemon even when a pattern excludes them.
    pub fn with_build_files(mut self, dockerfile_rel: &str) -> Self {
        for file in [DOCKERIGNORE.to_string(), clean(dockerfile_rel)] {
            if self.matches_or_parent_matches(&file)
                && let Ok(p) = Pattern::compile(&file, true)
            {
                self.patterns.push(p);
            }
        }
        self
    }

    /// Evaluates one path given its parent directory's state (`None` at the top level),
    /// exactly like Docker's walker: returns whether the path is excluded, and the state
    /// to pass to its children if it is a directory.
    pub fn evaluate(&self, rel_path: &str, parent: Option<&MatchState>) -> (bool, MatchState) {
        let parent = parent.filter(|s| s.parent_matched.len() == self.patterns.len());
        let mut matched = false;
        let mut state = vec![false; self.patterns.len()];
        for (i, p) in self.patterns.iter().enumerate() {
            let mut hit = parent.is_some_and(|s| s.parent_matched[i]);
            if !hit {
                // Docker skips a pattern that cannot change the outcome, and then does not
                // record it for the children either; that is what makes the second `src` in
                // `src`, `!src/main.rs`, `src` not apply to `src/main.rs`.
                if p.exception != matched {
                    continue;
                }
                hit = p.matches(rel_path) || (parent.is_none() && ancestors(rel_path).any(|a| p.matches(a)));
            }
            state[i] = hit;
            if hit {
                matched = !p.exception;
            }
        }
        (matched, MatchState { parent_matched: state })
    }

    /// Whether the patterns exclude `rel_path` (relative to the context root, `/`-separated).
    pub fn excludes(&self, rel_path: &str) -> bool {
        let path = normalise(rel_path);
        if path.is_empty() || self.patterns.is_empty() {
            return false;
        }
        let mut state: Option<MatchState> = None;
        let mut excluded = false;
        for prefix in ancestors(&path).chain(std::iter::once(path.as_str())) {
            let (ex, next) = self.evaluate(prefix, state.as_ref());
            excluded = ex;
            state = Some(next);
        }
        excluded
    }

    /// Whether a walker may skip directory `rel_dir` without looking inside: it is excluded
    /// and no exception's text starts with `rel_dir/` (Docker's own, purely textual test).
    pub fn can_prune_dir(&self, rel_dir: &str) -> bool {
        let dir = normalise(rel_dir);
        if !self.excludes(&dir) {
            return false;
        }
        let dir_slash = format!("{dir}/");
        !self.patterns.iter().any(|p| p.exception && format!("{}/", p.text).starts_with(&dir_slash))
    }

    /// Whether Docker would put `rel_path` into the context: not excluded, and not inside a
    /// directory the walker prunes.
    pub fn in_context(&self, rel_path: &str) -> bool {
        let path = normalise(rel_path);
        !self.excludes(&path) && !ancestors(&path).any(|a| self.can_prune_dir(a))
    }

    /// Docker's stateless check (`MatchesOrParentMatches`): the path or any parent matches,
    /// last applicable pattern wins. The CLI uses it to decide whether the build files need
    /// forced exceptions, and the classic daemon to delete them after upload.
    pub fn matches_or_parent_matches(&self, rel_path: &str) -> bool {
        let path = normalise(rel_path);
        let mut matched = false;
        for p in &self.patterns {
            if p.exception != matched {
                continue;
            }
            if p.matches(&path) || ancestors(&path).any(|a| p.matches(a)) {
                matched = !p.exception;
            }
        }
        matched
    }
}

/// True for the files the Docker CLI always sends whatever `.dockerignore` says: the
/// `.dockerignore` itself and the Dockerfile (`dockerfile_rel`, relative to the context).
pub fn always_included(rel_path: &str, dockerfile_rel: &str) -> bool {
    let path = clean(rel_path);
    path == DOCKERIGNORE || path == clean(dockerfile_rel)
}

/// Strips a leading `./` and trailing `/` so callers may pass either spelling.
fn normalise(rel_path: &str) -> String {
    let cleaned = clean(rel_path);
    if cleaned == "." { String::new() } else { cleaned }
}

/// Proper ancestors of `path`, outermost first: `a/b/c` → `a`, `a/b`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}
