//! Sprig (v2.22) integer and float math plus number conversions.
//!
//! Sprig converts operands with its own `toInt64`/`toFloat64`: strings go through
//! `strconv.ParseInt(s, 10, 64)` / `strconv.ParseFloat(s, 64)` and become 0 when that fails
//! (so "0x10", "1e3" and " 7" are 0 as integers); floats are truncated as Go converts them
//! on amd64; other values are 0. Integer math wraps on overflow like Go.

use super::super::gofmt;
use super::super::value::Value;
use super::args::{fmt_err, int_at, str_arg, wrong_type};
use super::{FuncCtx, FuncError};

/// Go's `int64(f)` on amd64: truncation, and the "integer indefinite" value (the minimum)
/// for NaN and anything out of range.
fn float_to_i64(x: f64) -> i64 {
    // 2^63 is exactly representable; the valid range is [-2^63, 2^63).
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if x.is_nan() || !(-LIMIT..LIMIT).contains(&x) { i64::MIN } else { x as i64 }
}

/// `strconv.ParseInt(s, base, 64)` for an explicit base: optional sign, digits only
/// (no prefixes, no underscores). Overflow is `Err(Some(clamped))`, bad syntax `Err(None)`.
fn parse_int(s: &str, base: u32) -> Result<i64, Option<i64>> {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(base)) {
        return Err(None);
    }
    let signed = if neg { format!("-{digits}") } else { digits.to_string() };
    i64::from_str_radix(&signed, base).map_err(|_| Some(if neg { i64::MIN } else { i64::MAX }))
}

/// Sprig's `toInt64`.
pub(super) fn sprig_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        // Sprig clamps (it does not wrap) unsigned values past the int64 range.
        Value::Uint(u) => i64::try_from(*u).unwrap_or(i64::MAX),
        Value::Float(x) => float_to_i64(*x),
        Value::Bool(b) => i64::from(*b),
        Value::Str(s) => parse_int(s, 10).unwrap_or(0),
        _ => 0,
    }
}

/// Sprig's `toFloat64`.
pub(super) fn sprig_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Uint(u) => *u as f64,
        Value::Float(x) => *x,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(s) => parse_float(s).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Go's underscoreOK, after an optional sign.
fn underscores_ok(s: &str) -> bool {
    super::super::literal::underscore_ok(s.strip_prefix(['+', '-']).unwrap_or(s))
}

/// `strconv.ParseFloat(s, 64)`; out-of-range values are errors (`None`), as in Go.
pub(super) fn parse_float(s: &str) -> Option<f64> {
    if let Some(x) = parse_special(s) {
        return Some(x);
    }
    let clean = if s.contains('_') {
        if !underscores_ok(s) {
            return None;
        }
        s.replace('_', "")
    } else {
        s.to_string()
    };
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let magnitude = match body.get(..2) {
        Some(p) if p.eq_ignore_ascii_case("0x") && body.len() > 2 => parse_hex_float(&body[2..])?,
        _ if body.bytes().all(|b| b.is_ascii_digit() || b".eE+-".contains(&b)) => body.parse::<f64>().ok()?,
        _ => return None,
    };
    if magnitude.is_infinite() {
        return None;
    }
    Some(if neg { -magnitude } else { magnitude })
}

/// "inf", "+Infinity", "NaN"... (any case; NaN takes no sign).
fn parse_special(s: &str) -> Option<f64> {
    let (sign, body) = match s.as_bytes().first() {
        Some(b'-') => (-1.0, &s[1..]),
        Some(b'+') => (1.0, &s[1..]),
        _ if s.eq_ignore_ascii_case("nan") => return Some(f64::NAN),
        _ => (1.0, s),
    };
    (body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity")).then_some(sign * f64::INFINITY)
}

/// A hexadecimal float after "0x": hex digits with an optional point, then a mandatory
/// binary exponent `p±N`.
fn parse_hex_float(s: &str) -> Option<f64> {
    let p = s.find(['p', 'P'])?;
    let (mant, exp) = (&s[..p], &s[p + 1..]);
    let exp_digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
    if exp_digits.is_empty() || !exp_digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let exp: i64 = exp.parse().unwrap_or(if exp.starts_with('-') { -100_000 } else { 100_000 });
    let (int_part, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int_part.is_empty() && frac.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int_part.chars().chain(frac.chars()) {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let shift = exp.saturating_sub(4 * frac.len() as i64).clamp(-2200, 2200);
    Some(value * 2f64.powi(shift as i32))
}

/// `add a b...`
pub(super) fn add(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Int64(a.iter().fold(0i64, |acc, v| acc.wrapping_add(sprig_int64(v)))))
}

/// `add1 a`
pub(super) fn add1(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Int64(sprig_int64(&a[0]).wrapping_add(1)))
}

/// `sub a b`
pub(super) fn sub(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Int64(sprig_int64(&a[0]).wrapping_sub(sprig_int64(&a[1]))))
}

/// `mul a b...`
pub(super) fn mul(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Int64(a.iter().fold(1i64, |acc, v| acc.wrapping_mul(sprig_int64(v)))))
}

fn divide_by_zero() -> FuncError {
    FuncError::exec("runtime error: integer divide by zero")
}

/// `div a b`: integer division; dividing by zero is an error (a Go panic).
pub(super) fn div(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let d = sprig_int64(&a[1]);
    if d == 0 {
        return Err(divide_by_zero());
    }
    Ok(Value::Int64(sprig_int64(&a[0]).wrapping_div(d)))
}

