//! Go literal syntax: quoted strings, character constants and numbers (as `strconv` reads them).

use super::gofmt::quote;

/// A numeric literal after Go's "ideal constant" resolution.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Number {
    Int(i64),
    Float(f64),
}

/// Decodes a `"..."` or `` `...` `` literal (quotes included) like `strconv.Unquote`.
pub(super) fn unquote(raw: &str) -> Result<String, String> {
    if let Some(body) = raw.strip_prefix('`').and_then(|r| r.strip_suffix('`')) {
        // Go drops carriage returns from raw strings.
        return Ok(body.chars().filter(|&c| c != '\r').collect());
    }
    let body = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .ok_or_else(|| format!("invalid string literal {raw}"))?;
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        decode_escape(&mut chars, '"', &mut out).map_err(|_| bad_literal(raw))?;
    }
    // \x and octal escapes may form invalid UTF-8; Go keeps the bytes, we must replace them.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Decodes a `'x'` character constant to its code point.
pub(super) fn unquote_char(raw: &str) -> Result<i64, String> {
    let body = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')).ok_or_else(|| bad_literal(raw))?;
    let mut chars = body.chars();
    let value = match chars.next() {
        Some('\\') => {
            let mut out = Vec::new();
            let code = decode_escape(&mut chars, '\'', &mut out).map_err(|_| bad_literal(raw))?;
            match code {
                Some(c) => c,
                None => out.first().copied().map(u32::from).unwrap_or(0),
            }
        }
        Some('\'') | None => return Err(bad_literal(raw)),
        Some(c) => u32::from(c),
    };
    if chars.next().is_some() {
        return Err(bad_literal(raw));
    }
    Ok(i64::from(value))
}

fn bad_literal(raw: &str) -> String {
    format!("invalid syntax in literal {}", quote(raw))
}

/// Decodes one escape (after the backslash). Returns the code point for \u, \U and simple
/// escapes; byte escapes (\x, octal) are pushed raw and return `None`.
fn decode_escape(chars: &mut std::str::Chars<'_>, quote_char: char, out: &mut Vec<u8>) -> Result<Option<u32>, ()> {
    let c = chars.next().ok_or(())?;
    let simple = match c {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        '\\' => Some('\\'),
        c if c == quote_char => Some(c),
        _ => None,
    };
    if let Some(ch) = simple {
        push_char(out, ch);
        return Ok(Some(u32::from(ch)));
    }
    match c {
        'x' => {
            let v = read_digits(chars, 2, 16)?;
            out.push(u8::try_from(v).map_err(|_| ())?);
            Ok(None)
        }
        '0'..='7' => {
            let rest = read_digits(chars, 2, 8)?;
            let v = (c as u32 - '0' as u32) * 64 + rest;
            out.push(u8::try_from(v).map_err(|_| ())?);
            Ok(None)
        }
        'u' | 'U' => {
            let n = if c == 'u' { 4 } else { 8 };
            let v = read_digits(chars, n, 16)?;
            let ch = char::from_u32(v).ok_or(())?;
            push_char(out, ch);
            Ok(Some(v))
        }
        _ => Err(()),
    }
}

fn push_char(out: &mut Vec<u8>, ch: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
}

fn read_digits(chars: &mut std::str::Chars<'_>, n: usize, radix: u32) -> Result<u32, ()> {
    let mut v: u32 = 0;
    for _ in 0..n {
        let d = chars.next().and_then(|c| c.to_digit(radix)).ok_or(())?;
        v = v * radix + d;
    }
    Ok(v)
}

/// Parses a number token the way the Go template parser and executor together do:
/// integers stay integers, anything written with `.`, `e` or `p` is a float.
pub(super) fn parse_number(text: &str, is_char: bool) -> Result<Number, String> {
    if is_char {
        return unquote_char(text).map(Number::Int);
    }
    if text.ends_with('i') {
        return Err(format!("complex number {} is not supported", quote(text)));
    }
    if let Some(i) = parse_go_int(text) {
        return Ok(Number::Int(i));
    }
    if parse_go_uint(text).is_some() {
        return Err(format!("{text} overflows int"));
    }
    if let Some(f) = parse_go_float(text) {
        let hex = text.contains("0x") || text.contains("0X");
        if hex || !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", quote(text)));
        }
        return Ok(Number::Float(f));
    }
    Err(format!("illegal number syntax: {}", quote(text)))
}

/// `strconv.ParseInt(s, 0, 64)`: optional sign, 0x/0o/0b/0 prefixes, `_` separators.
pub(super) fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = split_sign(s);
    let mag = parse_magnitude(body)?;
    if neg {
        if mag == 1u64 << 63 { Some(i64::MIN) } else { i64::try_from(mag).ok().map(|v| -v) }
    } else {
        i64::try_from(mag).ok()
    }
}

/// `strconv.ParseUint(s, 0, 64)`.
fn parse_go_uint(s: &str) -> Option<u64> {
    if s.starts_with(['+', '-']) {
        return None;
    }
    parse_magnitude(s)
}

fn split_sign(s: &str) -> (bool, &str) {
    if let Some(r) = s.strip_prefix('-') {
        (true, r)
    } else if let Some(r) = s.strip_prefix('+') {
        (false, r)
    } else {
        (false, s)
    }
}

fn parse_magnitude(body: &str) -> Option<u64> {
    let lower = |i: usize| body.as_bytes().get(i).map(|b| b.to_ascii_lowercase());
    let (radix, digits) = match (lower(0), lower(1)) {
        (Some(b'0'), Some(b'x')) => (16, &body[2..]),
        (Some(b'0'), Some(b'o')) => (8, &body[2..]),
        (Some(b'0'), Some(b'b')) => (2, &body[2..]),
        (Some(b'0'), Some(_)) => (8, &body[1..]),
        _ => (10, body),
    };
    if digits.is_empty() {
        return None;
    }
    if digits.contains('_') {
        if !underscore_ok(body) {
            return None;
        }
        let clean: String = digits.chars().filter(|&c| c != '_').collect();
        return u64::from_str_radix(&clean, radix).ok();
    }
    if digits.starts_with(['+', '-']) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Go's rule: underscores only between digits, or between a base prefix and a digit.
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let mut saw = b'^';
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// `strconv.ParseFloat(s, 64)` for decimal syntax (hex floats are not supported).
/// Out-of-range values are errors, as in Go.
pub(super) fn parse_go_float(s: &str) -> Option<f64> {
    let clean: std::borrow::Cow<'_, str> = if s.contains('_') {
        let (_, body) = split_sign(s);
        if !underscore_ok(body) {
            return None;
        }
        s.chars().filter(|&c| c != '_').collect::<String>().into()
    } else {
        s.into()
    };
    let body = split_sign(&clean).1;
    let named =
        body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") || body.eq_ignore_ascii_case("nan");
    if !named && !body.bytes().all(|b| b.is_ascii_digit() || b".eE+-".contains(&b)) {
        return None;
    }
    let f: f64 = clean.parse().ok()?;
    if f.is_infinite() && !named {
        return None;
    }
    Some(f)
}
