//! Sprig integer and float math plus number conversions.
//!
//! Integer math converts operands with `toInt64` semantics and wraps on overflow like Go.

use super::super::value::Value;
use super::args::{int_arg, str_arg, to_float64, to_int64};
use super::{FuncCtx, FuncError};

/// `add a b...`
pub(super) fn add(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Int(a.iter().fold(0i64, |acc, v| acc.wrapping_add(to_int64(v)))))
}

/// `add1 a`
pub(super) fn add1(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Int(to_int64(&a[0]).wrapping_add(1)))
}

/// `sub a b`
pub(super) fn sub(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Int(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
}

/// `mul a b...`
pub(super) fn mul(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Int(a.iter().fold(1i64, |acc, v| acc.wrapping_mul(to_int64(v)))))
}

fn divide_by_zero() -> FuncError {
    FuncError::exec("runtime error: integer divide by zero")
}

/// `div a b`: integer division; dividing by zero is an error.
pub(super) fn div(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let d = to_int64(&a[1]);
    if d == 0 {
        return Err(divide_by_zero());
    }
    Ok(Value::Int(to_int64(&a[0]).wrapping_div(d)))
}

/// `mod a b`
pub(super) fn modulo(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let d = to_int64(&a[1]);
    if d == 0 {
        return Err(divide_by_zero());
    }
    Ok(Value::Int(to_int64(&a[0]).wrapping_rem(d)))
}

/// `max a b...`
pub(super) fn max(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Int(a.iter().map(to_int64).max().unwrap_or(0)))
}

/// `min a b...`
pub(super) fn min(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Int(a.iter().map(to_int64).min().unwrap_or(0)))
}

/// `floor x` (a float)
pub(super) fn floor(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Float(to_float64(&a[0]).floor()))
}

/// `ceil x` (a float)
pub(super) fn ceil(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Float(to_float64(&a[0]).ceil()))
}

/// `round x places [roundOn]`: Sprig's rounding (fraction ≥ roundOn, default .5, rounds up).
pub(super) fn round(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let val = to_float64(&a[0]);
    let places = int_arg(&a[1])?;
    let round_on = match a.get(2) {
        Some(Value::Float(x)) => *x,
        Some(Value::Int(i)) => *i as f64,
        Some(Value::Nil) | None => 0.5,
        Some(other) => return Err(super::args::wrong_type("float64", other)),
    };
    let pow = 10f64.powf(places.clamp(-400, 400) as f64);
    let digit = pow * val;
    let frac = digit.fract();
    let r = if frac >= round_on { digit.ceil() } else { digit.floor() };
    Ok(Value::Float(r / pow))
}

/// `atoi s`: base-10 parse, 0 on failure.
pub(super) fn atoi(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let s = str_arg(&a[0])?;
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    let ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    Ok(Value::Int(if ok { s.parse().unwrap_or(0) } else { 0 }))
}

/// `int x` / `int64 x`: loose conversion.
pub(super) fn int(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Int(to_int64(&a[0])))
}

/// `float64 x`: loose conversion.
pub(super) fn float64(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Float(to_float64(&a[0])))
}
