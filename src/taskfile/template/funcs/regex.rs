//! Sprig's regular expression functions, with Go's RE2 syntax and match semantics.
//!
//! Patterns are written in Go's syntax, which differs from the `regex` crate's in many small
//! ways (`\d` is ASCII-only, `\Q…\E` quotes, `[[a]` is a plain class, `a{,2}` is literal text,
//! `(?x)` is refused, repeat counts stop at 1000, group names may start with a digit...).
//! [`translate`] therefore parses the Go pattern itself, rejects what Go rejects, and emits an
//! equivalent pattern for the crate. Iteration over matches and `$` expansion follow Go's
//! rules (no empty match right after a match; `$name` takes the longest word).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};

use super::super::error::ErrorKind;
use super::super::value::Value;
use super::args::{int_at, str_arg, str_list};
use super::{FuncCtx, FuncError};

/// Compiled program size limits: generous for real patterns (Go accepts `\pL{1000}`), small
/// enough that hostile ones cannot exhaust memory.
const SIZE_LIMIT: usize = 8 << 20;
const DFA_SIZE_LIMIT: usize = 2 << 20;
/// Go's limit on `{n,m}` counts, also applied to nested counted repeats multiplied together.
const MAX_REPEAT: u32 = 1000;
/// Steps charged per byte of translated pattern times its repeat product.
const COMPILE_COST: u64 = 64;
/// How many compiled patterns a thread keeps; templates reuse a handful of patterns.
const CACHE_SIZE: usize = 8;

/// A compiled Go pattern: the crate's program plus Go's capture group names.
pub(super) struct GoRegex {
    re: Regex,
    /// Name of each capture group, index 0 being the whole match (`""` when unnamed).
    names: Vec<String>,
}

thread_local! {
    static CACHE: RefCell<Vec<(String, Rc<GoRegex>)>> = const { RefCell::new(Vec::new()) };
}

/// Compiles `pattern` as Go's `regexp.Compile` would, with a small per-thread cache.
/// A bad pattern fails with Go's panic text from `MustCompile` (close enough for people).
pub(super) fn compile(ctx: &mut FuncCtx, pattern: &str) -> Result<Rc<GoRegex>, FuncError> {
    if let Some(hit) = CACHE.with(|c| c.borrow().iter().find(|(p, _)| p == pattern).map(|(_, r)| r.clone())) {
        return Ok(hit);
    }
    let bad =
        |e: &str| FuncError::exec(format!("regexp: Compile({}): error parsing regexp: {e}", go_backquote(pattern)));
    let (translated, names, product) = translate(pattern).map_err(|e| bad(&e))?;
    // Compiling costs roughly the size of the expanded program; charge for it before
    // building so a template cannot compile many huge patterns for free.
    ctx.charge((translated.len() as u64).saturating_mul(u64::from(product.max(1))).saturating_mul(COMPILE_COST))?;
    let re =
        RegexBuilder::new(&translated).size_limit(SIZE_LIMIT).dfa_size_limit(DFA_SIZE_LIMIT).build().map_err(|e| {
            match e {
                regex::Error::CompiledTooBig(_) => bad("expression too large"),
                other => bad(&other.to_string()),
            }
        })?;
    let compiled = Rc::new(GoRegex { re, names });
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_SIZE {
            c.remove(0);
        }
        c.push((pattern.to_string(), compiled.clone()));
    });
    Ok(compiled)
}

/// How Go's `regexp.MustCompile` quotes the pattern in its panic.
fn go_backquote(s: &str) -> String {
    if s.contains('`') { format!("{s:?}") } else { format!("`{s}`") }
}

/// One level of grouping while translating.
#[derive(Default)]
struct Frame {
    /// Output offset of the group's opening parenthesis.
    open: usize,
    /// Largest product of nested counted repeats in the finished part of this group.
    max: u32,
    /// Where the last repeatable item starts in the output, and its repeat product.
    last: Option<(usize, u32)>,
    /// The last item was a repetition operator (Go refuses `a**`).
    after_repeat: bool,
    /// Output offset of flag settings (`(?i)`) emitted right after the last item, and
    /// whether repetitions were ungreedy (`(?U)`) before them.
    flags_at: Option<(usize, bool)>,
    /// The enclosing group's `U` flag, restored when this group closes.
    saved_ungreedy: bool,
}

impl Frame {
    fn close_item(&mut self) {
        if let Some((_, p)) = self.last.take() {
            self.max = self.max.max(p);
        }
    }
}

/// A translated pattern: the crate's syntax, Go's group names, and the largest product of
/// nested counted repeats (a rough measure of how large the compiled program gets).
type Translated = (String, Vec<String>, u32);

/// Translates a Go pattern into the crate's syntax.
fn translate(pattern: &str) -> Result<Translated, String> {
    let mut t = Translator {
        src: pattern,
        pos: 0,
        out: String::with_capacity(pattern.len() * 2),
        names: vec![],
        ungreedy: false,
    };
    t.names.push(String::new());
    let product = t.run()?;
    Ok((t.out, t.names, product))
}

