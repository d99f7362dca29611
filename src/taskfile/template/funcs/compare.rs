//! Go's comparison builtins: `eq ne lt le gt ge`.
//!
//! Basic kinds compare within their kind; unlike Go, integers and floats compare by value
//! (JSON data does not keep Go's int/float distinction reliably).

use super::super::value::Value;
use super::{FuncCtx, FuncError};

enum Basic<'a> {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
}

fn basic(v: &Value) -> Option<Basic<'_>> {
    Some(match v {
        Value::Bool(b) => Basic::Bool(*b),
        Value::Int(i) => Basic::Int(*i),
        Value::Float(x) => Basic::Float(*x),
        Value::Str(s) => Basic::Str(s),
        _ => return None,
    })
}

fn incompatible() -> FuncError {
    FuncError::exec("incompatible types for comparison")
}

fn bad_type() -> FuncError {
    FuncError::exec("invalid type for comparison")
}

fn eq_pair(a: &Value, b: &Value) -> Result<bool, FuncError> {
    match (a, b) {
        (Value::Nil, Value::Nil) => return Ok(true),
        (Value::Nil, _) | (_, Value::Nil) => return Ok(false),
        (Value::Time(x), Value::Time(y)) => return Ok(x == y),
        _ => {}
    }
    let (Some(x), Some(y)) = (basic(a), basic(b)) else {
        let culprit = if basic(a).is_none() { a } else { b };
        if matches!(culprit, Value::List(_) | Value::Map(_)) && a.kind_name() == b.kind_name() {
            return Err(FuncError::exec(format!("non-comparable type {}", culprit.type_name())));
        }
        return Err(incompatible());
    };
    Ok(match (x, y) {
        (Basic::Bool(p), Basic::Bool(q)) => p == q,
        (Basic::Str(p), Basic::Str(q)) => p == q,
        (Basic::Int(p), Basic::Int(q)) => p == q,
        (Basic::Int(p), Basic::Float(q)) | (Basic::Float(q), Basic::Int(p)) => p as f64 == q,
        (Basic::Float(p), Basic::Float(q)) => p == q,
        _ => return Err(incompatible()),
    })
}

fn lt_pair(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let x = basic(a).ok_or_else(bad_type)?;
    let y = basic(b).ok_or_else(bad_type)?;
    Ok(match (x, y) {
        (Basic::Bool(_), Basic::Bool(_)) => return Err(bad_type()),
        (Basic::Str(p), Basic::Str(q)) => p < q,
        (Basic::Int(p), Basic::Int(q)) => p < q,
        (Basic::Int(p), Basic::Float(q)) => (p as f64) < q,
        (Basic::Float(p), Basic::Int(q)) => p < q as f64,
        (Basic::Float(p), Basic::Float(q)) => p < q,
        _ => return Err(incompatible()),
    })
}

/// `eq a b c...`: true if `a` equals any of the others.
pub(super) fn eq(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    if a.len() < 2 {
        return Err(FuncError::exec("missing argument for comparison"));
    }
    for b in &a[1..] {
        if eq_pair(&a[0], b)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

/// `ne a b`
pub(super) fn ne(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Bool(!eq_pair(&a[0], &a[1])?))
}

/// `lt a b`
pub(super) fn lt(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Bool(lt_pair(&a[0], &a[1])?))
}

fn le_pair(a: &Value, b: &Value) -> Result<bool, FuncError> {
    Ok(lt_pair(a, b)? || eq_pair(a, b)?)
}

/// `le a b`
pub(super) fn le(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Bool(le_pair(&a[0], &a[1])?))
}

/// `gt a b`
pub(super) fn gt(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Bool(!le_pair(&a[0], &a[1])?))
}

/// `ge a b`
pub(super) fn ge(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Bool(!lt_pair(&a[0], &a[1])?))
}
