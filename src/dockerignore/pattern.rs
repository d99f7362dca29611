//! One cleaned `.dockerignore` pattern: checked with Go `filepath.Match`'s syntax rules
//! (as Docker does when it loads the file) and matched with the semantics of Docker's
//! translation of patterns into regular expressions, quirks included:
//! * `**` at the very start of an otherwise plain pattern is "ends with" (`**.md` matches
//!   `docs/README.md`), while a `**` elsewhere is `(.*/)?`, so `**.m?` only matches names
//!   that are exactly `.m?` after a directory;
//! * `\d`, `\s`, `\w` (and upper-case negations) are regex classes, not escaped letters;
//! * `[!x]` is a class containing `!` and `x` (only `[^x]` negates), and a negated class
//!   also matches `/`;
//! * `^` in a wildcard pattern asserts the start of the path.

use std::fmt;

/// Why a pattern is rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternProblem {
    /// `[` without its closing `]`.
    UnterminatedClass,
    /// `[]` or `[^]`.
    EmptyClass,
    /// A class member starts with `-` or `]`.
    BadClassMember(char),
    /// A range whose end comes before its start, like `[z-a]`.
    ReversedRange(char, char),
    /// A range that starts or ends with `\d`, `\s` or `\w`.
    ClassInRange,
    /// `*` or `?` inside `[...]`, which Docker's regex translation breaks.
    WildcardInClass(char),
    /// `\` at the very end of the pattern.
    TrailingBackslash,
    /// `\` before a letter, digit or non-ASCII character that has a regex meaning.
    UnsupportedEscape(char),
}

impl fmt::Display for PatternProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnterminatedClass => write!(f, "`[` starts a character class that is never closed with `]`"),
            Self::EmptyClass => write!(f, "`[]` is an empty character class; write `\\[` for a literal bracket"),
            Self::BadClassMember(c) => {
                write!(f, "`{c}` cannot start a character class member; escape it as `\\{c}`")
            }
            Self::ReversedRange(lo, hi) => {
                write!(f, "range `{lo}-{hi}` is reversed; write `{hi}-{lo}`")
            }
            Self::ClassInRange => write!(f, "`\\d`, `\\s` and `\\w` cannot be the end of a range"),
            Self::WildcardInClass(c) => write!(
                f,
                "`{c}` inside `[...]` does not work in Docker (its regex translation breaks the class); escape it as `\\{c}`"
            ),
            Self::TrailingBackslash => {
                write!(f, "the pattern ends with `\\`, which escapes nothing")
            }
            Self::UnsupportedEscape(c) => write!(
                f,
                "`\\{c}` is not an escaped `{c}`: Docker hands patterns to a regex engine, where it means something else or is invalid; remove the backslash"
            ),
        }
    }
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    /// Cleaned pattern text without the leading `!`.
    pub(crate) text: String,
    /// True for `!` exceptions, which re-include paths.
    pub(crate) exception: bool,
    matcher: Matcher,
}

/// Docker picks a cheap string comparison when the pattern allows it; the choice changes
/// results for glued `**` (see the module docs), so it is reproduced exactly.
#[derive(Debug, Clone)]
enum Matcher {
    Exact,
    /// `prefix**`: the path starts with the text before `**`.
    Prefix,
    /// `**suffix` with no other wildcard: the path ends with the text after `**`.
    Suffix,
    Tokens(Vec<Token>),
}

#[derive(Debug, Clone)]
enum Token {
    Lit(char),
    /// `?`: one character other than `/`.
    AnyChar,
    /// `*`: any run of characters other than `/`.
    Star,
    /// `**` followed by more pattern: `(.*/)?`.
    Dirs,
    /// Trailing `**` after a wildcard: `.*`.
    Rest,
    /// `^` outside a class: start of the path.
    Start,
    Class {
        negated: bool,
        items: Vec<ClassItem>,
    },
    Perl(Perl),
}

#[derive(Debug, Clone, Copy)]
enum ClassItem {
    Range(char, char),
    Perl(Perl),
}

/// RE2's ASCII Perl classes `\d \s \w` and their negations.
#[derive(Debug, Clone, Copy)]
struct Perl {
    kind: char,
    negated: bool,
}

