//! Sprig's dict combinators: `merge`, `mergeOverwrite` (mergo v0.3.13 underneath), `pick`, `omit`
//! and `deepCopy`.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::super::value::{MAX_VALUE_DEPTH, Map, Value};
use super::args::str_arg;
use super::collections::map_arg;
use super::{FuncCtx, FuncError};

/// mergo's `isEmptyValue` on an interface value: nil, zero numbers, false, and empty strings,
/// lists and maps.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Time(_) => false,
        other => !other.truthy(),
    }
}

/// `merge dst srcs...`: fills keys of `dst` that are missing or empty, recursing into maps present
/// on both sides; `dst` is changed in place and returned, as Sprig does.
pub(super) fn merge(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    merge_all(ctx, a, false)
}

/// `mergeOverwrite dst srcs...`: like `merge`, but the sources' values win.
pub(super) fn merge_overwrite(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    merge_all(ctx, a, true)
}

fn merge_all(ctx: &mut FuncCtx, a: &[Value], overwrite: bool) -> Result<Value, FuncError> {
    // mergo gives a nil destination a new map as soon as there is something to merge into it.
    let (dst, out) = match map_arg(ctx, a, 0)? {
        Some(m) => (m.clone(), a[0].clone()),
        None => {
            let out = Value::map(BTreeMap::new());
            let Value::Map(m) = &out else { unreachable!("Value::map builds a map") };
            (m.clone(), out)
        }
    };
    for i in 1..a.len() {
        if let Some(src) = map_arg(ctx, a, i)? {
            merge_map(ctx, &dst, src, overwrite, 0)?;
        }
    }
    Ok(out)
}

/// One source map into one destination map, following mergo's rules for `interface{}` values:
/// - a nil source value only lands with `overwrite`;
/// - maps on both sides merge recursively, and a non-empty destination keeps its value when the
///   source value is a map or a list, even with `overwrite`... unless the list is overwritten;
/// - anything else lands with `overwrite`, or when the destination is missing or empty.
fn merge_map(ctx: &mut FuncCtx, dst: &Rc<Map>, src: &Rc<Map>, overwrite: bool, depth: usize) -> Result<(), FuncError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(FuncError::limit("value is nested too deeply"));
    }
    if Rc::ptr_eq(dst, src) {
        return Ok(());
    }
    let entries: Vec<(String, Value)> = src.0.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    ctx.charge(entries.len() as u64)?;
    for (key, s) in entries {
        let d = dst.get(&key);
        let lands = match (&s, &d) {
            (Value::Nil, _) => overwrite,
            (Value::Map(sm), Some(Value::Map(dm))) => {
                // mergo looks the source's keys up in the destination with reflection, which panics
                // when a go-yaml map's `interface{}` keys meet a `map[string]interface{}`.
                if !sm.is_string_keyed() && dm.is_string_keyed() && sm.len() > 0 {
                    return Err(FuncError::exec(
                        "reflect.Value.MapIndex: value of type interface {} is not assignable to type string",
                    ));
                }
                merge_map(ctx, dm, sm, overwrite, depth + 1)?;
                is_empty(&Value::Map(dm.clone()))
            }
            // mergo overwrites a list in place before its "keep a non-empty destination" check.
            (Value::List(_), _) if overwrite => true,
            (Value::Map(_) | Value::List(_), Some(d)) => is_empty(d),
            (_, None) => true,
            (_, Some(d)) => overwrite || is_empty(d),
        };
        if lands {
            dst.0.try_borrow_mut().map_err(|_| FuncError::exec("map is in use"))?.insert(key, s);
        }
    }
    Ok(())
}

/// `pick map keys...`: a new map with only the named keys that exist.
pub(super) fn pick(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let src = map_arg(ctx, a, 0)?;
    let mut out = BTreeMap::new();
    ctx.charge(a.len() as u64)?;
    for k in &a[1..] {
        let k = str_arg(k)?;
        if let Some(v) = src.and_then(|m| m.get(k)) {
            out.insert(k.to_string(), v);
        }
    }
    Ok(Value::map(out))
}

/// `omit map keys...`: a new map without the named keys.
pub(super) fn omit(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let src = map_arg(ctx, a, 0)?;
    let drop: Vec<&str> = a[1..].iter().map(str_arg).collect::<Result<_, _>>()?;
    let mut out = BTreeMap::new();
    if let Some(m) = src {
        ctx.charge(m.len() as u64)?;
        for (k, v) in m.0.borrow().iter() {
            if !drop.contains(&k.as_str()) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(Value::map(out))
}

/// `deepCopy v`: a copy sharing nothing mutable with `v`, of the same Go types.
pub(super) fn deep_copy(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    if matches!(a[0], Value::Nil) {
        return Err(FuncError::exec("reflect: call of reflect.Value.Type on zero Value"));
    }
    copy_value(ctx, &a[0], 0)
}

fn copy_value(ctx: &mut FuncCtx, v: &Value, depth: usize) -> Result<Value, FuncError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(FuncError::limit("value is nested too deeply"));
    }
    ctx.charge(1)?;
    Ok(match v {
        Value::Map(m) => {
            let mut out = BTreeMap::new();
            for (k, item) in m.0.borrow().iter() {
                out.insert(k.clone(), copy_value(ctx, item, depth + 1)?);
            }
            Value::map_of(out, m.1)
        }
        Value::List(l) => {
            let items = l.0.iter().map(|item| copy_value(ctx, item, depth + 1)).collect::<Result<Vec<_>, _>>()?;
            Value::list(items)
        }
        other => other.clone(),
    })
}
