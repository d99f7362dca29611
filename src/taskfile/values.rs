//! `.Values`: values files deep-merged with `--set` overrides.

use super::diag::{Diagnostic, Pos};
use super::parse::yaml_options;
use super::template::strconv;
use serde_json::{Map, Value};

/// Why values could not be merged.
#[derive(Debug, Clone, PartialEq)]
pub enum ValuesError {
    /// A values file is not valid YAML of a mapping.
    File(Diagnostic),
    /// A `NAME=VALUE` override is malformed.
    Set(String),
}

/// `.Values` of a run: the values files deep-merged in order, then the `NAME=VALUE` overrides
/// (`--set`, a task's values and secret values) applied as ACR's runner applies them: each sets a
/// top-level key to a string, so `a.b=1` sets the key `a.b`, and `x=null` the string "null".
/// Returns the document and the warnings (a key's type changed, say). Local and daemon runs both
/// merge through this.
pub fn merge(files: &[(String, String)], sets: &[String]) -> Result<(Value, Vec<String>), ValuesError> {
    let mut merged = Value::Object(Map::new());
    let mut warnings = Vec::new();
    for (name, text) in files {
        let v = parse_values_file(name, text).map_err(ValuesError::File)?;
        deep_merge(&mut merged, &v, "", &mut warnings);
    }
    let sets = sets.iter().map(|s| parse_set(s)).collect::<Result<Vec<_>, _>>().map_err(ValuesError::Set)?;
    if let Value::Object(m) = &mut merged {
        for s in sets {
            m.insert(s.key, Value::String(s.value));
        }
    }
    Ok((merged, warnings))
}

/// Parses a values file (a YAML mapping) into a JSON value. An empty file is an empty mapping.
pub fn parse_values_file(file: &str, text: &str) -> Result<Value, Diagnostic> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    // The span tree applies the budgets (nodes and bytes, counting every alias) and resolves
    // merge keys; its scalars are then typed as go-yaml v2 types them, as ACR's runner does.
    // Syntax errors are worded by serde-saphyr, whose messages are better.
    let limits = super::yaml::Limits { go_yaml_v2: true, ..super::yaml::Limits::default() };
    let tree = match super::yaml::parse(text, &limits) {
        Ok(tree) => tree,
        Err(e) if e.limit => {
            let mut d = Diagnostic::error("limit", format!("invalid values file: {}", e.message))
                .at(e.pos)
                .help("values files are untrusted input: nesting and alias expansion are capped; simplify the file");
            d.file = file.to_string();
            return Err(d);
        }
        Err(e) => {
            let (msg, pos) = match serde_saphyr::from_str_with_options::<Value>(text, yaml_options()) {
                Err(se) => super::parse::saphyr_message(&se),
                Ok(_) => (e.message.clone(), Some(e.pos)),
            };
            let mut d = Diagnostic::error("values-syntax", format!("invalid values file: {msg}"))
                .at_opt(pos.or(Some(e.pos)))
                .help("a values file is a YAML mapping of names to values");
            d.file = file.to_string();
            return Err(d);
        }
    };
    let lines: Vec<&str> = text.lines().collect();
    let value = go_yaml_value(&tree, &lines, true).map_err(|(msg, pos)| {
        let mut d = Diagnostic::error("values", format!("invalid values file: {msg}"))
            .at(pos)
            .help("quote the value to keep it a string");
        d.file = file.to_string();
        d
    })?;
    match value {
        Value::Object(_) => Ok(value),
        Value::Null => Ok(Value::Object(Map::new())),
        other => {
            let mut d = Diagnostic::error(
                "values-syntax",
                format!("a values file must be a mapping, found {}", type_name(&other)),
            )
            .at(Pos::new(1, 1))
            .help("write `name: value` lines");
            d.file = file.to_string();
            Err(d)
        }
    }
}

