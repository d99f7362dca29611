//! Sprig's integer sequences (`until`, `untilStep`) and `typeIsLike`, which sits here rather
//! than beside `typeIs` so that misc.rs keeps one owner.

use super::super::value::{ListKind, Value};
use super::args::{int_at, str_arg};
use super::{FuncCtx, FuncError};

/// The integers from `start` towards `stop` (exclusive) by `step`; empty when the step
/// does not lead there.
fn sequence(ctx: &mut FuncCtx, start: i64, stop: i64, step: i64) -> Result<Value, FuncError> {
    let towards = (stop > start && step > 0) || (stop < start && step < 0);
    if !towards {
        return Ok(Value::list_of(Vec::new(), ListKind::Ints));
    }
    let span = (i128::from(stop) - i128::from(start)).unsigned_abs();
    let stride = i128::from(step).unsigned_abs();
    let count = span.div_ceil(stride);
    ctx.check_items(usize::try_from(count).unwrap_or(usize::MAX))?;
    ctx.charge(count as u64)?;
    // In i128: k * step alone can pass i64 even though every item is in range.
    let items = (0..count).map(|k| Value::Int((i128::from(start) + k as i128 * i128::from(step)) as i64)).collect();
    Ok(Value::list_of(items, ListKind::Ints))
}

/// `until n`: 0, 1, ... n-1 (or 0, -1, ... n+1 for negative n).
pub(super) fn until(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let n = int_at(ctx, a, 0)?;
    sequence(ctx, 0, n, if n < 0 { -1 } else { 1 })
}

/// `untilStep start stop step`
pub(super) fn until_step(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    sequence(ctx, int_at(ctx, a, 0)?, int_at(ctx, a, 1)?, int_at(ctx, a, 2)?)
}

/// `typeIsLike type value`: `typeIs`, also accepting a pointer to that type.
pub(super) fn type_is_like(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let target = str_arg(&a[0])?;
    let actual = a[1].type_name();
    let like = target == actual || actual.strip_prefix('*') == Some(target);
    Ok(Value::Bool(like))
}
