//! Sprig string functions (Sprig argument order: the subject string comes last).

use std::collections::BTreeMap;

use super::super::gofmt::quote as go_quote;
use super::super::value::Value;
use super::args::{int_arg, str_arg, strslice, strval};
use super::{FuncCtx, FuncError};

fn text(s: String) -> Result<Value, FuncError> {
    Ok(Value::string(s))
}

/// Applies a one-to-one character mapping (Go's simple case mapping keeps `ß` as is).
fn map_chars(s: &str, f: impl Fn(char) -> Option<char>) -> String {
    s.chars().map(|c| f(c).unwrap_or(c)).collect()
}

/// Single-character upper case, if there is one.
pub(super) fn simple_upper(c: char) -> Option<char> {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => Some(u),
        _ => None,
    }
}

/// Single-character lower case, if there is one.
pub(super) fn simple_lower(c: char) -> Option<char> {
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => Some(l),
        _ => None,
    }
}

/// `upper s`
pub(super) fn upper(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    text(map_chars(str_arg(&a[0])?, simple_upper))
}

/// `lower s`
pub(super) fn lower(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    text(map_chars(str_arg(&a[0])?, simple_lower))
}

/// `trim s`: strips leading and trailing white space.
pub(super) fn trim(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::str(str_arg(&a[0])?.trim()))
}

/// `trimAll cutset s`
pub(super) fn trim_all(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let cutset = str_arg(&a[0])?;
    Ok(Value::str(str_arg(&a[1])?.trim_matches(|c| cutset.contains(c))))
}

/// `trimPrefix prefix s`
pub(super) fn trim_prefix(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let (p, s) = (str_arg(&a[0])?, str_arg(&a[1])?);
    Ok(Value::str(s.strip_prefix(p).unwrap_or(s)))
}

/// `trimSuffix suffix s`
pub(super) fn trim_suffix(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let (p, s) = (str_arg(&a[0])?, str_arg(&a[1])?);
    Ok(Value::str(s.strip_suffix(p).unwrap_or(s)))
}

/// `contains substr s`
pub(super) fn contains(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Bool(str_arg(&a[1])?.contains(str_arg(&a[0])?)))
}

/// `hasPrefix prefix s`
pub(super) fn has_prefix(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Bool(str_arg(&a[1])?.starts_with(str_arg(&a[0])?)))
}

/// `hasSuffix suffix s`
pub(super) fn has_suffix(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Bool(str_arg(&a[1])?.ends_with(str_arg(&a[0])?)))
}

/// The first `n` characters of `s` (all of it if shorter).
fn prefix_chars(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

/// `trunc n s`: the first n characters, or the last -n for negative n.
pub(super) fn trunc(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let n = int_arg(&a[0])?;
    let s = str_arg(&a[1])?;
    if n >= 0 {
        return Ok(Value::str(prefix_chars(s, usize::try_from(n).unwrap_or(usize::MAX))));
    }
    let count = s.chars().count();
    let keep = usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX);
    if keep >= count {
        return Ok(Value::str(s));
    }
    let start = s.char_indices().nth(count - keep).map_or(s.len(), |(i, _)| i);
    Ok(Value::str(&s[start..]))
}

/// `substr start end s` (character offsets; end < 0 or past the end means "to the end").
pub(super) fn substr(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let (start, end) = (int_arg(&a[0])?, int_arg(&a[1])?);
    let s = str_arg(&a[2])?;
    let count = s.chars().count() as i64;
    let (from, to) = if start < 0 {
        (0, end)
    } else if end < 0 || end > count {
        (start, count)
    } else {
        (start, end)
    };
    if to < 0 || from > to || from > count {
        return Err(FuncError::exec(format!("slice bounds out of range [{from}:{to}]")));
    }
    let to = to.min(count) as usize;
    let from = from as usize;
    let byte_at = |n: usize| s.char_indices().nth(n).map_or(s.len(), |(i, _)| i);
    Ok(Value::str(&s[byte_at(from)..byte_at(to)]))
}

/// `abbrev width s`: truncates with "..." when longer than width (width < 4: unchanged).
pub(super) fn abbrev(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let width = int_arg(&a[0])?;
    let s = str_arg(&a[1])?;
    if width < 4 || s.chars().count() as i64 <= width {
        return Ok(Value::str(s));
    }
    text(format!("{}...", prefix_chars(s, (width - 3) as usize)))
}

/// `repeat count s`
pub(super) fn repeat(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let n = int_arg(&a[0])?;
    let s = str_arg(&a[1])?;
    let n = usize::try_from(n).map_err(|_| FuncError::exec("strings: negative Repeat count"))?;
    ctx.check_len(s.len().saturating_mul(n))?;
    ctx.charge((s.len() * n) as u64 / 16)?;
    text(s.repeat(n))
}

/// `replace old new s`: replaces every occurrence.
pub(super) fn replace(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let (old, new, s) = (str_arg(&a[0])?, str_arg(&a[1])?, str_arg(&a[2])?);
    let hits = if old.is_empty() { s.chars().count() + 1 } else { s.matches(old).count() };
    let size = s.len().saturating_add(hits.saturating_mul(new.len()));
    ctx.check_len(size)?;
    ctx.charge(size as u64 / 16)?;
    text(s.replace(old, new))
}

