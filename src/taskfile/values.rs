//! `.Values`: values files deep-merged with `--set` overrides.

use super::diag::{Diagnostic, Pos};
use super::parse::yaml_options;
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
/// (`--set`, a task's values and secret values) applied. Returns the document and the warnings
/// (a key's type changed, say). Local and daemon runs both merge through this.
pub fn merge(files: &[(String, String)], sets: &[String]) -> Result<(Value, Vec<String>), ValuesError> {
    let mut merged = Value::Object(Map::new());
    let mut warnings = Vec::new();
    for (name, text) in files {
        let v = parse_values_file(name, text).map_err(ValuesError::File)?;
        deep_merge(&mut merged, &v, "", &mut warnings);
    }
    let sets = sets.iter().map(|s| parse_set(s)).collect::<Result<Vec<_>, _>>().map_err(ValuesError::Set)?;
    apply_sets(&mut merged, &sets, &mut warnings);
    Ok((merged, warnings))
}

/// Parses a values file (a YAML mapping) into a JSON value. An empty file is an empty mapping.
pub fn parse_values_file(file: &str, text: &str) -> Result<Value, Diagnostic> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    // serde-saphyr replays aliases into the value without a budget on the bytes it copies, so
    // the span tree's budgets (nodes and bytes, counting every alias) are checked first; its
    // syntax errors are left for serde-saphyr to report as before.
    if let Err(e) = super::yaml::parse(text, &super::yaml::Limits::default())
        && e.limit
    {
        let mut d = Diagnostic::error("limit", format!("invalid values file: {}", e.message))
            .at(e.pos)
            .help("values files are untrusted input: nesting and alias expansion are capped; simplify the file");
        d.file = file.to_string();
        return Err(d);
    }
    let value: Value = serde_saphyr::from_str_with_options(text, yaml_options()).map_err(|e| {
        let (msg, pos) = super::parse::saphyr_message(&e);
        let mut d = Diagnostic::error("values-syntax", format!("invalid values file: {msg}"))
            .at_opt(pos)
            .help("a values file is a YAML mapping of names to values");
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

/// One `--set` override: `path` is dot-separated, `value` `None` deletes the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetOverride {
    /// Key path, split on `.`.
    pub path: Vec<String>,
    /// New string value, or `None` to delete (`--set key=null`).
    pub value: Option<String>,
}

/// Parses `key=value` (`key.sub=value` for nested keys; `key=null` deletes the key).
pub fn parse_set(arg: &str) -> Result<SetOverride, String> {
    let (key, value) =
        arg.split_once('=').ok_or_else(|| format!("`--set {arg}` has no `=`; write --set name=value"))?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(format!("`--set {arg}` has an empty key; write --set name=value or --set a.b=value"));
    }
    Ok(SetOverride {
        path: key.split('.').map(str::to_string).collect(),
        value: (value != "null").then(|| value.to_string()),
    })
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
            (_, Value::Null) => {
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

/// Applies `--set` overrides in order.
pub fn apply_sets(values: &mut Value, sets: &[SetOverride], warnings: &mut Vec<String>) {
    for s in sets {
        let mut overlay = match &s.value {
            Some(v) => Value::String(v.clone()),
            None => Value::Null,
        };
        for key in s.path.iter().rev() {
            let mut m = Map::new();
            m.insert(key.clone(), overlay);
            overlay = Value::Object(m);
        }
        deep_merge(values, &overlay, "", warnings);
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
        assert_eq!(merged, serde_json::json!({"env": "prod", "image": {"tag": "v2", "name": "app"}}));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(matches!(merge(&files, &["=x".to_string()]), Err(ValuesError::Set(_))));
        let bad = vec![("c.yaml".to_string(), "- a list\n".to_string())];
        assert!(matches!(merge(&bad, &[]), Err(ValuesError::File(_))));
    }

    #[test]
    fn set_merges_deeply_and_null_deletes() {
        let mut v = json!({"image": {"repo": "a", "tag": "1"}, "keep": true, "drop": 1});
        let sets = ["image.tag=2", "drop=null", "new=x"].map(|s| parse_set(s).unwrap());
        let mut w = vec![];
        apply_sets(&mut v, &sets, &mut w);
        assert_eq!(v, json!({"image": {"repo": "a", "tag": "2"}, "keep": true, "new": "x"}));
        assert!(w.is_empty());
    }

    #[test]
    fn scalar_over_mapping_is_skipped_with_a_warning() {
        let mut v = json!({"image": {"repo": "a"}});
        let mut w = vec![];
        apply_sets(&mut v, &[parse_set("image=x").unwrap()], &mut w);
        assert_eq!(v, json!({"image": {"repo": "a"}}));
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn bad_set_arguments_say_what_to_write() {
        assert!(parse_set("novalue").unwrap_err().contains("name=value"));
        assert!(parse_set("a..b=1").unwrap_err().contains("empty key"));
    }

    #[test]
    fn values_file_must_be_a_mapping() {
        assert!(parse_values_file("v.yaml", "- a\n- b\n").is_err());
        assert_eq!(parse_values_file("v.yaml", "").unwrap(), json!({}));
        assert_eq!(parse_values_file("v.yaml", "a: 1\nb: [x]\n").unwrap(), json!({"a": 1, "b": ["x"]}));
    }
}
