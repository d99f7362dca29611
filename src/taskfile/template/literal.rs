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
    let body = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')).ok_or_else(|| "invalid syntax".to_string())?;
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        decode_escape(&mut chars, '"', &mut out).map_err(|_| "invalid syntax".to_string())?;
    }
    // \x and octal escapes may form invalid UTF-8; Go keeps the bytes, we must replace them.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Decodes a `'x'` character constant to its code point, with Go's parse errors.
pub(super) fn unquote_char(raw: &str) -> Result<i64, String> {
    let body = raw.strip_prefix('\'').ok_or_else(|| "invalid syntax".to_string())?;
    let mut chars = body.chars();
    let value = match chars.next() {
        Some('\\') => {
            let mut out = Vec::new();
            let code = decode_escape(&mut chars, '\'', &mut out).map_err(|_| "invalid syntax".to_string())?;
            match code {
                Some(c) => c,
                None => out.first().copied().map(u32::from).unwrap_or(0),
            }
        }
        Some('\'') | None => return Err("invalid syntax".into()),
        Some(c) => u32::from(c),
    };
    if chars.as_str() != "'" {
        return Err(format!("malformed character constant: {raw}"));
    }
    Ok(i64::from(value))
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

/// Parses a number token the way the Go template parser and executor together do: Go keeps
/// every reading of the constant and then prefers a float when the text looks like one
/// (`.`, `e` or `p`, except in a plain hex integer such as `0x1E`), else an int.
pub(super) fn parse_number(text: &str, is_char: bool) -> Result<Number, String> {
    if is_char {
        return unquote_char(text).map(Number::Int);
    }
    // Go reads "1.5i" as a complex constant (which drydock does not model); "0x10i" is not one.
    if let Some(imag) = text.strip_suffix('i')
        && parse_go_float(imag).is_some()
    {
        return Err(format!("complex number {} is not supported", quote(text)));
    }
    let looks_float = text.contains(['.', 'e', 'E', 'p', 'P']) && !is_hex_int(text);
    if let Some(i) = parse_go_int(text) {
        // "-0x1E" is not a hex integer by Go's test (it starts with a sign), so it is a float.
        return Ok(if looks_float { Number::Float(i as f64) } else { Number::Int(i) });
    }
    let uint = parse_go_uint(text);
    if let Some(u) = uint
        && looks_float
    {
        return Ok(Number::Float(u as f64));
    }
    if uint.is_some() {
        return Err(format!("{text} overflows int"));
    }
    if let Some(f) = parse_go_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", quote(text)));
        }
        return Ok(Number::Float(f));
    }
    Err(format!("illegal number syntax: {}", quote(text)))
}