/// Go's strings.SplitN (`n < 0`: no limit; `n == 0`: nothing).
fn go_split<'s>(s: &'s str, sep: &str, n: i64) -> Vec<&'s str> {
    if n == 0 {
        return Vec::new();
    }
    let limit = usize::try_from(n).unwrap_or(usize::MAX);
    if sep.is_empty() {
        // Go explodes into characters; the last piece keeps the remainder.
        let mut out = Vec::new();
        let mut rest = s;
        while let Some(c) = rest.chars().next() {
            if out.len() + 1 == limit {
                out.push(rest);
                return out;
            }
            out.push(&rest[..c.len_utf8()]);
            rest = &rest[c.len_utf8()..];
        }
        return out;
    }
    s.splitn(limit, sep).collect()
}

fn parts_map(ctx: &mut FuncCtx, parts: Vec<&str>) -> Result<Value, FuncError> {
    ctx.check_items(parts.len())?;
    ctx.charge(parts.len() as u64)?;
    let m: BTreeMap<String, Value> =
        parts.into_iter().enumerate().map(|(i, p)| (format!("_{i}"), Value::str(p))).collect();
    Ok(Value::map(m))
}

/// `split sep s`: a map with keys `_0`, `_1`...
pub(super) fn split(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let parts = go_split(str_arg(&a[1])?, str_arg(&a[0])?, -1);
    parts_map(ctx, parts)
}

/// `splitn sep n s`: like split, at most n pieces.
pub(super) fn splitn(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let n = int_arg(&a[1])?;
    let parts = go_split(str_arg(&a[2])?, str_arg(&a[0])?, n);
    parts_map(ctx, parts)
}

/// `splitList sep s`: a list of pieces.
pub(super) fn split_list(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let parts = go_split(str_arg(&a[1])?, str_arg(&a[0])?, -1);
    ctx.check_items(parts.len())?;
    ctx.charge(parts.len() as u64)?;
    Ok(Value::list(parts.into_iter().map(Value::str).collect()))
}

/// `join sep list`: joins the stringified items (nil items are skipped).
pub(super) fn join(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let sep = str_arg(&a[0])?;
    let items = strslice(&a[1], ctx.max_bytes)?;
    let size = items.iter().map(String::len).sum::<usize>() + sep.len().saturating_mul(items.len());
    ctx.check_len(size)?;
    ctx.charge(items.len() as u64)?;
    text(items.join(sep))
}

/// Stringifies the non-nil arguments.
fn non_nil_strings(ctx: &mut FuncCtx, a: &[Value]) -> Result<Vec<String>, FuncError> {
    let mut out = Vec::with_capacity(a.len());
    let mut total = 0usize;
    for v in a.iter().filter(|v| !matches!(v, Value::Nil)) {
        let s = strval(v, ctx.max_bytes)?.into_owned();
        total = total.saturating_add(s.len() + 1);
        ctx.check_len(total)?;
        out.push(s);
    }
    Ok(out)
}

/// `cat args...`: non-nil arguments joined by spaces.
pub(super) fn cat(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    text(non_nil_strings(ctx, a)?.join(" "))
}

/// `quote args...`: each non-nil argument double-quoted, joined by spaces.
pub(super) fn quote(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let parts: Vec<String> = non_nil_strings(ctx, a)?.iter().map(|s| go_quote(s)).collect();
    let out = parts.join(" ");
    ctx.check_len(out.len())?;
    text(out)
}

/// `squote args...`: each non-nil argument single-quoted, joined by spaces.
pub(super) fn squote(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let parts: Vec<String> = non_nil_strings(ctx, a)?.iter().map(|s| format!("'{s}'")).collect();
    text(parts.join(" "))
}

fn indent_str(ctx: &mut FuncCtx, a: &[Value], lead: &str) -> Result<Value, FuncError> {
    let n = int_arg(&a[0])?;
    let s = str_arg(&a[1])?;
    let n = usize::try_from(n).map_err(|_| FuncError::exec("strings: negative Repeat count"))?;
    let lines = s.bytes().filter(|&b| b == b'\n').count() + 1;
    let size = s.len().saturating_add(lines.saturating_mul(n)) + lead.len();
    ctx.check_len(size)?;
    ctx.charge(size as u64 / 16)?;
    let pad = " ".repeat(n);
    let mut out = String::with_capacity(size);
    out.push_str(lead);
    out.push_str(&pad);
    out.push_str(&s.replace('\n', &format!("\n{pad}")));
    text(out)
}

/// `indent n s`: prefixes every line with n spaces.
pub(super) fn indent(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    indent_str(ctx, a, "")
}

/// `nindent n s`: a newline, then `indent n s`.
pub(super) fn nindent(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    indent_str(ctx, a, "\n")
}

/// `nospace s`: removes all white space.
pub(super) fn nospace(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    text(str_arg(&a[0])?.chars().filter(|c| !c.is_whitespace()).collect())
}

/// `plural one many count`
pub(super) fn plural(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let n = int_arg(&a[2])?;
    Ok(Value::str(if n == 1 { str_arg(&a[0])? } else { str_arg(&a[1])? }))
}