/// `mod a b`
pub(super) fn modulo(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let d = sprig_int64(&a[1]);
    if d == 0 {
        return Err(divide_by_zero());
    }
    Ok(Value::Int64(sprig_int64(&a[0]).wrapping_rem(d)))
}

/// `max a b...` (also `biggest`)
pub(super) fn max(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Int64(a.iter().map(sprig_int64).max().unwrap_or(0)))
}

/// `min a b...`
pub(super) fn min(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Int64(a.iter().map(sprig_int64).min().unwrap_or(0)))
}

/// `floor x` (a float)
pub(super) fn floor(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Float(sprig_float64(&a[0]).floor()))
}

/// `ceil x` (a float)
pub(super) fn ceil(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Float(sprig_float64(&a[0]).ceil()))
}

/// Splits a finite non-zero float into a mantissa in [0.5, 1) and a power of two.
fn frexp(x: f64) -> (f64, i64) {
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64;
    if exp == 0 {
        // Subnormal: scale into the normal range first.
        let (m, e) = frexp(x * 2f64.powi(64));
        return (m, e - 64);
    }
    let mant = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (mant, exp - 1022)
}

/// `m * 2^e`, in steps that stay exact until the final rounding.
fn ldexp(mut m: f64, mut e: i64) -> f64 {
    while e > 1000 {
        m *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        m *= 2f64.powi(-1000);
        e += 1000;
    }
    m * 2f64.powi(e as i32)
}

/// Go's `math.Pow(10, n)` for an integral n: repeated squaring on a normalised mantissa,
/// then one scaling, so results past 10^22 round as Go's do.
fn go_pow10(n: i64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    let (mut x1, mut xe) = frexp(10.0);
    let (mut a1, mut ae) = (1.0f64, 0i64);
    let mut i = n.unsigned_abs();
    while i != 0 {
        if !(-(1 << 12)..=(1 << 12)).contains(&xe) {
            // Certain overflow or underflow.
            ae += xe;
            break;
        }
        if i & 1 == 1 {
            a1 *= x1;
            ae += xe;
        }
        x1 *= x1;
        xe <<= 1;
        if x1 < 0.5 {
            x1 += x1;
            xe -= 1;
        }
        i >>= 1;
    }
    if n < 0 {
        a1 = 1.0 / a1;
        ae = -ae;
    }
    ldexp(a1, ae)
}

/// `round x places [roundOn]`: Sprig's rounding (fraction ≥ roundOn, default .5, rounds up).
pub(super) fn round(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let val = sprig_float64(&a[0]);
    let places = int_at(ctx, a, 1)?;
    // `roundOn` is variadic (`...float64`): every one must be a float, and the first is used.
    let mut round_on = 0.5;
    for (i, v) in a.iter().enumerate().skip(2) {
        let x = match v {
            Value::Float(x) => *x,
            Value::Int(i) => *i as f64,
            Value::Nil => return Err(FuncError::exec("cannot assign nil to float64")),
            other => return Err(wrong_type("float64", other)),
        };
        if i == 2 {
            round_on = x;
        }
    }
    let pow = go_pow10(places);
    let digit = pow * val;
    let r = if digit.fract() >= round_on { digit.ceil() } else { digit.floor() };
    Ok(Value::Float(r / pow))
}

/// `atoi s`: `strconv.Atoi`, ignoring its error: 0 for bad syntax, the nearest limit when
/// out of range.
pub(super) fn atoi(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let n = parse_int(str_arg(&a[0])?, 10).unwrap_or_else(|clamped| clamped.unwrap_or(0));
    Ok(Value::Int(n))
}

/// `int x`: Sprig's toInt, an `int`.
pub(super) fn int(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Int(sprig_int64(&a[0])))
}

/// `int64 x`: Sprig's toInt64, an `int64`.
pub(super) fn int64(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Int64(sprig_int64(&a[0])))
}

/// `float64 x`: Sprig's toFloat64.
pub(super) fn float64(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Float(sprig_float64(&a[0])))
}

/// `toDecimal x`: reads `fmt.Sprint(x)` as an octal number ("0755" → 493); 0 if it is not one.
pub(super) fn to_decimal(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let s = gofmt::sprint_value(&a[0], ctx.max_bytes).map_err(fmt_err)?;
    Ok(Value::Int64(parse_int(&s, 8).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_float_follows_strconv() {
        assert_eq!(parse_float("1_000.5"), Some(1000.5));
        assert_eq!(parse_float("0x1p4"), Some(16.0));
        assert_eq!(parse_float("0x1.8p1"), Some(3.0));
        assert_eq!(parse_float("0x10"), None);
        assert_eq!(parse_float("1e400"), None);
        assert_eq!(parse_float("-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float("+nan"), None);
        assert_eq!(parse_float(" 1"), None);
        assert_eq!(parse_float("_1"), None);
    }

    #[test]
    fn to_int64_is_strict_base_10() {
        assert_eq!(sprig_int64(&Value::str("0x10")), 0);
        assert_eq!(sprig_int64(&Value::str("+7")), 7);
        assert_eq!(sprig_int64(&Value::str("99999999999999999999")), 0);
        assert_eq!(sprig_int64(&Value::Float(1e19)), i64::MIN);
        assert_eq!(sprig_int64(&Value::Float(-2.9)), -2);
    }

    #[test]
    fn pow10_matches_exact_powers() {
        for n in 0..=22 {
            assert_eq!(go_pow10(n), format!("1e{n}").parse::<f64>().unwrap());
        }
        assert_eq!(go_pow10(-2), 0.01);
        assert_eq!(go_pow10(400), f64::INFINITY);
        assert_eq!(go_pow10(-400), 0.0);
    }
}