/// A YAML node as go-yaml v2 decodes it into `interface{}`: plain scalars typed by YAML 1.1's
/// rules (`yes`/`on` are booleans, `0777` is octal, `1_000` is an int, integers past `int64`
/// are `uint64`, `1.0` stays a float, timestamps stay strings), quoted ones always strings.
///
/// Keys are typed alike: an integer key stays an integer (carried through JSON in the form
/// [`template::int_map_key`] gives it, so that ranges visit it in Go's order), and a boolean,
/// float or null key is refused, as ACR's runner fails to write such a map into `.ValuesJSON`.
/// The top level decodes into `map[string]interface{}`, so its keys stay text.
fn go_yaml_value(node: &super::yaml::YNode, lines: &[&str], top: bool) -> Result<Value, (String, Pos)> {
    use super::yaml::YKind;
    Ok(match &node.kind {
        YKind::Map(entries) => {
            let mut m = Map::new();
            for (k, pos, v) in entries {
                let key = if top { top_level_key(k, *pos, lines) } else { go_yaml_key(k, *pos, lines)? };
                m.insert(key, go_yaml_value(v, lines, false)?);
            }
            Value::Object(m)
        }
        YKind::Seq(items) => {
            Value::Array(items.iter().map(|i| go_yaml_value(i, lines, false)).collect::<Result<_, _>>()?)
        }
        YKind::Scalar(sc) if sc.tag.as_deref().is_some_and(|t| t != "str") => {
            resolve_tagged(sc.tag.as_deref().unwrap_or_default(), &sc.text).map_err(|m| (m, node.pos))?
        }
        YKind::Scalar(sc) if !sc.plain => Value::String(sc.text.clone()),
        YKind::Scalar(sc) => match resolve_plain(&sc.text) {
            Resolved::Value(v) => v,
            Resolved::NotFinite => {
                return Err((
                    format!("`{}` is not a finite number, and ACR cannot write it into .ValuesJSON", sc.text),
                    node.pos,
                ));
            }
        },
    })
}

/// Whether the key at `pos` is written quoted.
fn quoted_at(pos: Pos, lines: &[&str]) -> bool {
    let line = lines.get((pos.line as usize).wrapping_sub(1)).copied().unwrap_or_default();
    matches!(line.chars().nth((pos.col as usize).wrapping_sub(1)), Some('"' | '\''))
}

/// A key of the top level, which go-yaml decodes into a string: its text, except that a null
/// (`~`, `null`) becomes the empty string.
fn top_level_key(key: &str, pos: Pos, lines: &[&str]) -> String {
    match resolve_plain(key) {
        Resolved::Value(Value::Null) if !quoted_at(pos, lines) => String::new(),
        _ => key.to_string(),
    }
}

/// A mapping key as go-yaml types it; the key is quoted when its first character is a quote.
fn go_yaml_key(key: &str, pos: Pos, lines: &[&str]) -> Result<String, (String, Pos)> {
    if quoted_at(pos, lines) || key == "<<" {
        return Ok(key.to_string());
    }
    match resolve_plain(key) {
        Resolved::Value(Value::Number(n)) if n.is_i64() => Ok(super::template::int_map_key(n.as_i64().unwrap_or(0))),
        // A key past int64 is go-yaml's uint64; drydock keeps it as its text.
        Resolved::Value(Value::String(_)) => Ok(key.to_string()),
        Resolved::Value(Value::Number(n)) if n.is_u64() => Ok(key.to_string()),
        _ => Err((
            format!("the key `{key}` is not a string or an integer, and ACR cannot write it into .ValuesJSON"),
            pos,
        )),
    }
}

/// go-yaml's `resolve` under an explicit tag, quoted or not: the text must resolve to the tag's type
/// (an integer also serves `!!float`); other tags (`!!binary`, local ones) keep the text.
fn resolve_tagged(tag: &str, text: &str) -> Result<Value, String> {
    let resolved = match text {
        "" => Resolved::Value(Value::Null),
        _ => resolve_plain(text),
    };
    let mismatch = || format!("cannot decode `{text}` as a !!{tag}, as go-yaml would not either");
    match (tag, resolved) {
        ("int", Resolved::Value(v @ Value::Number(_))) if v.is_i64() || v.is_u64() => Ok(v),
        ("float", Resolved::Value(Value::Number(n))) => {
            serde_json::Number::from_f64(n.as_f64().unwrap_or(f64::NAN)).map(Value::Number).ok_or_else(mismatch)
        }
        ("bool", Resolved::Value(v @ Value::Bool(_))) | ("null", Resolved::Value(v @ Value::Null)) => Ok(v),
        ("int" | "float" | "bool" | "null", _) => Err(mismatch()),
        _ => Ok(Value::String(text.to_string())),
    }
}

