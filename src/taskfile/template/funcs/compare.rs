//! Go's comparison builtins: `eq ne lt le gt ge`.
//!
//! As in Go, only values of the same basic kind compare (int with int, float with float...),
//! except that signed and unsigned integers compare by value; an int never equals a float.
//! `eq` also accepts nil and other non-basic values, comparing them by identity rules.

use super::super::gofmt;
use super::super::value::Value;
use super::{FuncCtx, FuncError};

/// Go's basic kinds for comparison; `None` is any other kind (nil, list, map, time).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Uint,
    Float,
    Str,
}

fn kind(v: &Value) -> Option<Kind> {
    Some(match v {
        Value::Bool(_) => Kind::Bool,
        // text/template compares every signed integer type as one kind.
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Uint(_) => Kind::Uint,
        Value::Float(_) => Kind::Float,
        Value::Str(_) => Kind::Str,
        _ => return None,
    })
}

/// Longest rendering of a value put into an error message.
const MESSAGE_VALUE_MAX: usize = 4096;

/// A value as Go's `%s`/`%v` shows it inside an error message.
fn shown(verb: &str, v: &Value) -> String {
    gofmt::sprintf(verb, std::slice::from_ref(v), MESSAGE_VALUE_MAX).unwrap_or_else(|_| "...".into())
}

fn incompatible(a: &Value, b: &Value) -> FuncError {
    FuncError::exec(format!("incompatible types for comparison: {} and {}", a.type_name(), b.type_name()))
}

fn bad_type() -> FuncError {
    FuncError::exec("invalid type for comparison")
}

/// Compares an int and an uint: a negative int is below every uint.
fn int_uint_cmp(i: i64, u: u64) -> std::cmp::Ordering {
    match u64::try_from(i) {
        Ok(i) => i.cmp(&u),
        Err(_) => std::cmp::Ordering::Less,
    }
}

/// Go's eq on one pair.
fn eq_pair(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let (ka, kb) = (kind(a), kind(b));
    if ka != kb {
        return match (a, b) {
            (Value::Int(i) | Value::Int64(i), Value::Uint(u)) | (Value::Uint(u), Value::Int(i) | Value::Int64(i)) => {
                Ok(int_uint_cmp(*i, *u).is_eq())
            }
            // Nil against any other value is simply unequal.
            (Value::Nil, _) | (_, Value::Nil) => Ok(false),
            _ => Err(incompatible(a, b)),
        };
    }
    Ok(match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x == y,
        (Value::Uint(x), Value::Uint(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        _ => return eq_other(a, b),
    })
}

/// Go's eq for two non-basic values: nil equals only nil, lists and maps never compare.
fn eq_other(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let same_kind = std::mem::discriminant(a) == std::mem::discriminant(b);
    if !same_kind && !matches!(a, Value::Nil) && !matches!(b, Value::Nil) {
        return Err(FuncError::exec(format!(
            "non-comparable types {}: {}, {}: {}",
            shown("%s", a),
            a.type_name(),
            b.type_name(),
            shown("%v", b)
        )));
    }
    match (a, b) {
        (Value::Nil, Value::Nil) => Ok(true),
        (Value::Nil, _) | (_, Value::Nil) => Ok(false),
        (Value::Time(x), Value::Time(y)) => Ok(x == y),
        _ => Err(FuncError::exec(format!("non-comparable type {}: {}", shown("%s", b), b.type_name()))),
    }
}

/// Go's lt on one pair.
fn lt_pair(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let ka = kind(a).ok_or_else(bad_type)?;
    let kb = kind(b).ok_or_else(bad_type)?;
    if ka != kb {
        return match (a, b) {
            (Value::Int(i) | Value::Int64(i), Value::Uint(u)) => Ok(int_uint_cmp(*i, *u).is_lt()),
            (Value::Uint(u), Value::Int(i) | Value::Int64(i)) => Ok(int_uint_cmp(*i, *u).is_gt()),
            _ => Err(incompatible(a, b)),
        };
    }
    Ok(match (a, b) {
        (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x < y,
        (Value::Uint(x), Value::Uint(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Str(x), Value::Str(y)) => x < y,
        _ => return Err(bad_type()),
    })
}

/// Go's le: lt, then eq.
fn le_pair(a: &Value, b: &Value) -> Result<bool, FuncError> {
    Ok(lt_pair(a, b)? || eq_pair(a, b)?)
}

/// `eq a b c...`: true if `a` equals any of the others (checked in order, stopping at the
/// first match, so a later incomparable argument is never looked at).
pub(super) fn eq(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let Some((first, rest)) = a.split_first().filter(|(_, rest)| !rest.is_empty()) else {
        return Err(FuncError::exec("missing argument for comparison"));
    };
    for b in rest {
        if eq_pair(first, b)? {
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
