//! The whole task-file pipeline (`drydock::taskfile::load`): aliases, two template passes,
//! YAML, validation, planning. Task files are untrusted: any input may be refused, none may
//! panic, hang or exhaust memory.
//!
//! Input: the task file; if it contains a NUL byte, the text after the first NUL is a values
//! file (YAML) and becomes `.Values`.
#![no_main]

use std::collections::BTreeMap;

use drydock::taskfile::{self, LoadOptions, LoadRequest, RunVars, alias::AliasSourceLoader};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

/// Answers every alias `src` with a small alias map (some names fail, to cover that path).
struct FixedAliases;

impl AliasSourceLoader for FixedAliases {
    fn load(&self, src: &str) -> Result<String, String> {
        if src.contains("missing") {
            return Err(format!("alias source `{src}` not found"));
        }
        Ok("docker: mcr.microsoft.com/acr/docker:latest\nsingleAlias: echo single\nlong: $docker run x\n".into())
    }
}

fuzz_target!(|data: &[u8]| {
    let (task, values) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let Ok(source) = std::str::from_utf8(task) else { return };
    let values = values
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| taskfile::values::parse_values_file("values.yaml", v).ok())
        .unwrap_or_else(|| json!({"REGISTRY": "myreg.azurecr.io", "image": {"tag": "1.0", "list": ["a", "b"]}}));
    let secrets: BTreeMap<String, String> =
        [("test", "t0ps3cret"), ("mysecret", "s"), ("password", "p")].map(|(k, v)| (k.into(), v.into())).into();
    let req = LoadRequest {
        file_name: "acb.yaml",
        source,
        values,
        secrets,
        run: RunVars {
            id: "cf1".into(),
            registry: "myreg.azurecr.io".into(),
            os: "linux".into(),
            architecture: "amd64".into(),
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            branch: "main".into(),
            ..RunVars::default()
        },
        now: chrono::DateTime::UNIX_EPOCH,
        alias_loader: &FixedAliases,
        options: LoadOptions::default(),
    };
    match taskfile::load(&req) {
        Ok(loaded) => {
            // What `drydock plan` does with a loaded task: every rendering of the plan.
            let plan = &loaded.plan;
            let _ = plan.waves();
            let _ = (plan.to_json(), plan.to_text(), plan.to_dot(), plan.to_mermaid());
            let _ = loaded.warnings.to_string();
        }
        Err(diags) => {
            let _ = diags.to_string();
        }
    }
});