enum Resolved {
    Value(Value),
    NotFinite,
}

/// go-yaml v2's `resolve` for an untagged plain scalar.
fn resolve_plain(s: &str) -> Resolved {
    let v = |v: Value| Resolved::Value(v);
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return v(Value::Bool(true));
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return v(Value::Bool(false));
        }
        "" | "~" | "null" | "Null" | "NULL" => return v(Value::Null),
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf"
        | "-.INF" => return Resolved::NotFinite,
        _ => {}
    }
    let string = || v(Value::String(s.to_string()));
    match s.as_bytes()[0] {
        b'.' => match strconv::parse_float(s) {
            Some(f) => float(f),
            None => string(),
        },
        b'0'..=b'9' | b'+' | b'-' => {
            // go-yaml's timestamps (2006-1-2...) decode to strings for `interface{}`, and they
            // parse as neither integer nor float below, so they stay strings here too.
            let plain = s.replace('_', "");
            if let Some(i) = strconv::parse_int(&plain) {
                return v(Value::from(i));
            }
            if let Some(u) = strconv::parse_uint(&plain) {
                return v(Value::from(u));
            }
            if yaml_style_float(&plain)
                && let Some(f) = strconv::parse_float(&plain)
            {
                return float(f);
            }
            string()
        }
        _ => string(),
    }
}

