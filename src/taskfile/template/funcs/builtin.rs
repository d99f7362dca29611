//! Go's own template builtins (`not len index print printf println`) and Sprig's `slice`.

use super::super::gofmt;
use super::super::value::{self, Value};
use super::args::{fmt_err, str_arg};
use super::math::sprig_int64;
use super::{FuncCtx, FuncError};

/// `not x`
pub(super) fn not(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Bool(!a[0].truthy()))
}

/// `len x`: bytes of a string, items of a list or map.
pub(super) fn len(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let n = match &a[0] {
        Value::Str(s) => s.len(),
        Value::List(l) => l.0.len(),
        Value::Map(m) => m.0.borrow().len(),
        Value::Nil => return Err(FuncError::exec("len of nil pointer")),
        other => {
            return Err(FuncError::exec(format!("len of type {}", other.type_name())));
        }
    };
    Ok(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)))
}

/// Go's indexArg: an integer index within `0..len` (`allow_end` also accepts `len`).
fn index_arg(v: &Value, len: usize, allow_end: bool) -> Result<usize, FuncError> {
    let i = match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Nil => return Err(FuncError::exec("cannot index slice/array with nil")),
        other => {
            return Err(FuncError::exec(format!("cannot index slice/array with type {}", other.type_name())));
        }
    };
    match usize::try_from(i) {
        Ok(x) if x < len || (allow_end && x == len) => Ok(x),
        _ => Err(FuncError::exec(format!("index out of range: {i}"))),
    }
}

/// `index x i j...`: successive indexing of lists, strings (bytes) and maps.
/// A missing map key yields nil (and is reported to the executor as a missing key).
pub(super) fn index(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let mut cur = a[0].clone();
    if let Value::Nil = cur {
        return Err(FuncError::exec("index of untyped nil"));
    }
    // The keys followed so far, to name a missing key ("a.b").
    let mut trail: Vec<String> = Vec::new();
    for idx in &a[1..] {
        match idx {
            Value::Str(s) => trail.push(s.to_string()),
            Value::Int(i) | Value::Int64(i) => trail.push(i.to_string()),
            _ => {}
        }
        cur = match &cur {
            Value::List(l) => l.0[index_arg(idx, l.0.len(), false)?].clone(),
            Value::Str(s) => Value::Int(i64::from(s.as_bytes()[index_arg(idx, s.len(), false)?])),
            Value::Map(m) => {
                let key: Option<std::borrow::Cow<'_, str>> = match idx {
                    Value::Str(key) => Some(std::borrow::Cow::Borrowed(&**key)),
                    // A go-yaml map takes keys of any type: integer keys are kept typed, and a
                    // key of another type is simply missing.
                    Value::Int(i) | Value::Int64(i) if !m.is_string_keyed() => {
                        Some(std::borrow::Cow::Owned(value::encode_int_key(*i)))
                    }
                    Value::Uint(_) | Value::Float(_) | Value::Bool(_) | Value::Nil if !m.is_string_keyed() => None,
                    _ => {
                        return Err(FuncError::exec(format!("value has type {}; should be string", idx.type_name())));
                    }
                };
                let found = key.and_then(|k| m.get(&k));
                match found {
                    Some(v) => v,
                    None => {
                        ctx.missed_key = Some(trail.join("."));
                        Value::Nil
                    }
                }
            }
            Value::Nil => return Err(FuncError::exec("index of nil pointer")),
            other => {
                return Err(FuncError::exec(format!("can't index item of type {}", other.type_name())));
            }
        };
    }
    Ok(cur)
}

/// `slice list [start [end]]`: Sprig's `slice`, which replaces Go's builtin in ACR's runner. Lists
/// only (a string is an error), indexes converted like `int`, further indexes ignored, and an empty
/// list gives nil.
pub(super) fn slice(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let l = match &a[0] {
        Value::List(l) => l,
        Value::Nil => return Err(FuncError::exec("reflect: call of reflect.Value.Type on zero Value")),
        other => {
            return Err(FuncError::exec(format!("list should be type of slice or array but {}", other.kind_name())));
        }
    };
    let len = l.0.len();
    if len == 0 {
        return Ok(Value::Nil);
    }
    let start = a.get(1).map_or(0, sprig_int64);
    let end = a.get(2).map_or(len as i64, sprig_int64);
    if start < 0 || end < start || end > len as i64 {
        return Err(FuncError::exec(format!("reflect: slice index out of range: {start}:{end} of {len}")));
    }
    ctx.charge((end - start) as u64 / 16)?;
    Ok(Value::list_of(l.0[start as usize..end as usize].to_vec(), l.1))
}

/// `print args...`
pub(super) fn print(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    gofmt::sprint(a, ctx.max_bytes).map(Value::string).map_err(fmt_err)
}

/// `printf format args...`
pub(super) fn printf(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let format = str_arg(&a[0])?;
    gofmt::sprintf(format, &a[1..], ctx.max_bytes).map(Value::string).map_err(fmt_err)
}

/// `println args...`
pub(super) fn println(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    gofmt::sprintln(a, ctx.max_bytes).map(Value::string).map_err(fmt_err)
}
