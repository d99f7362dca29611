//! Sprig string functions (Sprig argument order: the subject string comes last).

use std::collections::BTreeMap;

use super::super::gofmt::quote as go_quote;
use super::super::value::{ListKind, MapKind, Value};
use super::args::{int_at, str_arg, strslice, strval};
use super::runes::{byte_slice, from_go_bytes, is_space, latin1, to_lower, to_upper};
use super::{FuncCtx, FuncError};

fn text(s: String) -> Result<Value, FuncError> {
    Ok(Value::string(s))
}

/// `upper s`: Go's per-character simple mapping (`ß` stays `ß`).
pub(super) fn upper(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    text(str_arg(&a[0])?.chars().map(to_upper).collect())
}

/// `lower s`
pub(super) fn lower(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    text(str_arg(&a[0])?.chars().map(to_lower).collect())
}

/// `trim s`: strips leading and trailing white space.
pub(super) fn trim(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::str(str_arg(&a[0])?.trim()))
}

/// `trimAll cutset s` (and its old name `trimall`): strips characters of cutset at both ends.
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

/// Go's `s[from:to]` on bytes, with the runtime's panic as the error.
fn go_slice(s: &str, from: i64, to: i64) -> Result<String, FuncError> {
    let len = s.len() as i64;
    let msg = if to < 0 || to > len {
        format!("slice bounds out of range [:{to}] with length {len}")
    } else if from < 0 || from > to {
        format!("slice bounds out of range [{from}:{to}]")
    } else {
        return Ok(byte_slice(s, from as usize, to as usize));
    };
    Err(FuncError::exec(format!("runtime error: {msg}")))
}

/// `trunc n s`: the first n bytes. Sprig slices `s[0:n]`, so a negative n always panics
/// (no string is shorter than it), which is an error.
pub(super) fn trunc(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let n = int_at(ctx, a, 0)?;
    let s = str_arg(&a[1])?;
    if (s.len() as i64) <= n {
        return Ok(Value::str(s));
    }
    if n < 0 {
        return Err(FuncError::exec(format!("runtime error: slice bounds out of range [:{n}]")));
    }
    text(go_slice(s, 0, n)?)
}

/// `substr start end s`: byte offsets. start < 0 means `s[:end]`; end < 0 or past the end
/// means `s[start:]`; anything else out of range panics in Go, so it is an error.
pub(super) fn substr(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let (start, end) = (int_at(ctx, a, 0)?, int_at(ctx, a, 1)?);
    let s = str_arg(&a[2])?;
    let len = s.len() as i64;
    let out = if start < 0 {
        go_slice(s, 0, end)?
    } else if end < 0 || end > len {
        if start > len {
            return Err(FuncError::exec(format!("runtime error: slice bounds out of range [{start}:{len}]")));
        }
        go_slice(s, start, len)?
    } else {
        go_slice(s, start, end)?
    };
    text(out)
}

/// goutils' AbbreviateFull on bytes; its errors (widths too small) give "".
fn abbreviate_full(s: &[u8], offset: i64, max: i64) -> Vec<u8> {
    const MARKER: &[u8] = b"...";
    let len = s.len() as i64;
    if s.is_empty() || max < 4 {
        return Vec::new();
    }
    if len <= max {
        return s.to_vec();
    }
    let mut offset = offset.min(len);
    // Go's int arithmetic wraps; for offsets near the limits that changes the branch taken.
    if len.wrapping_sub(offset) < max - 3 {
        offset = len - (max - 3);
    }
    if offset <= 4 {
        return [&s[..(max - 3) as usize], MARKER].concat();
    }
    if max < 7 {
        return Vec::new();
    }
    if offset.wrapping_add(max - 3) < len {
        let tail = abbreviate_full(&s[offset as usize..], 0, max - 3);
        return [MARKER, &tail].concat();
    }
    [MARKER, &s[(len - (max - 3)) as usize..]].concat()
}

/// `abbrev width s`: cuts to width bytes ending in "..." (width < 4: unchanged).
pub(super) fn abbrev(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let width = int_at(ctx, a, 0)?;
    let s = str_arg(&a[1])?;
    if width < 4 {
        return Ok(Value::str(s));
    }
    text(from_go_bytes(&abbreviate_full(s.as_bytes(), 0, width)))
}

/// `abbrevboth left right s`: "..." at both ends, keeping the text around byte offset left.
pub(super) fn abbrevboth(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let (left, right) = (int_at(ctx, a, 0)?, int_at(ctx, a, 1)?);
    let s = str_arg(&a[2])?;
    if right < 4 || left > 0 && right < 7 {
        return Ok(Value::str(s));
    }
    text(from_go_bytes(&abbreviate_full(s.as_bytes(), left, right)))
}