impl Perl {
    fn matches(self, c: char) -> bool {
        let hit = match self.kind {
            'd' => c.is_ascii_digit(),
            's' => matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c'),
            _ => c.is_ascii_alphanumeric() || c == '_',
        };
        hit != self.negated
    }
}

impl Pattern {
    /// Compiles a cleaned pattern (without `!`), reporting syntax Docker would reject.
    pub(crate) fn compile(text: &str, exception: bool) -> Result<Pattern, PatternProblem> {
        let chars: Vec<char> = text.chars().collect();
        let mut kind = Kind::Exact;
        let mut tokens = Vec::new();
        let mut pos = 0;
        let mut first = true;
        while pos < chars.len() {
            let c = chars[pos];
            pos += 1;
            match c {
                '*' if chars.get(pos) == Some(&'*') => {
                    pos += 1;
                    if chars.get(pos) == Some(&'/') {
                        pos += 1;
                    }
                    if pos == chars.len() {
                        if kind == Kind::Exact {
                            kind = Kind::Prefix;
                        } else {
                            tokens.push(Token::Rest);
                            kind = Kind::Tokens;
                        }
                    } else {
                        tokens.push(Token::Dirs);
                        kind = Kind::Tokens;
                    }
                    if first {
                        kind = Kind::Suffix;
                    }
                }
                '*' => {
                    tokens.push(Token::Star);
                    kind = Kind::Tokens;
                }
                '?' => {
                    tokens.push(Token::AnyChar);
                    kind = Kind::Tokens;
                }
                '\\' => {
                    let escaped = *chars.get(pos).ok_or(PatternProblem::TrailingBackslash)?;
                    pos += 1;
                    tokens.push(match escape(escaped)? {
                        Escaped::Lit(l) => Token::Lit(l),
                        Escaped::Perl(p) => Token::Perl(p),
                    });
                    kind = Kind::Tokens;
                }
                '[' => {
                    tokens.push(parse_class(&chars, &mut pos)?);
                    kind = Kind::Tokens;
                }
                ']' => {
                    tokens.push(Token::Lit(']'));
                    kind = Kind::Tokens;
                }
                '^' => tokens.push(Token::Start),
                other => tokens.push(Token::Lit(other)),
            }
            first = false;
        }
        let matcher = match kind {
            Kind::Exact => Matcher::Exact,
            Kind::Prefix => Matcher::Prefix,
            Kind::Suffix => Matcher::Suffix,
            Kind::Tokens => Matcher::Tokens(tokens),
        };
        Ok(Pattern { text: text.to_string(), exception, matcher })
    }

