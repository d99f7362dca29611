//! Sprig list and dict functions.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::super::value::{self, Map, Value, WalkError};
use super::args::{list_arg, str_arg, str_list, strslice, strval, wrong_type};
use super::{FuncCtx, FuncError};

pub(super) fn walk_err(e: WalkError) -> FuncError {
    match e {
        WalkError::TooDeep => FuncError::limit("value is nested too deeply"),
        WalkError::TooMuchWork => FuncError::limit("evaluation step limit exceeded"),
    }
}

/// Deep equality charged against the step budget.
fn same(ctx: &mut FuncCtx, a: &Value, b: &Value) -> Result<bool, FuncError> {
    let mut budget = ctx.remaining();
    let before = budget;
    let r = value::deep_equal(a, b, &mut budget).map_err(walk_err);
    ctx.charge(before - budget)?;
    r
}

fn checked_list(ctx: &mut FuncCtx, items: Vec<Value>) -> Result<Value, FuncError> {
    ctx.check_items(items.len())?;
    ctx.charge(items.len() as u64)?;
    Ok(Value::list(items))
}

/// `list args...`
pub(super) fn list(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    checked_list(ctx, a.to_vec())
}

/// `first list`
pub(super) fn first(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(list_arg(&a[0], "find first")?.first().cloned().unwrap_or(Value::Nil))
}

/// `last list`
pub(super) fn last(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(list_arg(&a[0], "find last")?.last().cloned().unwrap_or(Value::Nil))
}

/// `rest list`: all but the first item.
pub(super) fn rest(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    match list_arg(&a[0], "find rest")? {
        [] => Ok(Value::list(Vec::new())),
        [_, tail @ ..] => checked_list(ctx, tail.to_vec()),
    }
}

/// `initial list`: all but the last item.
pub(super) fn initial(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    match list_arg(&a[0], "find initial")? {
        [] => Ok(Value::list(Vec::new())),
        [init @ .., _] => checked_list(ctx, init.to_vec()),
    }
}

/// `append list v`
pub(super) fn append(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let mut items = list_arg(&a[0], "push")?.to_vec();
    items.push(a[1].clone());
    checked_list(ctx, items)
}

/// `prepend list v`
pub(super) fn prepend(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let src = list_arg(&a[0], "prepend")?;
    let mut items = Vec::with_capacity(src.len() + 1);
    items.push(a[1].clone());
    items.extend_from_slice(src);
    checked_list(ctx, items)
}

/// `concat lists...`
pub(super) fn concat(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let mut items = Vec::new();
    for v in a {
        let Value::List(l) = v else {
            return Err(FuncError::exec(format!("Cannot concat type {} as list", v.type_name())));
        };
        ctx.check_items(items.len() + l.0.len())?;
        items.extend_from_slice(&l.0);
    }
    checked_list(ctx, items)
}

/// `uniq list`: drops later duplicates (deep equality).
pub(super) fn uniq(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let mut out: Vec<Value> = Vec::new();
    for v in list_arg(&a[0], "uniq")? {
        let mut dup = false;
        for seen in &out {
            if same(ctx, seen, v)? {
                dup = true;
                break;
            }
        }
        if !dup {
            out.push(v.clone());
        }
    }
    checked_list(ctx, out)
}