/// Go's isHexInt: `0x...` without a binary exponent.
fn is_hex_int(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 2 && b[0] == b'0' && matches!(b[1], b'x' | b'X') && !s.contains(['p', 'P'])
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
pub(super) fn parse_go_uint(s: &str) -> Option<u64> {
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
pub(super) fn underscore_ok(s: &str) -> bool {
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

/// `strconv.ParseFloat(s, 64)`: decimal and hex (`0x1.8p3`) syntax, `_` separators, and the
/// names inf, infinity and nan. Out-of-range values are errors, as in Go.
pub(super) fn parse_go_float(s: &str) -> Option<f64> {
    let (neg, body) = split_sign(s);
    if body.contains('_') && !underscore_ok(body) {
        return None;
    }
    let clean: std::borrow::Cow<'_, str> =
        if body.contains('_') { body.chars().filter(|&c| c != '_').collect::<String>().into() } else { body.into() };
    let b = clean.as_bytes();
    // Go needs at least one character after "0x" to read it as hex.
    if b.len() > 2 && b[0] == b'0' && b[1].eq_ignore_ascii_case(&b'x') {
        let f = parse_hex_float(&clean[2..])?;
        return Some(if neg { -f } else { f });
    }
    let infinite = clean.eq_ignore_ascii_case("inf") || clean.eq_ignore_ascii_case("infinity");
    // Go takes a sign before "inf" but not before "nan".
    let named = infinite || (clean.eq_ignore_ascii_case("nan") && s.len() == body.len());
    let numeric = b.first().is_some_and(|c| c.is_ascii_digit() || *c == b'.')
        && b.iter().all(|c| c.is_ascii_digit() || b".eE+-".contains(c));
    if !named && !numeric {
        return None;
    }
    let f: f64 = clean.parse().ok()?;
    if f.is_infinite() && !named {
        return None;
    }
    Some(if neg { -f } else { f })
}

/// Hex digits kept exactly; 16 fit a u64, later ones only matter as a sticky rounding bit.
const HEX_MANT_DIGITS: u32 = 16;

/// The part of a hex float after `0x`: hex digits with an optional point, then a mandatory
/// `p` exponent. Rounds to nearest, ties to even, like Go.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (digits, exp) = s.split_once(['p', 'P'])?;
    let exp = parse_exponent(exp)?;
    let mut mant: u64 = 0;
    let mut kept = 0u32;
    let mut exp2: i64 = 0;
    let mut sticky = false;
    let mut seen_point = false;
    let mut seen_digit = false;
    for c in digits.chars() {
        if c == '.' {
            if seen_point {
                return None;
            }
            seen_point = true;
            continue;
        }
        let d = u64::from(c.to_digit(16)?);
        seen_digit = true;
        if d == 0 && kept == 0 {
            // Leading zeros only move the point.
            exp2 -= if seen_point { 4 } else { 0 };
        } else if kept < HEX_MANT_DIGITS {
            mant = mant * 16 + d;
            kept += 1;
            exp2 -= if seen_point { 4 } else { 0 };
        } else {
            sticky |= d != 0;
            exp2 += if seen_point { 0 } else { 4 };
        }
    }
    if !seen_digit {
        return None;
    }
    round_binary(mant, exp2.saturating_add(exp), sticky)
}

/// A decimal exponent with optional sign; Go stops accumulating past 10000, so do we.
fn parse_exponent(s: &str) -> Option<i64> {
    let (neg, digits) = split_sign(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut e: i64 = 0;
    for b in digits.bytes() {
        if e < 10_000 {
            e = e * 10 + i64::from(b - b'0');
        }
    }
    Some(if neg { -e } else { e })
}

/// `mant × 2^exp2` (plus a sticky bit below `mant`) rounded to the nearest f64; `None` when
/// it overflows.
fn round_binary(mant: u64, exp2: i64, sticky: bool) -> Option<f64> {
    if mant == 0 {
        return Some(0.0);
    }
    let len = i64::from(64 - mant.leading_zeros());
    // Binary exponent of the leading bit.
    let lead = exp2 + len - 1;
    if lead > 1023 {
        return None;
    }
    // Bits the result can hold: 53 for normal numbers, fewer below 2^-1022.
    let keep = if lead >= -1022 { 53 } else { 53 - (-1022 - lead) };
    let drop = len - keep;
    let mut m: u128 = if drop <= 0 {
        u128::from(mant) << (-drop).min(127)
    } else if drop >= 128 {
        0
    } else {
        let m = u128::from(mant) >> drop;
        let rem = u128::from(mant) & ((1u128 << drop) - 1);
        let half = 1u128 << (drop - 1);
        let up = rem > half || (rem == half && (sticky || m & 1 == 1));
        m + u128::from(up)
    };
    if lead < -1022 {
        // Subnormal: the bits are the mantissa field (a carry into bit 52 is the smallest
        // normal number, which the encoding handles by itself).
        return Some(f64::from_bits(m as u64));
    }
    let mut lead = lead;
    if m >> 53 != 0 {
        m >>= 1;
        lead += 1;
        if lead > 1023 {
            return None;
        }
    }
    let bits = (((lead + 1023) as u64) << 52) | (m as u64 & ((1u64 << 52) - 1));
    Some(f64::from_bits(bits))
}

#[cfg(test)]
mod tests {
    use super::{Number, parse_go_float, parse_number};

    #[test]
    fn hex_floats() {
        assert_eq!(parse_go_float("0x1p-2"), Some(0.25));
        assert_eq!(parse_go_float("-0X1.8P1"), Some(-3.0));
        assert_eq!(parse_go_float("0x.8p1"), Some(1.0));
        assert_eq!(parse_go_float("0x1_0p1_0"), Some(16384.0));
        assert_eq!(parse_go_float("0x1p-1074"), Some(5e-324));
        assert_eq!(parse_go_float("0x1p-1075"), Some(0.0));
        assert_eq!(parse_go_float("0x1.8p-1075"), Some(5e-324));
        assert_eq!(parse_go_float("0x1p1024"), None);
        assert_eq!(parse_go_float("0x1.8"), None);
        assert_eq!(parse_go_float("0x1p"), None);
    }

    #[test]
    fn decimal_floats() {
        assert_eq!(parse_go_float("1_000.5"), Some(1000.5));
        assert_eq!(parse_go_float("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_go_float("+nan"), None);
        assert_eq!(parse_go_float("+-1"), None);
        assert_eq!(parse_go_float("1e400"), None);
        assert_eq!(parse_go_float("1__0"), None);
    }

    #[test]
    fn constants_pick_go_types() {
        assert_eq!(parse_number("0x1E", false), Ok(Number::Int(30)));
        assert_eq!(parse_number("-0x1E", false), Ok(Number::Float(-30.0)));
        assert_eq!(parse_number("1e3", false), Ok(Number::Float(1000.0)));
        assert_eq!(parse_number("017", false), Ok(Number::Int(15)));
        assert_eq!(parse_number("'a'", true), Ok(Number::Int(97)));
        assert!(parse_number("9223372036854775808", false).is_err());
        assert_eq!(parse_number("08", false), Err("integer overflow: \"08\"".into()));
        assert_eq!(parse_number("'ab'", true), Err("malformed character constant: 'ab'".into()));
        assert_eq!(parse_number("0x10i", false), Err("illegal number syntax: \"0x10i\"".into()));
    }
}
