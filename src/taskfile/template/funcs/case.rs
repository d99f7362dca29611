//! Word-case conversions: `title untitle snakecase kebabcase camelcase`.

use super::super::value::Value;
use super::args::str_arg;
use super::strings::{simple_lower, simple_upper};
use super::{FuncCtx, FuncError};

/// Go's strings.Title word boundary rule.
fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphabetic() || c.is_numeric() {
        return false;
    }
    c.is_whitespace()
}

/// `title s`: upper-cases the first letter of every word.
pub(super) fn title(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let mut prev = ' ';
    let out: String = str_arg(&a[0])?
        .chars()
        .map(|c| {
            let mapped = if is_separator(prev) { simple_upper(c).unwrap_or(c) } else { c };
            prev = c;
            mapped
        })
        .collect();
    Ok(Value::string(out))
}

/// `untitle s`: lower-cases the first letter of every white-space separated word.
pub(super) fn untitle(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let mut at_start = true;
    let out: String = str_arg(&a[0])?
        .chars()
        .map(|c| {
            let mapped = if at_start { simple_lower(c).unwrap_or(c) } else { c };
            at_start = c.is_whitespace();
            mapped
        })
        .collect();
    Ok(Value::string(out))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Upper,
    Lower,
    Digit,
    Other,
}

fn class(c: char) -> Class {
    if c.is_numeric() {
        Class::Digit
    } else if c.is_uppercase() {
        Class::Upper
    } else if c.is_alphabetic() {
        Class::Lower
    } else {
        Class::Other
    }
}

/// Splits identifiers into words the way xstrings does for the common cases:
/// "HTTPServer" → [HTTP, Server], "http2xx" → [http, 2xx], "Bld4Floor" → [Bld4, Floor].
fn words(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    // Whether the current word started with digits (then lower-case letters may follow).
    let mut numeric_word = false;
    for (i, &c) in chars.iter().enumerate() {
        let cl = class(c);
        if cl == Class::Other {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let prev = if cur.is_empty() { None } else { chars.get(i.wrapping_sub(1)).map(|&p| class(p)) };
        let next = chars.get(i + 1).map(|&n| class(n));
        let boundary = match (prev, cl) {
            (None, _) => false,
            (Some(Class::Lower), Class::Upper) => true,
            (Some(Class::Digit), Class::Upper) => true,
            (Some(Class::Upper), Class::Upper) => next == Some(Class::Lower),
            // Digits join the word before them unless lower-case letters follow them.
            (Some(Class::Upper | Class::Lower), Class::Digit) if !numeric_word => {
                let mut j = i;
                while j < chars.len() && class(chars[j]) == Class::Digit {
                    j += 1;
                }
                chars.get(j).is_some_and(|&n| class(n) == Class::Lower)
            }
            (Some(Class::Digit), Class::Lower) => !numeric_word,
            _ => false,
        };
        if boundary {
            out.push(std::mem::take(&mut cur));
        }
        if cur.is_empty() {
            numeric_word = cl == Class::Digit;
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn joined_lower(s: &str, sep: &str) -> String {
    words(s)
        .iter()
        .map(|w| w.chars().map(|c| simple_lower(c).unwrap_or(c)).collect::<String>())
        .collect::<Vec<_>>()
        .join(sep)
}

/// `snakecase s`: "FirstName" → "first_name".
pub(super) fn snakecase(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::string(joined_lower(str_arg(&a[0])?, "_")))
}

/// `kebabcase s`: "FirstName" → "first-name".
pub(super) fn kebabcase(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::string(joined_lower(str_arg(&a[0])?, "-")))
}

fn is_connector(c: char) -> bool {
    c == '_' || c == '-' || c.is_whitespace()
}

/// `camelcase s`: "http_server" → "HttpServer". Leading connectors are kept, and one
/// connector of a doubled run survives ("_a__b_" → "_A_B_"), as in xstrings.
pub(super) fn camelcase(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let s = str_arg(&a[0])?;
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if !is_connector(c) {
            break;
        }
        out.push(c);
        chars.next();
    }
    let mut prev_connector = true;
    let mut pending: Option<char> = None;
    for c in chars {
        if is_connector(c) {
            if let Some(p) = pending.take() {
                out.push(p);
            }
            pending = Some(c);
            prev_connector = true;
            continue;
        }
        if prev_connector {
            pending = None;
            out.push(simple_upper(c).unwrap_or(c));
        } else {
            out.push(c);
        }
        prev_connector = false;
    }
    if let Some(p) = pending {
        out.push(p);
    }
    Ok(Value::string(out))
}