    /// Whether the pattern matches `path` itself (parents are the caller's business).
    pub(crate) fn matches(&self, path: &str) -> bool {
        match &self.matcher {
            Matcher::Exact => path == self.text,
            Matcher::Prefix => path.starts_with(&self.text[..self.text.len() - 2]),
            Matcher::Suffix => {
                let suffix = &self.text[2..];
                path.ends_with(suffix) || suffix.strip_prefix('/') == Some(path)
            }
            Matcher::Tokens(tokens) => match_tokens(tokens, &path.chars().collect::<Vec<_>>()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Exact,
    Prefix,
    Suffix,
    Tokens,
}

enum Escaped {
    Lit(char),
    Perl(Perl),
}

/// Meaning of `\c` once Docker has handed it to Go's regex engine.
fn escape(c: char) -> Result<Escaped, PatternProblem> {
    match c {
        'd' | 's' | 'w' => Ok(Escaped::Perl(Perl { kind: c, negated: false })),
        'D' | 'S' | 'W' => Ok(Escaped::Perl(Perl { kind: c.to_ascii_lowercase(), negated: true })),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok(Escaped::Lit(c)),
        c => Err(PatternProblem::UnsupportedEscape(c)),
    }
}

/// Parses a class after its `[`, with Go `filepath.Match`'s rules for what is well formed.
fn parse_class(chars: &[char], pos: &mut usize) -> Result<Token, PatternProblem> {
    let negated = chars.get(*pos) == Some(&'^');
    if negated {
        *pos += 1;
    }
    let mut items = Vec::new();
    loop {
        match chars.get(*pos) {
            None => return Err(PatternProblem::UnterminatedClass),
            Some(']') if !items.is_empty() => {
                *pos += 1;
                return Ok(Token::Class { negated, items });
            }
            Some(']') => return Err(PatternProblem::EmptyClass),
            Some(_) => {}
        }
        let lo = class_member(chars, pos)?;
        if chars.get(*pos) == Some(&'-') {
            *pos += 1;
            let hi = class_member(chars, pos)?;
            match (lo, hi) {
                (Escaped::Lit(l), Escaped::Lit(h)) if l <= h => items.push(ClassItem::Range(l, h)),
                (Escaped::Lit(l), Escaped::Lit(h)) => {
                    return Err(PatternProblem::ReversedRange(l, h));
                }
                _ => return Err(PatternProblem::ClassInRange),
            }
        } else {
            items.push(match lo {
                Escaped::Lit(l) => ClassItem::Range(l, l),
                Escaped::Perl(p) => ClassItem::Perl(p),
            });
        }
    }
}

/// One class member (Go's `getEsc`): a character, or an escape.
fn class_member(chars: &[char], pos: &mut usize) -> Result<Escaped, PatternProblem> {
    let c = *chars.get(*pos).ok_or(PatternProblem::UnterminatedClass)?;
    *pos += 1;
    let member = match c {
        '-' | ']' => return Err(PatternProblem::BadClassMember(c)),
        '*' | '?' => return Err(PatternProblem::WildcardInClass(c)),
        '\\' => {
            let e = *chars.get(*pos).ok_or(PatternProblem::UnterminatedClass)?;
            *pos += 1;
            escape(e)?
        }
        c => Escaped::Lit(c),
    };
    // Go requires something (at least the closing `]`) after every member.
    if *pos >= chars.len() {
        return Err(PatternProblem::UnterminatedClass);
    }
    Ok(member)
}

/// Anchored match of `tokens` against the whole `path`, tracking every reachable
/// position at once so that no pattern can make it exponential.
fn match_tokens(tokens: &[Token], path: &[char]) -> bool {
    let n = path.len();
    let mut cur = vec![false; n + 1];
    cur[0] = true;
    for token in tokens {
        let mut next = vec![false; n + 1];
        for p in (0..=n).filter(|&p| cur[p]) {
            let here = path.get(p).copied();
            match token {
                Token::Lit(c) => {
                    if here == Some(*c) {
                        next[p + 1] = true;
                    }
                }
                Token::AnyChar => {
                    if here.is_some_and(|h| h != '/') {
                        next[p + 1] = true;
                    }
                }
                Token::Perl(perl) => {
                    if here.is_some_and(|h| perl.matches(h)) {
                        next[p + 1] = true;
                    }
                }
                Token::Class { negated, items } => {
                    if here.is_some_and(|h| class_matches(items, h) != *negated) {
                        next[p + 1] = true;
                    }
                }
                Token::Star => {
                    next[p] = true;
                    let mut q = p;
                    while q < n && path[q] != '/' {
                        q += 1;
                        next[q] = true;
                    }
                }
                // Regex `.` does not match a newline, so neither do `(.*/)?` and `.*`.
                Token::Dirs => {
                    next[p] = true;
                    let mut q = p;
                    while q < n && path[q] != '\n' {
                        if path[q] == '/' {
                            next[q + 1] = true;
                        }
                        q += 1;
                    }
                }
                Token::Rest => {
                    next[p] = true;
                    let mut q = p;
                    while q < n && path[q] != '\n' {
                        q += 1;
                        next[q] = true;
                    }
                }
                Token::Start => {
                    if p == 0 {
                        next[0] = true;
                    }
                }
            }
        }
        if !next.contains(&true) {
            return false;
        }
        cur = next;
    }
    cur[n]
}

fn class_matches(items: &[ClassItem], c: char) -> bool {
    items.iter().any(|item| match *item {
        ClassItem::Range(lo, hi) => lo <= c && c <= hi,
        ClassItem::Perl(p) => p.matches(c),
    })
}
