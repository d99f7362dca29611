//! Go's own template builtins: `not len index slice print printf println`.

use super::super::gofmt;
use super::super::value::Value;
use super::args::{fmt_err, str_arg};
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
        Value::Int(i) => *i,
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
            Value::Int(i) => trail.push(i.to_string()),
            _ => {}
        }
        cur = match &cur {
            Value::List(l) => l.0[index_arg(idx, l.0.len(), false)?].clone(),
            Value::Str(s) => Value::Int(i64::from(s.as_bytes()[index_arg(idx, s.len(), false)?])),
            Value::Map(m) => {
                let Value::Str(key) = idx else {
                    return Err(FuncError::exec(format!("value has type {}; should be string", idx.type_name())));
                };
                let found = m.0.borrow().get(&**key).cloned();
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

/// `slice x i j k`: Go slicing of lists and strings (byte offsets).
pub(super) fn slice(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let idx = &a[1..];
    if idx.len() > 3 {
        return Err(FuncError::exec(format!("too many slice indexes: {}", idx.len())));
    }
    let len = match &a[0] {
        Value::Nil => return Err(FuncError::exec("slice of untyped nil")),
        Value::Str(_) if idx.len() == 3 => {
            return Err(FuncError::exec("cannot 3-index slice a string"));
        }
        Value::Str(s) => s.len(),
        Value::List(l) => l.0.len(),
        other => {
            return Err(FuncError::exec(format!("can't slice item of type {}", other.type_name())));
        }
    };
    let mut bounds = [0, len, len];
    for (k, v) in idx.iter().enumerate() {
        bounds[k] = index_arg(v, len, true)?;
    }
    if bounds[0] > bounds[1] {
        return Err(FuncError::exec(format!("invalid slice index: {} > {}", bounds[0], bounds[1])));
    }
    if idx.len() == 3 && bounds[1] > bounds[2] {
        return Err(FuncError::exec(format!("invalid slice index: {} > {}", bounds[1], bounds[2])));
    }
    let (i, j) = (bounds[0], bounds[1]);
    ctx.charge((j - i) as u64 / 16)?;
    Ok(match &a[0] {
        Value::Str(s) => Value::string(String::from_utf8_lossy(&s.as_bytes()[i..j]).into_owned()),
        Value::List(l) => Value::list(l.0[i..j].to_vec()),
        _ => Value::Nil,
    })
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