struct Translator<'a> {
    src: &'a str,
    pos: usize,
    out: String,
    names: Vec<String>,
    /// Whether the `U` flag is on here (it decides what a trailing `?` on a repeat means).
    ungreedy: bool,
}

impl Translator<'_> {
    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn run(&mut self) -> Result<u32, String> {
        let mut stack: Vec<Frame> = Vec::new();
        let mut cur = Frame::default();
        while let Some(c) = self.peek() {
            let start = self.out.len();
            let mut repeat = false;
            match c {
                '(' => {
                    if stack.len() >= 1000 {
                        return Err("expression nests too deeply".into());
                    }
                    let ungreedy = self.ungreedy;
                    let opened = self.group_open()?;
                    cur.after_repeat = false;
                    if opened {
                        cur.close_item();
                        cur.flags_at = None;
                        let inner = Frame { open: start, saved_ungreedy: ungreedy, ..Frame::default() };
                        stack.push(std::mem::replace(&mut cur, inner));
                    } else if cur.last.is_some() && cur.flags_at.is_none() {
                        // Go still lets a repetition apply to the item before `(?i)`.
                        cur.flags_at = Some((start, ungreedy));
                    }
                    continue;
                }
                ')' => {
                    self.pos += 1;
                    let Some(mut outer) = stack.pop() else {
                        return Err(format!("unexpected ): `{}`", self.src));
                    };
                    cur.close_item();
                    self.out.push(')');
                    self.ungreedy = cur.saved_ungreedy;
                    outer.last = Some((cur.open, cur.max));
                    outer.after_repeat = false;
                    cur = outer;
                    continue;
                }
                '|' => {
                    self.pos += 1;
                    cur.close_item();
                    cur.flags_at = None;
                    self.out.push('|');
                }
                '*' | '+' | '?' => {
                    self.pos += 1;
                    self.repeat(&mut cur, &c.to_string(), 1, 1)?;
                    repeat = true;
                }
                '{' => {
                    if let Some((min, max, len)) = parse_repeat(self.rest()) {
                        let op = self.rest()[..len].to_string();
                        self.pos += len;
                        self.repeat(&mut cur, &op, min, max)?;
                        repeat = true;
                    } else {
                        self.pos += 1;
                        self.item(&mut cur, start, |o| o.push_str("\\{"));
                    }
                }
                '[' => {
                    self.pos += 1;
                    self.class()?;
                    self.item(&mut cur, start, |_| {});
                }
                '\\' => self.escape(&mut cur, start)?,
                '^' | '$' | '.' => {
                    self.pos += 1;
                    self.item(&mut cur, start, |o| o.push(c));
                }
                _ => {
                    self.pos += c.len_utf8();
                    self.item(&mut cur, start, |o| push_literal(o, c));
                }
            }
            cur.after_repeat = repeat;
        }
        if !stack.is_empty() {
            return Err(format!("missing closing ): `{}`", self.src));
        }
        cur.close_item();
        Ok(cur.max)
    }

    /// Records a repeatable item emitted by `emit` at output offset `start`.
    fn item(&mut self, cur: &mut Frame, start: usize, emit: impl FnOnce(&mut String)) {
        emit(&mut self.out);
        cur.close_item();
        cur.flags_at = None;
        cur.last = Some((start, 1));
    }

    /// Applies a repetition operator (`op` is its text) to the last item.
    fn repeat(&mut self, cur: &mut Frame, op: &str, min: u32, max: u32) -> Result<(), String> {
        let counted = op.starts_with('{');
        let lazy = self.peek() == Some('?');
        if lazy {
            self.pos += 1;
        }
        if cur.after_repeat {
            return Err(format!("invalid nested repetition operator: `{op}`"));
        }
        let Some((start, product)) = cur.last else {
            return Err(format!("missing argument to repetition operator: `{op}`"));
        };
        let product = if counted {
            if max == u32::MAX && min > MAX_REPEAT || max != u32::MAX && (max > MAX_REPEAT || min > max) {
                return Err(format!("invalid repeat count: `{op}`"));
            }
            let factor = match max {
                0 => 0,
                u32::MAX => min.max(1),
                m => m,
            };
            let p = product.saturating_mul(factor);
            if (min >= 2 || max >= 2) && p > MAX_REPEAT {
                return Err(format!("invalid repeat count: `{op}`"));
            }
            p
        } else {
            product
        };
        // Flag settings between the item and the operator move after the operator; Go reads
        // the repeat's greediness under the new flags, the crate under the old ones.
        let (flags, lazy) = match cur.flags_at.take() {
            Some((f, before)) => (self.out.split_off(f), lazy ^ before ^ self.ungreedy),
            None => (String::new(), lazy),
        };
        // Wrap the item so the crate sees one atom (it refuses repeated assertions like `^*`).
        self.out.insert_str(start, "(?:");
        self.out.push(')');
        self.out.push_str(&repeat_text(op, min, max));
        if lazy {
            self.out.push('?');
        }
        self.out.push_str(&flags);
        cur.last = Some((start, product));
        Ok(())
    }

    /// Opens a group: capture, named capture, non-capturing group or flag setting; says
    /// whether a group was opened (a bare `(?i)` only sets flags).
    fn group_open(&mut self) -> Result<bool, String> {
        let rest = self.rest();
        if !rest.starts_with("(?") {
            self.pos += 1;
            self.names.push(String::new());
            self.out.push('(');
            return Ok(true);
        }
        let named = if rest.starts_with("(?P<") {
            Some(4)
        } else if rest.starts_with("(?<") && rest.len() > 3 {
            Some(3)
        } else {
            None
        };
        if let Some(skip) = named {
            let Some(end) = rest.find('>') else {
                return Err(format!("invalid named capture: `{rest}`"));
            };
            let name = &rest[skip..end];
            if name.is_empty() || !name.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric()) {
                return Err(format!("invalid named capture: `{}`", &rest[..=end]));
            }
            // Go allows names the crate does not (leading digits, duplicates); groups are
            // emitted unnamed and names resolved here.
            self.names.push(name.to_string());
            self.pos += end + 1;
            self.out.push('(');
            return Ok(true);
        }
        self.flags()
    }

    /// Parses `(?flags)` or `(?flags:`; emits a normalised form the crate accepts and says
    /// whether a group was opened.
    fn flags(&mut self) -> Result<bool, String> {
        let begin = self.pos;
        self.pos += 2;
        let (mut on, mut off) = (String::new(), String::new());
        let mut negated = false;
        let mut saw_flag = false;
        while let Some(c) = self.bump() {
            match c {
                'i' | 'm' | 's' | 'U' => {
                    let (add, remove) = if negated { (&mut off, &mut on) } else { (&mut on, &mut off) };
                    remove.retain(|f| f != c);
                    if !add.contains(c) {
                        add.push(c);
                    }
                    saw_flag = true;
                }
                '-' if !negated => {
                    negated = true;
                    saw_flag = false;
                }
                ':' | ')' if !negated || saw_flag => {
                    let mut text = String::from("(?");
                    text.push_str(&on);
                    if !off.is_empty() {
                        text.push('-');
                        text.push_str(&off);
                    }
                    if on.contains('U') {
                        self.ungreedy = true;
                    } else if off.contains('U') {
                        self.ungreedy = false;
                    }
                    match (c, text.len()) {
                        (':', _) => self.out.push_str(&(text + ":")),
                        (_, 2) => {}
                        _ => self.out.push_str(&(text + ")")),
                    }
                    return Ok(c == ':');
                }
                _ => break,
            }
        }
        Err(format!("invalid or unsupported Perl syntax: `{}`", &self.src[begin..self.pos]))
    }

    /// Translates an escape outside a class.
    fn escape(&mut self, cur: &mut Frame, start: usize) -> Result<(), String> {
        let rest = self.rest();
        let Some(c) = rest[1..].chars().next() else {
            return Err("trailing backslash at end of expression: ``".into());
        };
        match c {
            'A' | 'z' => {
                self.pos += 2;
                self.item(cur, start, |o| {
                    o.push('\\');
                    o.push(c);
                });
            }
            // Go's word boundaries are ASCII-only.
            'b' | 'B' => {
                self.pos += 2;
                self.item(cur, start, |o| o.push_str(if c == 'b' { "(?-u:\\b)" } else { "(?-u:\\B)" }));
            }
            'Q' => {
                self.pos += 2;
                let lit = match self.rest().find("\\E") {
                    Some(i) => {
                        let l = &self.src[self.pos..self.pos + i];
                        self.pos += i + 2;
                        l
                    }
                    None => {
                        let l = &self.src[self.pos..];
                        self.pos = self.src.len();
                        l
                    }
                };
                // Each quoted character is its own item, as `\Qab\E*` repeats only `b`.
                for ch in lit.chars() {
                    let s = self.out.len();
                    self.item(cur, s, |o| push_literal(o, ch));
                }
            }
            'd' | 'D' | 's' | 'S' | 'w' | 'W' | 'p' | 'P' => {
                let mut body = String::new();
                let negated = self.class_escape(&mut body)?;
                self.item(cur, start, |o| {
                    o.push_str(if negated { "[^" } else { "[" });
                    o.push_str(&body);
                    o.push(']');
                });
            }
            _ => {
                let ch = self.char_escape()?;
                self.item(cur, start, |o| push_literal(o, ch));
            }
        }
        Ok(())
    }

    /// A Perl (`\d`) or Unicode (`\pL`) class escape at the cursor; appends its class body
    /// to `body` and says whether the class is negated.
    fn class_escape(&mut self, body: &mut String) -> Result<bool, String> {
        let c = self.rest()[1..].chars().next().unwrap_or('\0');
        self.pos += 2;
        let (set, negated) = match c {
            'd' | 'D' => ("0-9", c == 'D'),
            's' | 'S' => ("\\t\\n\\x0C\\r ", c == 'S'),
            'w' | 'W' => ("0-9A-Za-z_", c == 'W'),
            _ => {
                let (name, seq_end) = if self.peek() == Some('{') {
                    let Some(end) = self.rest().find('}') else {
                        return Err(format!("invalid character class range: `{}`", &self.src[self.pos - 2..]));
                    };
                    let name = self.rest()[1..end].to_string();
                    (name, self.pos + end + 1)
                } else {
                    let Some(ch) = self.peek() else {
                        return Err("invalid escape sequence".into());
                    };
                    (ch.to_string(), self.pos + ch.len_utf8())
                };
                self.pos = seq_end;
                let mut neg = c == 'P';
                let name = match name.strip_prefix('^') {
                    Some(n) => {
                        neg = !neg;
                        n.to_string()
                    }
                    None => name,
                };
                let Some(class) = go_unicode_class(&name) else {
                    return Err(format!("invalid character class range: `\\{c}{{{name}}}`"));
                };
                body.push_str(if neg { "\\P{" } else { "\\p{" });
                body.push_str(class);
                body.push('}');
                return Ok(false);
            }
        };
        body.push_str(set);
        Ok(negated)
    }

    /// A single-character escape (octal, hex, control, punctuation) at the cursor.
    fn char_escape(&mut self) -> Result<char, String> {
        let begin = self.pos;
        self.pos += 1;
        let bad = |t: &Self| format!("invalid escape sequence: `{}`", &t.src[begin..t.pos]);
        let Some(c) = self.bump() else {
            return Err("trailing backslash at end of expression: ``".into());
        };
        match c {
            '1'..='7' if !matches!(self.peek(), Some('0'..='7')) => Err(bad(self)),
            '0'..='7' => {
                let mut v = c as u32 - '0' as u32;
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ '0'..='7') => {
                            self.pos += 1;
                            v = v * 8 + (d as u32 - '0' as u32);
                        }
                        _ => break,
                    }
                }
                Ok(char::from_u32(v).unwrap_or('\0'))
            }
            'x' => self.hex_escape().ok_or_else(|| bad(self)),
            'a' => Ok('\x07'),
            'f' => Ok('\x0C'),
            't' => Ok('\t'),
            'n' => Ok('\n'),
            'r' => Ok('\r'),
            'v' => Ok('\x0B'),
            c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok(c),
            _ => Err(bad(self)),
        }
    }

    /// `\xHH` or `\x{H…}` after the `x`.
    fn hex_escape(&mut self) -> Option<char> {
        if self.peek() == Some('{') {
            let end = self.rest().find('}')?;
            let digits = &self.rest()[1..end];
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let v = u32::from_str_radix(digits, 16).ok()?;
            self.pos += end + 1;
            return if v > 0x10FFFF { None } else { Some(char::from_u32(v).unwrap_or('\u{FFFD}')) };
        }
        let digits = self.rest().get(..2)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let v = u32::from_str_radix(digits, 16).ok()?;
        self.pos += 2;
        char::from_u32(v)
    }

    /// A bracketed class; the cursor is just past `[`.
    fn class(&mut self) -> Result<(), String> {
        let begin = self.pos - 1;
        let missing = |t: &Self| format!("missing closing ]: `{}`", &t.src[begin..]);
        let mut body = String::new();
        let negated = self.rest().starts_with('^');
        if negated {
            self.pos += 1;
        }
        let mut first = true;
        loop {
            match self.peek() {
                None => return Err(missing(self)),
                Some(']') if !first => {
                    self.pos += 1;
                    break;
                }
                _ => {}
            }
            first = false;
            let rest = self.rest();
            if let Some(i) = rest.strip_prefix("[:").and_then(|r| r.find(":]")) {
                let name = &rest[2..2 + i];
                let bare = name.strip_prefix('^').unwrap_or(name);
                if !POSIX_CLASSES.contains(&bare) {
                    return Err(format!("invalid character class range: `{}`", &rest[..i + 4]));
                }
                body.push_str(&rest[..i + 4]);
                self.pos += i + 4;
                continue;
            }
            if rest.starts_with("\\p") || rest.starts_with("\\P") || is_perl_class(rest) {
                let mut inner = String::new();
                if self.class_escape(&mut inner)? {
                    body.push_str("[^");
                    body.push_str(&inner);
                    body.push(']');
                } else {
                    body.push_str(&inner);
                }
                continue;
            }
            let lo = self.class_char().ok_or_else(|| missing(self))??;
            let rest = self.rest();
            let mut hi = lo;
            if rest.len() >= 2 && rest.starts_with('-') && !rest[1..].starts_with(']') {
                self.pos += 1;
                hi = self.class_char().ok_or_else(|| missing(self))??;
                if hi < lo {
                    return Err("invalid character class range".into());
                }
            }
            push_class_char(&mut body, lo);
            if hi != lo {
                body.push('-');
                push_class_char(&mut body, hi);
            }
        }
        self.out.push_str(if negated { "[^" } else { "[" });
        self.out.push_str(&body);
        self.out.push(']');
        Ok(())
    }

    /// One class member character, escaped or not; `None` at the end of the pattern.
    fn class_char(&mut self) -> Option<Result<char, String>> {
        match self.peek()? {
            '\\' => Some(self.char_escape()),
            c => {
                self.pos += c.len_utf8();
                Some(Ok(c))
            }
        }
    }
}