fn float(f: f64) -> Resolved {
    match serde_json::Number::from_f64(f) {
        Some(n) => Resolved::Value(Value::Number(n)),
        None => Resolved::NotFinite,
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn yaml_style_float(s: &str) -> bool {
    let b = s.strip_prefix(['+', '-']).unwrap_or(s).as_bytes();
    let digits = |b: &[u8], i: usize| b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut i;
    if b.first() == Some(&b'.') {
        let n = digits(b, 1);
        if n == 0 {
            return false;
        }
        i = 1 + n;
    } else {
        let n = digits(b, 0);
        if n == 0 {
            return false;
        }
        i = n;
        if b.get(i) == Some(&b'.') {
            i += 1 + digits(b, i + 1);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(b, i);
        if n == 0 {
            return false;
        }
        i += n;
    }
    i == b.len()
}

/// One `--set` override: a top-level key and its string value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetOverride {
    /// The key, dots and all.
    pub key: String,
    /// The value, always a string.
    pub value: String,
}

/// Parses `key=value`, splitting at the first `=`.
pub fn parse_set(arg: &str) -> Result<SetOverride, String> {
    let (key, value) =
        arg.split_once('=').ok_or_else(|| format!("`--set {arg}` has no `=`; write --set name=value"))?;
    if key.is_empty() {
        return Err(format!("`--set {arg}` has an empty key; write --set name=value"));
    }
    Ok(SetOverride { key: key.to_string(), value: value.to_string() })
}

/// Deep-merges `overlay` into `base`: mappings merge key by key, a null deletes the key, and
/// anything else replaces. A scalar is never merged over a mapping: ACR skips that with a
/// warning, and so do we (the warning text is returned).
pub fn deep_merge(base: &mut Value, overlay: &Value, path: &str, warnings: &mut Vec<String>) {
    let (Value::Object(b), Value::Object(o)) = (&mut *base, overlay) else {
        *base = overlay.clone();
        return;
    };
    for (k, v) in o {
        let sub = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
        match (b.get_mut(k), v) {
            // A null from a later file deletes the key; a null no earlier file set stays a nil
            // value, as ACR's runner keeps it (`.ValuesJSON` shows `"k":null`).
            (Some(_), Value::Null) => {
                b.remove(k);
            }
            (Some(existing @ Value::Object(_)), Value::Object(_)) => deep_merge(existing, v, &sub, warnings),
            (Some(Value::Object(_)), _) => {
                warnings.push(format!("value `{sub}` is a mapping; a scalar override was skipped"))
            }
            _ => {
                b.insert(k.clone(), v.clone());
            }
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_alias_bomb_in_values_is_refused_before_it_expands() {
        let text = format!("big: &big \"{}\"\nlist: [{}]\n", "x".repeat(100_000), ["*big"; 1000].join(", "));
        let d = parse_values_file("values.yaml", &text).unwrap_err();
        assert_eq!((d.code, d.file.as_str()), ("limit", "values.yaml"), "{}", d.message);
        assert!(d.message.contains("MiB of text"), "{}", d.message);
    }

    #[test]
    fn files_merge_in_order_then_sets_apply() {
        let files = vec![
            ("a.yaml".to_string(), "env: dev\nimage: {tag: v1, name: app}\n".to_string()),
            ("b.yaml".to_string(), "image: {tag: v2}\n".to_string()),
        ];
        let (merged, warnings) = merge(&files, &["env=prod".to_string()]).unwrap();
        // `--set` values are strings, as in ACR.
        assert_eq!(merged, serde_json::json!({"env": "prod", "image": {"tag": "v2", "name": "app"}}));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(matches!(merge(&files, &["=x".to_string()]), Err(ValuesError::Set(_))));
        let bad = vec![("c.yaml".to_string(), "- a list\n".to_string())];
        assert!(matches!(merge(&bad, &[]), Err(ValuesError::File(_))));
    }

    #[test]
    fn sets_are_flat_string_keys_as_in_acr() {
        let files = vec![(
            "v.yaml".to_string(),
            "image: {repo: a, tag: '1'}
keep: true
drop: 1
"
            .to_string(),
        )];
        let sets = ["image.tag=2", "drop=null", "new=x=y", "keep=5"].map(String::from);
        let (v, _) = merge(&files, &sets).unwrap();
        assert_eq!(
            v,
            json!({"image": {"repo": "a", "tag": "1"}, "image.tag": "2", "keep": "5", "drop": "null", "new": "x=y"})
        );
    }

    #[test]
    fn a_scalar_file_value_over_a_mapping_is_skipped_with_a_warning() {
        let mut v = json!({"image": {"repo": "a"}});
        let mut w = vec![];
        deep_merge(&mut v, &json!({"image": "x"}), "", &mut w);
        assert_eq!(v, json!({"image": {"repo": "a"}}));
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn bad_set_arguments_say_what_to_write() {
        assert!(parse_set("novalue").unwrap_err().contains("name=value"));
        assert!(parse_set("=1").unwrap_err().contains("empty key"));
    }

    #[test]
    fn scalars_are_typed_as_go_yaml_v2_types_them() {
        let text = "o: 0777
h: 0x1F
u: 1_000
b: 0b11
big: 18446744073709551615
f: 1.0
e: 1e3
\
                    y: yes
n: off
d: 2024-01-02
q: '0777'
nul: ~
eight: 08
neg: -0b11
";
        let v = parse_values_file("v.yaml", text).unwrap();
        assert_eq!(v["o"], json!(511));
        assert_eq!(v["h"], json!(31));
        assert_eq!(v["u"], json!(1000));
        assert_eq!(v["b"], json!(3));
        assert_eq!(v["big"], json!(18446744073709551615u64));
        assert!(v["f"].is_f64() && v["e"].is_f64() && v["eight"].is_f64(), "{v}");
        assert_eq!(
            (&v["y"], &v["n"], &v["d"], &v["q"], &v["nul"]),
            (&json!(true), &json!(false), &json!("2024-01-02"), &json!("0777"), &json!(null))
        );
        assert_eq!(v["neg"], json!(-3));
        let e = parse_values_file(
            "v.yaml", "x: .inf
",
        )
        .unwrap_err();
        assert!(e.message.contains("finite"), "{}", e.message);
    }

    #[test]
    fn values_file_must_be_a_mapping() {
        assert!(parse_values_file("v.yaml", "- a\n- b\n").is_err());
        assert_eq!(parse_values_file("v.yaml", "").unwrap(), json!({}));
        assert_eq!(parse_values_file("v.yaml", "a: 1\nb: [x]\n").unwrap(), json!({"a": 1, "b": ["x"]}));
    }
}