/// goutils' WrapCustom: breaks at the last space within `width` bytes; long words stay whole
/// unless `long_words`, which cuts them every `width` bytes (even inside a character).
fn wrap_custom(ctx: &mut FuncCtx, s: &str, width: i64, sep: &str, long_words: bool) -> Result<String, FuncError> {
    let b = s.as_bytes();
    let sep = if sep.is_empty() { "\n" } else { sep }.as_bytes();
    let width = usize::try_from(width.max(1)).unwrap_or(usize::MAX);
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut offset = 0;
    while b.len() - offset > width {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let window = &b[offset..offset + width + 1];
        ctx.charge(window.len() as u64 / 16 + 1)?;
        let (piece, next) = match window.iter().rposition(|&c| c == b' ') {
            Some(sp) => (offset + sp, offset + sp + 1),
            None if long_words => (offset + width, offset + width),
            None => match b[offset + width..].iter().position(|&c| c == b' ') {
                Some(sp) => (offset + width + sp, offset + width + sp + 1),
                None => break,
            },
        };
        out.extend_from_slice(&b[offset..piece]);
        out.extend_from_slice(sep);
        ctx.check_len(out.len())?;
        offset = next;
    }
    out.extend_from_slice(&b[offset..]);
    ctx.check_len(out.len())?;
    Ok(from_go_bytes(&out))
}

/// `wrap width s`: wraps at spaces with newlines.
pub(super) fn wrap(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let width = int_at(ctx, a, 0)?;
    let s = str_arg(&a[1])?;
    text(wrap_custom(ctx, s, width, "", false)?)
}

/// `wrapWith width sep s`: wraps with sep, cutting long words too.
pub(super) fn wrap_with(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let width = int_at(ctx, a, 0)?;
    let (sep, s) = (str_arg(&a[1])?, str_arg(&a[2])?);
    text(wrap_custom(ctx, s, width, sep, true)?)
}

/// `initials s`: the first byte of every white-space separated word. goutils reads bytes as
/// Latin-1 runes, so a word starting with "é" gives "Ã".
pub(super) fn initials(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let mut gap = true;
    let mut out = String::new();
    for c in str_arg(&a[0])?.bytes().map(latin1) {
        if is_space(c) {
            gap = true;
        } else if gap {
            out.push(c);
            gap = false;
        }
    }
    text(out)
}

/// `hello`: Sprig's smoke test.
pub(super) fn hello(_: &mut FuncCtx, _: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::str("Hello!"))
}

/// `repeat count s`
pub(super) fn repeat(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let n = int_at(ctx, a, 0)?;
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
    Ok(Value::map_of(m, MapKind::StringStrings))
}

/// `split sep s`: a map with keys `_0`, `_1`...
pub(super) fn split(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let parts = go_split(str_arg(&a[1])?, str_arg(&a[0])?, -1);
    parts_map(ctx, parts)
}

/// `splitn sep n s`: like split, at most n pieces.
pub(super) fn splitn(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let n = int_at(ctx, a, 1)?;
    let parts = go_split(str_arg(&a[2])?, str_arg(&a[0])?, n);
    parts_map(ctx, parts)
}

/// `splitList sep s`: a list of pieces.
pub(super) fn split_list(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let parts = go_split(str_arg(&a[1])?, str_arg(&a[0])?, -1);
    ctx.check_items(parts.len())?;
    ctx.charge(parts.len() as u64)?;
    Ok(Value::list_of(parts.into_iter().map(Value::str).collect(), ListKind::Strings))
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
    let n = int_at(ctx, a, 0)?;
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

/// `nospace s`: goutils' DeleteWhiteSpace works on bytes taken as Latin-1 runes: it drops the
/// bytes 0x85 and 0xA0 too (even inside a character) and, when it removed anything, re-encodes
/// every other non-ASCII byte as its own character.
pub(super) fn nospace(_: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let s = str_arg(&a[0])?;
    let kept: Vec<char> = s.bytes().map(latin1).filter(|&c| !is_space(c)).collect();
    if kept.len() == s.len() {
        return Ok(Value::str(s));
    }
    text(kept.into_iter().collect())
}

/// `plural one many count`
pub(super) fn plural(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    // Go converts every argument before the call, so the form not chosen must be a string too.
    let (one, many, n) = (str_arg(&a[0])?, str_arg(&a[1])?, int_at(ctx, a, 2)?);
    Ok(Value::str(if n == 1 { one } else { many }))
}
