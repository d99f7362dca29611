//! Sprig's defaults, flow helpers, type reflection and conversions.

use super::super::error::ErrorKind;
use super::super::value::{self, Value, WalkError};
use super::args::{bool_arg, str_arg, str_list, strslice, strval};
use super::{FuncCtx, FuncError};

/// `default d v`: v unless it is empty (or absent), else d.
pub(super) fn default(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    match a.get(1) {
        Some(v) if !v.is_empty() => Ok(v.clone()),
        _ => Ok(a[0].clone()),
    }
}

/// `empty v`
pub(super) fn empty(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Bool(a[0].is_empty()))
}

/// `coalesce a b...`: the first non-empty argument, or nil.
pub(super) fn coalesce(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(a.iter().find(|v| !v.is_empty()).cloned().unwrap_or(Value::Nil))
}

/// `ternary ifTrue ifFalse cond`
pub(super) fn ternary(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(if bool_arg(&a[2])? { a[0].clone() } else { a[1].clone() })
}

/// `fail msg`: always fails with msg.
pub(super) fn fail(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Err(FuncError { kind: ErrorKind::Required, msg: str_arg(&a[0])?.to_string() })
}

/// `typeOf v`: Go's `%T`.
pub(super) fn type_of(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::str(a[0].type_name()))
}

/// `typeIs name v`
pub(super) fn type_is(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Bool(str_arg(&a[0])? == a[1].type_name()))
}

/// `kindOf v`: the reflect kind name.
pub(super) fn kind_of(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::str(a[0].kind_name()))
}

/// `kindIs kind v`
pub(super) fn kind_is(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Bool(str_arg(&a[0])? == a[1].kind_name()))
}

/// `deepEqual a b`
pub(super) fn deep_equal(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let mut budget = ctx.remaining();
    let before = budget;
    let r = value::deep_equal(&a[0], &a[1], &mut budget);
    ctx.charge(before - budget)?;
    match r {
        Ok(b) => Ok(Value::Bool(b)),
        Err(WalkError::TooDeep) => Err(FuncError::limit("value is nested too deeply")),
        Err(WalkError::TooMuchWork) => Err(FuncError::limit("evaluation step limit exceeded")),
    }
}

/// `toString v`
pub(super) fn to_string(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::string(strval(&a[0], ctx.max_bytes)?.into_owned()))
}

/// `toStrings list`
pub(super) fn to_strings(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(str_list(strslice(&a[0], ctx.max_bytes)?))
}

/// `env name`: templates see an empty environment. ACR's runner reads its own process's, but
/// drydock's is the daemon's (database URL, tokens), which a task file must not read; an unset
/// variable is "" in both.
pub(super) fn env(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    str_arg(&a[0])?;
    Ok(Value::str(""))
}

/// `expandenv s`: Go's `os.ExpandEnv` over the same empty environment: `$name` and `${name}` become
/// "", bad syntax (`${}`, an unclosed `${`) is dropped, and a `$` with no name after it stays.
pub(super) fn expandenv(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let s = str_arg(&a[0])?.as_bytes();
    ctx.charge(s.len() as u64 / 16)?;
    let special = |c: u8| b"*#$@!?-0123456789".contains(&c);
    let alnum = |c: u8| c == b'_' || c.is_ascii_alphanumeric();
    let mut out = Vec::with_capacity(s.len());
    let mut j = 0;
    while j < s.len() {
        if s[j] != b'$' || j + 1 == s.len() {
            out.push(s[j]);
            j += 1;
            continue;
        }
        let rest = &s[j + 1..];
        // How many bytes after the `$` the reference takes, and whether it named anything.
        let (width, named) = if rest[0] == b'{' {
            if rest.len() > 2 && special(rest[1]) && rest[2] == b'}' {
                (3, true)
            } else {
                match rest.iter().position(|&c| c == b'}') {
                    Some(1) => (2, false),
                    Some(i) => (i + 1, true),
                    None => (1, false),
                }
            }
        } else if special(rest[0]) {
            (1, true)
        } else {
            let n = rest.iter().take_while(|&&c| alnum(c)).count();
            (n, n > 0)
        };
        if !named && width == 0 {
            out.push(b'$');
        }
        j += 1 + width;
    }
    Ok(Value::string(String::from_utf8_lossy(&out).into_owned()))
}
