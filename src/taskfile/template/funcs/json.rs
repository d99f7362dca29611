//! `toJson` and `toPrettyJson` with Go `encoding/json` output conventions
//! (sorted keys, HTML-safe escaping, Go float layout).

use super::super::floatfmt::format_json;
use super::super::timefmt::rfc3339_nano;
use std::borrow::Cow;

use super::super::value::{MAX_VALUE_DEPTH, Value, key_text};
use super::{FuncCtx, FuncError};

/// Why encoding failed.
#[derive(Debug, PartialEq, Eq)]
enum JsonError {
    /// NaN or infinity, which JSON cannot represent (Go's "unsupported value").
    Unsupported,
    TooDeep,
    TooLarge,
}

struct Encoder {
    out: String,
    indent: bool,
    max: usize,
}

/// `json.Marshal` of input data, for `.ValuesJSON` and `.RunJSON`; `None` when Go refuses it
/// (a NaN or an infinity) or it is too large.
pub(in super::super) fn marshal_data(v: &serde_json::Value, max: usize) -> Option<String> {
    to_json(&Value::from_json(v)?, false, max).ok()
}

/// Encodes a value like `json.Marshal` (or `MarshalIndent(v, "", "  ")` when `pretty`).
fn to_json(v: &Value, pretty: bool, max: usize) -> Result<String, JsonError> {
    let mut e = Encoder { out: String::new(), indent: pretty, max };
    e.value(v, 0)?;
    Ok(e.out)
}

impl Encoder {
    fn newline(&mut self, depth: usize) {
        if self.indent {
            self.out.push('\n');
            for _ in 0..depth {
                self.out.push_str("  ");
            }
        }
    }

    fn value(&mut self, v: &Value, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_VALUE_DEPTH {
            return Err(JsonError::TooDeep);
        }
        if self.out.len() > self.max {
            return Err(JsonError::TooLarge);
        }
        match v {
            Value::Nil => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => self.out.push_str(&i.to_string()),
            Value::Uint(u) => self.out.push_str(&u.to_string()),
            Value::Float(x) if !x.is_finite() => return Err(JsonError::Unsupported),
            Value::Float(x) => self.out.push_str(&format_json(*x)),
            Value::Str(s) => self.string(s),
            Value::Time(t) => self.string(&rfc3339_nano(t)),
            Value::List(l) => {
                self.out.push('[');
                for (i, item) in l.0.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.newline(depth + 1);
                    self.value(item, depth + 1)?;
                }
                if !l.0.is_empty() {
                    self.newline(depth);
                }
                self.out.push(']');
            }
            Value::Struct(st) if st.json.is_some() => self.out.push_str(st.json.as_deref().unwrap_or("null")),
            Value::Struct(st) => {
                // encoding/json writes a struct's exported fields in declaration order.
                let fields: Vec<(&str, Value)> = st.fields[..st.printed].iter().map(|(k, v)| (*k, v.clone())).collect();
                self.object(fields.iter().map(|(k, v)| (*k, v)), fields.is_empty(), depth)?;
            }
            Value::Map(m) => {
                // Go writes integer keys as their decimal text, sorted with the others as strings.
                let m = m.0.borrow();
                let mut entries: Vec<(Cow<'_, str>, &Value)> = m.iter().map(|(k, v)| (key_text(k), v)).collect();
                if entries.iter().any(|(k, _)| matches!(k, Cow::Owned(_))) {
                    entries.sort_by(|a, b| a.0.cmp(&b.0));
                }
                self.object(entries.iter().map(|(k, v)| (k.as_ref(), *v)), entries.is_empty(), depth)?;
            }
        }
        Ok(())
    }

    fn object<'a>(
        &mut self,
        entries: impl Iterator<Item = (&'a str, &'a Value)>,
        empty: bool,
        depth: usize,
    ) -> Result<(), JsonError> {
        self.out.push('{');
        for (i, (k, item)) in entries.enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.newline(depth + 1);
            self.string(k);
            self.out.push(':');
            if self.indent {
                self.out.push(' ');
            }
            self.value(item, depth + 1)?;
        }
        if !empty {
            self.newline(depth);
        }
        self.out.push('}');
        Ok(())
    }

    fn string(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                '\r' => self.out.push_str("\\r"),
                '\t' => self.out.push_str("\\t"),
                '\x08' => self.out.push_str("\\b"),
                '\x0c' => self.out.push_str("\\f"),
                // Go escapes HTML-significant characters and JS line separators.
                '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => self.out.push_str(&format!("\\u{:04x}", c as u32)),
                c if (c as u32) < 0x20 => self.out.push_str(&format!("\\u{:04x}", c as u32)),
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }
}

fn encode(ctx: &mut FuncCtx, v: &Value, pretty: bool) -> Result<Value, FuncError> {
    match to_json(v, pretty, ctx.max_bytes) {
        Ok(s) => {
            ctx.charge(s.len() as u64 / 16)?;
            Ok(Value::string(s))
        }
        // Sprig ignores the marshalling error and returns the empty output.
        Err(JsonError::Unsupported) => Ok(Value::str("")),
        Err(JsonError::TooDeep) => Err(FuncError::limit("value is nested too deeply for JSON")),
        Err(JsonError::TooLarge) => Err(FuncError::limit("JSON output exceeds the output limit")),
    }
}

/// `toJson v`
pub(super) fn to_json_fn(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    encode(ctx, &a[0], false)
}

/// `toPrettyJson v`
pub(super) fn to_pretty_json_fn(ctx: &mut FuncCtx, a: &[Value]) -> Result<Value, FuncError> {
    encode(ctx, &a[0], true)
}