/// `has needle list`
pub(super) fn has(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    if let Value::Nil = a[1] {
        return Ok(Value::Bool(false));
    }
    for v in list_arg(&a[1], "find has")? {
        if same(ctx, &a[0], v)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

/// `without list omit...`
pub(super) fn without(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let mut out = Vec::new();
    'items: for v in list_arg(&a[0], "find without")? {
        for omit in &a[1..] {
            if same(ctx, omit, v)? {
                continue 'items;
            }
        }
        out.push(v.clone());
    }
    checked_list(ctx, out)
}

/// `compact list`: drops empty items.
pub(super) fn compact(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let items = list_arg(&a[0], "compact")?;
    checked_list(ctx, items.iter().filter(|v| !v.is_empty()).cloned().collect())
}

/// `reverse list`
pub(super) fn reverse(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let items = list_arg(&a[0], "find reverse")?;
    checked_list(ctx, items.iter().rev().cloned().collect())
}

/// `sortAlpha list`: the stringified items, sorted.
pub(super) fn sort_alpha(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let mut items = match &a[0] {
        Value::List(_) => strslice(&a[0], ctx.max_bytes)?,
        other => vec![strval(other, ctx.max_bytes)?.into_owned()],
    };
    ctx.charge(items.len() as u64 * 4)?;
    items.sort();
    Ok(str_list(items))
}

/// `dict k1 v1 k2 v2...` (an odd trailing key maps to "").
pub(super) fn dict(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    ctx.charge(a.len() as u64)?;
    let mut m = BTreeMap::new();
    for pair in a.chunks(2) {
        let key = strval(&pair[0], ctx.max_bytes)?.into_owned();
        let v = pair.get(1).cloned().unwrap_or_else(|| Value::str(""));
        m.insert(key, v);
    }
    Ok(Value::map(m))
}

/// Argument `i` as a `map[string]interface{}` parameter; `None` for Go's nil map, which a bare nil
/// (see [`FuncCtx::is_bare_nil`]) becomes. A nil `interface{}` from a field lookup is refused, and so
/// is a map that go-yaml decoded from a values file (a `map[interface{}]interface{}`), as in ACR.
pub(super) fn map_arg<'v>(ctx: &FuncCtx, a: &'v [Value], i: usize) -> Result<Option<&'v Rc<Map>>, FuncError> {
    match &a[i] {
        Value::Map(m) if m.is_string_keyed() => Ok(Some(m)),
        Value::Nil if ctx.is_bare_nil(i) => Ok(None),
        Value::Nil => Err(FuncError::exec("wrong type for value; expected map[string]interface {}; got interface {}")),
        other => Err(wrong_type("map[string]interface {}", other)),
    }
}

/// `set map key value`: stores in place (maps are shared like Go maps) and returns the map.
pub(super) fn set(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let m = map_arg(ctx, a, 0)?.ok_or_else(|| FuncError::exec("assignment to entry in nil map"))?;
    let key = str_arg(&a[1])?.to_string();
    let mut budget = ctx.remaining();
    let before = budget;
    let cyclic = value::reaches(&a[2], m, &mut budget).map_err(walk_err)?;
    ctx.charge(before - budget)?;
    if cyclic {
        return Err(FuncError::exec("cannot store a map inside itself"));
    }
    m.0.try_borrow_mut().map_err(|_| FuncError::exec("map is in use"))?.insert(key, a[2].clone());
    Ok(a[0].clone())
}

/// `unset map key`: deletes in place and returns the map.
pub(super) fn unset(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let key = str_arg(&a[1])?;
    let Some(m) = map_arg(ctx, a, 0)? else {
        // Go's nil map prints as an empty one.
        return Ok(Value::map(BTreeMap::new()));
    };
    m.0.try_borrow_mut().map_err(|_| FuncError::exec("map is in use"))?.remove(key);
    Ok(a[0].clone())
}

/// `hasKey map key`
pub(super) fn has_key(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let key = str_arg(&a[1])?;
    let found = map_arg(ctx, a, 0)?.is_some_and(|m| m.0.borrow().contains_key(key));
    Ok(Value::Bool(found))
}

/// `keys maps...`: all keys, sorted (Go's map order is random; sorted is reproducible).
pub(super) fn keys(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let mut out = Vec::new();
    for i in 0..a.len() {
        if let Some(m) = map_arg(ctx, a, i)? {
            out.extend(m.0.borrow().keys().cloned());
        }
    }
    ctx.charge(out.len() as u64)?;
    out.sort();
    Ok(str_list(out))
}

/// `values map`: the values in key order.
pub(super) fn values(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let items: Vec<Value> = match map_arg(ctx, a, 0)? {
        Some(m) => m.0.borrow().values().cloned().collect(),
        None => Vec::new(),
    };
    checked_list(ctx, items)
}

/// `pluck key maps...`: the value of `key` in each map that has it.
pub(super) fn pluck(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let key = str_arg(&a[0])?;
    let mut out = Vec::new();
    for i in 1..a.len() {
        if let Some(found) = map_arg(ctx, a, i)?.and_then(|m| m.0.borrow().get(key).cloned()) {
            out.push(found);
        }
    }
    checked_list(ctx, out)
}
