//! Glob filters for branches, tags and paths: `*` matches within one path segment, `**` across
//! segments (`docs/**` matches everything under `docs/`, `**/*.md` Markdown files anywhere), `?`
//! one character other than `/`, `[abc]` / `[a-z]` / `[!a-z]` one character of a set, and `\`
//! escapes. A filter without any of these is an exact match.

/// A compiled glob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob {
    text: String,
    tokens: Vec<Token>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `?`
    One,
    /// `*`
    Star,
    /// `**` (and `**/`, which also matches nothing)
    DoubleStar {
        slash: bool,
    },
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// Why a glob is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("glob `{glob}`: {problem}")]
pub struct GlobError {
    /// The glob.
    pub glob: String,
    /// What is wrong with it.
    pub problem: String,
}

impl Glob {
    /// Compiles `text`.
    pub fn new(text: &str) -> Result<Glob, GlobError> {
        let err = |problem: &str| GlobError { glob: text.to_string(), problem: problem.to_string() };
        if text.is_empty() {
            return Err(err("it is empty"));
        }
        let chars: Vec<char> = text.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' if chars.get(i + 1) == Some(&'*') => {
                    let stars = chars[i..].iter().take_while(|c| **c == '*').count();
                    let slash = chars.get(i + stars) == Some(&'/');
                    tokens.push(Token::DoubleStar { slash });
                    i += 2;
                    // `***` is `**`.
                    while chars.get(i) == Some(&'*') {
                        i += 1;
                    }
                    if slash {
                        i += 1;
                    }
                    continue;
                }
                '*' => tokens.push(Token::Star),
                '?' => tokens.push(Token::One),
                '\\' => {
                    i += 1;
                    let c = *chars.get(i).ok_or_else(|| err("it ends with a lone `\\`"))?;
                    tokens.push(Token::Char(c));
                }
                '[' => {
                    let mut j = i + 1;
                    let negated = matches!(chars.get(j), Some('!') | Some('^'));
                    if negated {
                        j += 1;
                    }
                    let mut ranges = Vec::new();
                    let mut first = true;
                    loop {
                        let c = *chars.get(j).ok_or_else(|| err("a `[` has no closing `]`"))?;
                        if c == ']' && !first {
                            break;
                        }
                        first = false;
                        if chars.get(j + 1) == Some(&'-') && chars.get(j + 2).is_some_and(|e| *e != ']') {
                            let end = chars[j + 2];
                            if end < c {
                                return Err(err(&format!("the range `{c}-{end}` is reversed")));
                            }
                            ranges.push((c, end));
                            j += 3;
                        } else {
                            ranges.push((c, c));
                            j += 1;
                        }
                    }
                    tokens.push(Token::Class { negated, ranges });
                    i = j;
                }
                c => tokens.push(Token::Char(c)),
            }
            i += 1;
        }
        Ok(Glob { text: text.to_string(), tokens })
    }

    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `subject` matches the whole glob.
    pub fn matches(&self, subject: &str) -> bool {
        let s: Vec<char> = subject.chars().collect();
        // memo[t][p]: known result for tokens[t..] against s[p..] (globs are short, subjects too).
        let mut memo = vec![vec![None; s.len() + 1]; self.tokens.len() + 1];
        match_from(&self.tokens, &s, 0, 0, &mut memo)
    }
}

fn match_from(tokens: &[Token], s: &[char], t: usize, p: usize, memo: &mut Vec<Vec<Option<bool>>>) -> bool {
    if let Some(known) = memo[t][p] {
        return known;
    }
    let result = match tokens.get(t) {
        None => p == s.len(),
        Some(Token::Char(c)) => s.get(p) == Some(c) && match_from(tokens, s, t + 1, p + 1, memo),
        Some(Token::One) => s.get(p).is_some_and(|c| *c != '/') && match_from(tokens, s, t + 1, p + 1, memo),
        Some(Token::Class { negated, ranges }) => {
            s.get(p).is_some_and(|c| *c != '/' && ranges.iter().any(|(a, b)| (a..=b).contains(&c)) != *negated)
                && match_from(tokens, s, t + 1, p + 1, memo)
        }
        Some(Token::Star) => {
            let mut q = p;
            loop {
                if match_from(tokens, s, t + 1, q, memo) {
                    break true;
                }
                if q == s.len() || s[q] == '/' {
                    break false;
                }
                q += 1;
            }
        }
        Some(Token::DoubleStar { slash }) => {
            // `**/` matches nothing or whole segments (ending in `/`); bare `**` anything.
            (p..=s.len()).any(|q| {
                let fits = !*slash || q == p || s[q - 1] == '/';
                fits && match_from(tokens, s, t + 1, q, memo)
            })
        }
    };
    memo[t][p] = Some(result);
    result
}