fn is_perl_class(s: &str) -> bool {
    matches!(s.as_bytes(), [b'\\', b'd' | b'D' | b's' | b'S' | b'w' | b'W', ..])
}

const POSIX_CLASSES: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space", "upper", "word",
    "xdigit",
];

/// Go's canonical Unicode class lookup key: no `_`, `-` or spaces, first letter upper case,
/// the rest lower case.
fn canonical_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().filter(|c| !matches!(c, '_' | '-' | ' ')) {
        if out.is_empty() {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The crate's name for a Unicode class Go knows (categories, scripts and category
/// aliases, loosely spelled), or `None` when Go refuses the name.
fn go_unicode_class(name: &str) -> Option<&'static str> {
    let key = canonical_name(name);
    match key.as_str() {
        "Any" => return Some("Any"),
        "Assigned" => return Some("Assigned"),
        "Ascii" => return Some("ASCII"),
        _ => {}
    }
    let same = |n: &str| canonical_name(n) == key;
    GO_CATEGORIES
        .iter()
        .chain(GO_SCRIPTS)
        .find(|n| same(n))
        .copied()
        .or_else(|| GO_CATEGORY_ALIASES.iter().find(|(a, _)| same(a)).map(|(_, c)| *c))
}

/// The crate's spelling of a repetition operator.
fn repeat_text(op: &str, min: u32, max: u32) -> String {
    match (op, max) {
        ("*" | "+" | "?", _) => op.to_string(),
        (_, u32::MAX) => format!("{{{min},}}"),
        _ => format!("{{{min},{max}}}"),
    }
}

/// Parses a Go counted repetition `{n}`, `{n,}` or `{n,m}`; returns (min, max, length) with
/// `u32::MAX` as an unbounded max. Anything else makes `{` a literal.
fn parse_repeat(s: &str) -> Option<(u32, u32, usize)> {
    let b = s.as_bytes();
    let mut i = 1;
    let min = parse_count(b, &mut i)?;
    let max = match b.get(i)? {
        b',' => {
            i += 1;
            if b.get(i)? == &b'}' { u32::MAX } else { parse_count(b, &mut i)? }
        }
        _ => min,
    };
    if b.get(i)? != &b'}' {
        return None;
    }
    Some((min, max, i + 1))
}

/// Decimal digits without leading zeros; absurdly large values saturate (then fail the limit).
fn parse_count(b: &[u8], i: &mut usize) -> Option<u32> {
    let start = *i;
    while b.get(*i).is_some_and(u8::is_ascii_digit) {
        *i += 1;
    }
    let digits = &b[start..*i];
    if digits.is_empty() || digits.len() >= 2 && digits[0] == b'0' {
        return None;
    }
    Some(digits.iter().fold(0u32, |v, d| v.saturating_mul(10).saturating_add(u32::from(d - b'0'))).min(u32::MAX - 1))
}

/// Appends a literal character outside a class.
fn push_literal(out: &mut String, c: char) {
    // The crate gives `\<` and `\>` a meaning; every other ASCII punctuation escapes safely.
    if c.is_ascii_punctuation() && c != '<' && c != '>' {
        out.push('\\');
    }
    out.push(c);
}

/// Appends a class member; hex escapes sidestep the crate's class set operators.
fn push_class_char(out: &mut String, c: char) {
    out.push_str(&format!("\\x{{{:X}}}", c as u32));
}

/// Steps charged for one search over `n` bytes. A search may look ahead to the end of the
/// text, so repeated searches are charged for the rest of the text each time.
fn scan_cost(n: usize) -> u64 {
    n as u64 / 64 + 1
}

/// Go's iteration over successive matches: no empty match right after a previous match.
/// `f` receives each match's (start, end); returns false to stop.
fn each_match(
    ctx: &mut FuncCtx,
    re: &Regex,
    s: &str,
    mut max: i64,
    mut f: impl FnMut(usize, usize) -> bool,
) -> Result<(), FuncError> {
    if max == 0 {
        return Ok(());
    }
    let (mut pos, mut prev_end) = (0usize, usize::MAX);
    while pos <= s.len() {
        ctx.charge(scan_cost(s.len() - pos))?;
        let Some(m) = re.find_at(s, pos) else { break };
        let accept = !(m.end() == pos && m.start() == prev_end);
        if m.end() == pos {
            pos += s[pos..].chars().next().map_or(1, char::len_utf8);
        } else {
            pos = m.end();
        }
        prev_end = m.end();
        if accept {
            if !f(m.start(), m.end()) {
                return Ok(());
            }
            if max > 0 {
                max -= 1;
                if max == 0 {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// `FindAllString`-style match list, bounded by the item limit.
fn find_all(ctx: &mut FuncCtx, re: &Regex, s: &str, n: i64) -> Result<Vec<(usize, usize)>, FuncError> {
    let mut found = Vec::new();
    let limit = ctx.max_bytes / 8;
    each_match(ctx, re, s, n, |a, b| {
        found.push((a, b));
        found.len() <= limit
    })?;
    ctx.check_items(found.len())?;
    Ok(found)
}

/// `regexMatch regex s`: an invalid pattern is simply no match (Sprig drops the error).
pub(super) fn regex_match(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let (pat, s) = (str_arg(&a[0])?, str_arg(&a[1])?);
    let re = match compile(ctx, pat) {
        Ok(re) => re,
        Err(e) if e.kind == ErrorKind::Limit => return Err(e),
        Err(_) => return Ok(Value::Bool(false)),
    };
    ctx.charge(scan_cost(s.len()))?;
    Ok(Value::Bool(re.re.is_match(s)))
}

/// `regexFind regex s`: the leftmost match, or "".
pub(super) fn regex_find(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let (pat, s) = (str_arg(&a[0])?, str_arg(&a[1])?);
    let re = compile(ctx, pat)?;
    ctx.charge(scan_cost(s.len()))?;
    Ok(Value::str(re.re.find(s).map_or("", |m| m.as_str())))
}

/// `regexFindAll regex s n`: up to n matches (all when n < 0).
pub(super) fn regex_find_all(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let (pat, s, n) = (str_arg(&a[0])?, str_arg(&a[1])?, int_at(ctx, a, 2)?);
    let re = compile(ctx, pat)?;
    let found = find_all(ctx, &re.re, s, n)?;
    Ok(str_list(found.into_iter().map(|(x, y)| s[x..y].to_string()).collect()))
}

/// `regexSplit regex s n`: Go's `Regexp.Split`.
pub(super) fn regex_split(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let (pat, s, n) = (str_arg(&a[0])?, str_arg(&a[1])?, int_at(ctx, a, 2)?);
    let re = compile(ctx, pat)?;
    if n == 0 {
        return Ok(str_list(Vec::new()));
    }
    if !pat.is_empty() && s.is_empty() {
        return Ok(str_list(vec![String::new()]));
    }
    let found = find_all(ctx, &re.re, s, n)?;
    let mut parts = Vec::with_capacity(found.len() + 1);
    let (mut beg, mut end) = (0, 0);
    for (ms, me) in found {
        if n > 0 && parts.len() as i64 >= n - 1 {
            break;
        }
        end = ms;
        if me != 0 {
            parts.push(s[beg..end].to_string());
        }
        beg = me;
    }
    if end != s.len() {
        parts.push(s[beg..].to_string());
    }
    ctx.check_items(parts.len())?;
    Ok(str_list(parts))
}

/// `regexReplaceAll regex s repl`: `$1`, `${name}` and `$$` expand as in Go.
pub(super) fn regex_replace_all(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let (pat, s, repl) = (str_arg(&a[0])?, str_arg(&a[1])?, str_arg(&a[2])?);
    let re = compile(ctx, pat)?;
    let expand = repl.contains('$');
    replace_all(ctx, &re, s, |out, caps| {
        if expand {
            go_expand(out, repl, &re.names, s, caps);
        } else {
            out.push_str(repl);
        }
    })
}

/// `regexReplaceAllLiteral regex s repl`: the replacement is inserted as is.
pub(super) fn regex_replace_all_literal(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let (pat, s, repl) = (str_arg(&a[0])?, str_arg(&a[1])?, str_arg(&a[2])?);
    let re = compile(ctx, pat)?;
    replace_all(ctx, &re, s, |out, _| out.push_str(repl))
}

/// Go's `replaceAll` loop; `repl` appends the replacement for one match.
fn replace_all(
    ctx: &mut FuncCtx,
    re: &GoRegex,
    s: &str,
    mut repl: impl FnMut(&mut String, &regex::Captures<'_>),
) -> Result<Value, FuncError> {
    let mut out = String::new();
    let (mut last_end, mut pos) = (0usize, 0usize);
    while pos <= s.len() {
        ctx.charge(scan_cost(s.len() - pos))?;
        let Some(caps) = re.re.captures_at(s, pos) else { break };
        let m = caps.get(0).map_or(0..0, |m| m.range());
        out.push_str(&s[last_end..m.start]);
        // No replacement for an empty match right after the previous match.
        if m.end > last_end || m.start == 0 {
            repl(&mut out, &caps);
        }
        ctx.check_len(out.len())?;
        last_end = m.end;
        let width = s[pos..].chars().next().map_or(0, char::len_utf8);
        pos = if pos + width > m.end {
            pos + width
        } else if pos + 1 > m.end {
            pos + 1
        } else {
            m.end
        };
    }
    out.push_str(&s[last_end..]);
    ctx.check_len(out.len())?;
    Ok(Value::string(out))
}

/// Go's `Regexp.expand` for a replacement template.
fn go_expand(out: &mut String, mut tpl: &str, names: &[String], src: &str, caps: &regex::Captures<'_>) {
    let group = |i: usize| caps.get(i).map(|m| &src[m.range()]);
    while let Some(i) = tpl.find('$') {
        out.push_str(&tpl[..i]);
        tpl = &tpl[i + 1..];
        if let Some(r) = tpl.strip_prefix('$') {
            out.push('$');
            tpl = r;
            continue;
        }
        let Some((name, rest)) = extract_name(tpl) else {
            out.push('$');
            continue;
        };
        tpl = rest;
        let text = match group_number(name) {
            Some(n) => group(n),
            None => names.iter().enumerate().find_map(|(i, n)| if n == name { group(i) } else { None }),
        };
        out.push_str(text.unwrap_or(""));
    }
    out.push_str(tpl);
}

/// The name after `$`: the longest run of letters, digits and `_`, optionally in braces.
fn extract_name(s: &str) -> Option<(&str, &str)> {
    let (body, brace) = match s.strip_prefix('{') {
        Some(b) => (b, true),
        None => (s, false),
    };
    let len: usize = body.chars().take_while(|&c| is_name_char(c)).map(char::len_utf8).sum();
    if len == 0 {
        return None;
    }
    let name = &body[..len];
    if brace {
        let rest = body[len..].strip_prefix('}')?;
        return Some((name, rest));
    }
    Some((name, &body[len..]))
}

/// Go's `unicode.IsLetter || unicode.IsDigit || '_'`.
fn is_name_char(c: char) -> bool {
    static LETTER_OR_DIGIT: OnceLock<Option<Regex>> = OnceLock::new();
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    LETTER_OR_DIGIT
        .get_or_init(|| Regex::new(r"^[\p{L}\p{Nd}]$").ok())
        .as_ref()
        .is_some_and(|re| re.is_match(c.encode_utf8(&mut [0; 4])))
}

/// A group number: at most nine decimal digits without a leading zero (Go's limit).
fn group_number(name: &str) -> Option<usize> {
    if !name.bytes().all(|b| b.is_ascii_digit()) || name.len() > 1 && name.starts_with('0') || name.len() > 9 {
        return None;
    }
    name.parse().ok()
}

// Go's `unicode.Categories`, `unicode.Scripts` and `unicode.CategoryAliases` names.
const GO_CATEGORIES: &[&str] = &[
    "C", "Cc", "Cf", "Cn", "Co", "Cs", "L", "LC", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn", "N", "Nd", "Nl",
    "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm", "So", "Z", "Zl", "Zp", "Zs",
];

const GO_CATEGORY_ALIASES: &[(&str, &str)] = &[
    ("Cased_Letter", "LC"),
    ("Close_Punctuation", "Pe"),
    ("Combining_Mark", "M"),
    ("Connector_Punctuation", "Pc"),
    ("Control", "Cc"),
    ("Currency_Symbol", "Sc"),
    ("Dash_Punctuation", "Pd"),
    ("Decimal_Number", "Nd"),
    ("Enclosing_Mark", "Me"),
    ("Final_Punctuation", "Pf"),
    ("Format", "Cf"),
    ("Initial_Punctuation", "Pi"),
    ("Letter", "L"),
    ("Letter_Number", "Nl"),
    ("Line_Separator", "Zl"),
    ("Lowercase_Letter", "Ll"),
    ("Mark", "M"),
    ("Math_Symbol", "Sm"),
    ("Modifier_Letter", "Lm"),
    ("Modifier_Symbol", "Sk"),
    ("Nonspacing_Mark", "Mn"),
    ("Number", "N"),
    ("Open_Punctuation", "Ps"),
    ("Other", "C"),
    ("Other_Letter", "Lo"),
    ("Other_Number", "No"),
    ("Other_Punctuation", "Po"),
    ("Other_Symbol", "So"),
    ("Paragraph_Separator", "Zp"),
    ("Private_Use", "Co"),
    ("Punctuation", "P"),
    ("Separator", "Z"),
    ("Space_Separator", "Zs"),
    ("Spacing_Mark", "Mc"),
    ("Surrogate", "Cs"),
    ("Symbol", "S"),
    ("Titlecase_Letter", "Lt"),
    ("Unassigned", "Cn"),
    ("Uppercase_Letter", "Lu"),
    ("cntrl", "Cc"),
    ("digit", "Nd"),
    ("punct", "P"),
];

const GO_SCRIPTS: &[&str] = &[
    "Adlam",
    "Ahom",
    "Anatolian_Hieroglyphs",
    "Arabic",
    "Armenian",
    "Avestan",
    "Balinese",
    "Bamum",
    "Bassa_Vah",
    "Batak",
    "Bengali",
    "Beria_Erfe",
    "Bhaiksuki",
    "Bopomofo",
    "Brahmi",
    "Braille",
    "Buginese",
    "Buhid",
    "Canadian_Aboriginal",
    "Carian",
    "Caucasian_Albanian",
    "Chakma",
    "Cham",
    "Cherokee",
    "Chorasmian",
    "Common",
    "Coptic",
    "Cuneiform",
    "Cypriot",
    "Cypro_Minoan",
    "Cyrillic",
    "Deseret",
    "Devanagari",
    "Dives_Akuru",
    "Dogra",
    "Duployan",
    "Egyptian_Hieroglyphs",
    "Elbasan",
    "Elymaic",
    "Ethiopic",
    "Garay",
    "Georgian",
    "Glagolitic",
    "Gothic",
    "Grantha",
    "Greek",
    "Gujarati",
    "Gunjala_Gondi",
    "Gurmukhi",
    "Gurung_Khema",
    "Han",
    "Hangul",
    "Hanifi_Rohingya",
    "Hanunoo",
    "Hatran",
    "Hebrew",
    "Hiragana",
    "Imperial_Aramaic",
    "Inherited",
    "Inscriptional_Pahlavi",
    "Inscriptional_Parthian",
    "Javanese",
    "Kaithi",
    "Kannada",
    "Katakana",
    "Kawi",
    "Kayah_Li",
    "Kharoshthi",
    "Khitan_Small_Script",
    "Khmer",
    "Khojki",
    "Khudawadi",
    "Kirat_Rai",
    "Lao",
    "Latin",
    "Lepcha",
    "Limbu",
    "Linear_A",
    "Linear_B",
    "Lisu",
    "Lycian",
    "Lydian",
    "Mahajani",
    "Makasar",
    "Malayalam",
    "Mandaic",
    "Manichaean",
    "Marchen",
    "Masaram_Gondi",
    "Medefaidrin",
    "Meetei_Mayek",
    "Mende_Kikakui",
    "Meroitic_Cursive",
    "Meroitic_Hieroglyphs",
    "Miao",
    "Modi",
    "Mongolian",
    "Mro",
    "Multani",
    "Myanmar",
    "Nabataean",
    "Nag_Mundari",
    "Nandinagari",
    "New_Tai_Lue",
    "Newa",
    "Nko",
    "Nushu",
    "Nyiakeng_Puachue_Hmong",
    "Ogham",
    "Ol_Chiki",
    "Ol_Onal",
    "Old_Hungarian",
    "Old_Italic",
    "Old_North_Arabian",
    "Old_Permic",
    "Old_Persian",
    "Old_Sogdian",
    "Old_South_Arabian",
    "Old_Turkic",
    "Old_Uyghur",
    "Oriya",
    "Osage",
    "Osmanya",
    "Pahawh_Hmong",
    "Palmyrene",
    "Pau_Cin_Hau",
    "Phags_Pa",
    "Phoenician",
    "Psalter_Pahlavi",
    "Rejang",
    "Runic",
    "Samaritan",
    "Saurashtra",
    "Sharada",
    "Shavian",
    "Siddham",
    "Sidetic",
    "SignWriting",
    "Sinhala",
    "Sogdian",
    "Sora_Sompeng",
    "Soyombo",
    "Sundanese",
    "Sunuwar",
    "Syloti_Nagri",
    "Syriac",
    "Tagalog",
    "Tagbanwa",
    "Tai_Le",
    "Tai_Tham",
    "Tai_Viet",
    "Tai_Yo",
    "Takri",
    "Tamil",
    "Tangsa",
    "Tangut",
    "Telugu",
    "Thaana",
    "Thai",
    "Tibetan",
    "Tifinagh",
    "Tirhuta",
    "Todhri",
    "Tolong_Siki",
    "Toto",
    "Tulu_Tigalari",
    "Ugaritic",
    "Vai",
    "Vithkuqi",
    "Wancho",
    "Warang_Citi",
    "Yezidi",
    "Yi",
    "Zanabazar_Square",
];

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn translates_go_only_syntax() {
        assert_eq!(translate(r"\d").unwrap().0, "[0-9]");
        assert!(translate("a**").is_err());
        assert!(translate("(?x)a").is_err());
        assert!(translate("a{1001}").is_err());
        assert!(translate("(a{100}){20}").is_err());
        assert_eq!(translate("a{,2}").unwrap().0, "a\\{\\,2\\}");
        assert_eq!(translate("(?P<1a>x)").unwrap().1, vec!["".to_string(), "1a".to_string()]);
    }
}
