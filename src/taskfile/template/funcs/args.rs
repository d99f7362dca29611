//! Argument conversions shared by the functions.
//!
//! Typed Go parameters (`string`, `int`, `bool`) accept a nil argument as their zero value, so
//! a missing key flows through `upper`, `b64enc`... as "" instead of failing (ACR-friendly).
//! Sprig's own loose conversions (`toInt64`, `toFloat64`, `strval`) follow `spf13/cast`.

use std::borrow::Cow;

use super::super::gofmt::{self, FmtError};
use super::super::literal::{parse_go_float, parse_go_int};
use super::super::value::Value;
use super::FuncError;

/// Go's "wrong type for value" error.
pub(super) fn wrong_type(expected: &str, v: &Value) -> FuncError {
    FuncError::exec(format!("wrong type for value; expected {expected}; got {}", v.type_name()))
}

/// A `string` parameter.
pub(super) fn str_arg(v: &Value) -> Result<&str, FuncError> {
    match v {
        Value::Str(s) => Ok(s),
        Value::Nil => Ok(""),
        _ => Err(wrong_type("string", v)),
    }
}

/// An `int` parameter: integers, or floats holding an integer value.
pub(super) fn int_arg(v: &Value) -> Result<i64, FuncError> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Float(x) if x.fract() == 0.0 && x.abs() < 9.2e18 => Ok(*x as i64),
        Value::Nil => Ok(0),
        _ => Err(wrong_type("int", v)),
    }
}

/// A `bool` parameter.
pub(super) fn bool_arg(v: &Value) -> Result<bool, FuncError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Nil => Ok(false),
        _ => Err(wrong_type("bool", v)),
    }
}

/// `cast.ToInt64`: strings are parsed (base prefixes allowed, "1.0" accepted), floats
/// truncated, bools 0/1, anything unconvertible 0.
pub(super) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(x) => *x as i64,
        Value::Bool(b) => i64::from(*b),
        Value::Str(s) => parse_go_int(trim_zero_decimal(s)).unwrap_or(0),
        _ => 0,
    }
}

/// cast's trimZeroDecimal: "12.000" → "12", anything else unchanged.
fn trim_zero_decimal(s: &str) -> &str {
    let b = s.as_bytes();
    let mut found_zero = false;
    for i in (0..b.len()).rev() {
        match b[i] {
            b'.' if found_zero => return &s[..i],
            b'.' => return s,
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// `cast.ToFloat64`.
pub(super) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(x) => *x,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(s) => parse_go_float(s).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Maps a printing failure to a limit error.
pub(super) fn fmt_err(e: FmtError) -> FuncError {
    match e {
        FmtError::TooLarge => FuncError::limit("formatted value exceeds the output limit"),
        FmtError::TooDeep => FuncError::limit("value is nested too deeply to format"),
    }
}

/// Sprig's `strval`: strings as-is, everything else `%v`.
pub(super) fn strval(v: &Value, max: usize) -> Result<Cow<'_, str>, FuncError> {
    match v {
        Value::Str(s) => Ok(Cow::Borrowed(s)),
        Value::Int(i) => Ok(Cow::Owned(i.to_string())),
        _ => gofmt::sprint_value(v, max).map(Cow::Owned).map_err(fmt_err),
    }
}

/// Sprig's `strslice`: list items (nil items dropped) as strings; a scalar becomes a
/// one-element list and nil an empty one.
pub(super) fn strslice(v: &Value, max: usize) -> Result<Vec<String>, FuncError> {
    match v {
        Value::List(l) => {
            let mut out = Vec::with_capacity(l.0.len());
            let mut total = 0usize;
            for item in l.0.iter().filter(|i| !matches!(i, Value::Nil)) {
                let s = strval(item, max)?.into_owned();
                total = total.saturating_add(s.len());
                if total > max {
                    return Err(FuncError::limit("list is too large to convert to strings"));
                }
                out.push(s);
            }
            Ok(out)
        }
        Value::Nil => Ok(Vec::new()),
        other => Ok(vec![strval(other, max)?.into_owned()]),
    }
}

/// The items of a list argument, or Sprig's "Cannot <what> on type X" error.
pub(super) fn list_arg<'v>(v: &'v Value, what: &str) -> Result<&'v [Value], FuncError> {
    match v {
        Value::List(l) => Ok(&l.0),
        other => Err(FuncError::exec(format!("Cannot {what} on type {}", other.type_name()))),
    }
}

/// A list result of strings.
pub(super) fn str_list(items: Vec<String>) -> Value {
    Value::list(items.into_iter().map(Value::string).collect())
}
