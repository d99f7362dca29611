//! Argument conversions shared by the functions.
//!
//! Typed Go parameters (`string`, `int`, `bool`) refuse a nil argument, as Go's text/template
//! does in ACR's runner: `{{ .Values.missing | upper }}` is an error there, not "".
//! Sprig v2.22's own loose conversions live with the math functions (`math::sprig_int64`).

use std::borrow::Cow;

use super::super::gofmt::{self, FmtError};
use super::super::value::{ListKind, Value};
use super::{FuncCtx, FuncError};

/// Go's "wrong type for value" error.
pub(super) fn wrong_type(expected: &str, v: &Value) -> FuncError {
    FuncError::exec(format!("wrong type for value; expected {expected}; got {}", v.type_name()))
}

/// Go refuses a nil (a missing key, or the `nil` literal) for a parameter of a concrete type such
/// as `string` or `int`: only `interface{}` parameters (and maps, lists) take it.
fn nil_for(expected: &str) -> FuncError {
    FuncError::exec(format!("invalid value; expected {expected}"))
}

/// A `string` parameter.
pub(super) fn str_arg(v: &Value) -> Result<&str, FuncError> {
    match v {
        Value::Str(s) => Ok(s),
        Value::Nil => Err(nil_for("string")),
        _ => Err(wrong_type("string", v)),
    }
}

/// An `int` parameter: integers, or floats holding an integer value.
pub(super) fn int_arg(v: &Value) -> Result<i64, FuncError> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Float(x) if x.fract() == 0.0 && x.abs() < 9.2e18 => Ok(*x as i64),
        Value::Nil => Err(nil_for("int")),
        _ => Err(wrong_type("int", v)),
    }
}

/// The `int` parameter `a[i]`. Go converts only a number written in the call (`repeat 2.0 "a"`) to
/// the parameter's type; a computed float (`repeat (floor 2) "a"`) is the wrong type.
pub(super) fn int_at(ctx: &FuncCtx, a: &[Value], i: usize) -> Result<i64, FuncError> {
    match &a[i] {
        Value::Float(_) if !ctx.is_literal(i) => Err(wrong_type("int", &a[i])),
        v => int_arg(v),
    }
}

/// A `bool` parameter.
pub(super) fn bool_arg(v: &Value) -> Result<bool, FuncError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Nil => Err(nil_for("bool")),
        _ => Err(wrong_type("bool", v)),
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
        Value::Int(i) | Value::Int64(i) => Ok(Cow::Owned(i.to_string())),
        Value::Uint(u) => Ok(Cow::Owned(u.to_string())),
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
    Value::list_of(items.into_iter().map(Value::string).collect(), ListKind::Strings)
}