/// Include and exclude globs (`!glob`): a subject passes when it matches an include (or there
/// are none) and no exclude.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    include: Vec<Glob>,
    exclude: Vec<Glob>,
}

impl Filter {
    /// Compiles filters as written on the command line.
    pub fn new<S: AsRef<str>>(globs: &[S]) -> Result<Filter, GlobError> {
        let mut f = Filter::default();
        for g in globs {
            let g = g.as_ref().trim();
            match g.strip_prefix('!') {
                Some(rest) => f.exclude.push(Glob::new(rest)?),
                None => f.include.push(Glob::new(g)?),
            }
        }
        Ok(f)
    }

    /// Whether there are no globs at all.
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// Whether `subject` passes.
    pub fn allows(&self, subject: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|g| g.matches(subject)))
            && !self.exclude.iter().any(|g| g.matches(subject))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(glob: &str, subject: &str) -> bool {
        Glob::new(glob).unwrap().matches(subject)
    }

    #[test]
    fn exact_names_match_only_themselves() {
        assert!(m("main", "main"));
        assert!(!m("main", "main2"));
        assert!(!m("main", "mai"));
    }

    #[test]
    fn a_star_stays_within_a_segment() {
        assert!(m("release/*", "release/1.0"));
        assert!(!m("release/*", "release/1/hotfix"));
        assert!(m("feature-*", "feature-login"));
        assert!(m("*.md", "README.md"));
        assert!(!m("*.md", "docs/README.md"));
    }

    #[test]
    fn a_double_star_crosses_segments() {
        assert!(m("release/**", "release/1/hotfix"));
        assert!(m("**", "anything/at/all"));
        assert!(m("**/*.md", "README.md"));
        assert!(m("**/*.md", "docs/a/b.md"));
        assert!(m("src/**/test.rs", "src/test.rs"));
        assert!(m("src/**/test.rs", "src/a/b/test.rs"));
        assert!(!m("src/**/test.rs", "src/atest.rs"));
    }

    #[test]
    fn classes_and_escapes() {
        assert!(m("v[0-9].*", "v1.2"));
        assert!(!m("v[!0-9]*", "v1"));
        assert!(m("v[!0-9]*", "vx"));
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(m("?ain", "main"));
        assert!(!m("a?b", "a/b"));
    }

    #[test]
    fn bad_globs_say_what_is_wrong() {
        assert!(Glob::new("").unwrap_err().to_string().contains("empty"));
        assert!(Glob::new("v[0-9").unwrap_err().to_string().contains("closing `]`"));
        assert!(Glob::new("[z-a]").unwrap_err().to_string().contains("reversed"));
        assert!(Glob::new("a\\").is_err());
    }

    #[test]
    fn filters_include_and_exclude() {
        let f = Filter::new(&["src/**", "!src/**/*.md"]).unwrap();
        assert!(f.allows("src/main.rs"));
        assert!(!f.allows("src/docs/x.md"));
        assert!(!f.allows("README.md"));
        let only_exclude = Filter::new(&["!docs/**"]).unwrap();
        assert!(only_exclude.allows("src/a.rs"));
        assert!(!only_exclude.allows("docs/a.md"));
        assert!(Filter::new::<&str>(&[]).unwrap().allows("x"));
    }

    #[test]
    fn long_subjects_do_not_explode() {
        let subject = "a/".repeat(200) + "b";
        assert!(m("**/**/**/**/b", &subject));
        assert!(!m("**/**/**/**/c", &subject));
    }
}
