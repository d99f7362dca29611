//! The checked-in JSON Schema must match the Rust types.

use crate::helper::repo_root;

#[test]
fn checked_in_schema_matches_the_types() {
    let path = repo_root().join("task-schemas/acb.schema.json");
    let generated = drydock::taskfile::model::json_schema_text() + "\n";
    if std::env::var_os("DRYDOCK_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "task-schemas/acb.schema.json is out of date; regenerate it with `DRYDOCK_UPDATE_SCHEMA=1 cargo test --test tests schema`"
    );
}

#[test]
fn every_property_has_a_description() {
    let schema = drydock::taskfile::model::json_schema();
    let mut missing = Vec::new();
    fn walk(v: &serde_json::Value, path: &str, missing: &mut Vec<String>) {
        if let Some(props) = v.get("properties").and_then(|p| p.as_object()) {
            for (k, p) in props {
                if p.get("description").is_none() {
                    missing.push(format!("{path}.{k}"));
                }
            }
        }
        if let Some(defs) = v.get("$defs").and_then(|d| d.as_object()) {
            for (name, d) in defs {
                walk(d, name, missing);
            }
        }
    }
    walk(&schema, "TaskFileSpec", &mut missing);
    assert!(missing.is_empty(), "properties without a description: {missing:?}");
}
