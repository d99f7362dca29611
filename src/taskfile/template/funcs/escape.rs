//! Go's escaping builtins: `html`, `js`, `urlquery`.

use std::borrow::Cow;

use super::super::gofmt::{self, is_print};
use super::super::value::Value;
use super::args::fmt_err;
use super::{FuncCtx, FuncError};

/// Go's evalArgs: a lone string argument as-is, otherwise `fmt.Sprint` of all arguments,
/// where a nil argument becomes the string "<no value>" (so Sprint puts no space next to it).
fn joined<'a>(ctx: &FuncCtx, a: &'a [Value]) -> Result<Cow<'a, str>, FuncError> {
    if let [Value::Str(s)] = a {
        return Ok(Cow::Borrowed(s));
    }
    let printable: Vec<Value> =
        a.iter().map(|v| if let Value::Nil = v { Value::str("<no value>") } else { v.clone() }).collect();
    gofmt::sprint(&printable, ctx.max_bytes).map(Cow::Owned).map_err(fmt_err)
}

/// `html`: HTML-escapes the text.
pub(super) fn html(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let s = joined(ctx, a)?;
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
        if out.len() > ctx.max_bytes {
            return Err(FuncError::limit("html: result exceeds the output limit"));
        }
    }
    Ok(Value::string(out))
}

/// `js`: escapes the text for a JavaScript string literal.
pub(super) fn js(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let s = joined(ctx, a)?;
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if c.is_ascii() || is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
        if out.len() > ctx.max_bytes {
            return Err(FuncError::limit("js: result exceeds the output limit"));
        }
    }
    Ok(Value::string(out))
}

/// `urlquery`: escapes the text for a URL query (spaces become `+`).
pub(super) fn urlquery(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    let s = joined(ctx, a)?;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
        if out.len() > ctx.max_bytes {
            return Err(FuncError::limit("urlquery: result exceeds the output limit"));
        }
    }
    Ok(Value::string(out))
}
