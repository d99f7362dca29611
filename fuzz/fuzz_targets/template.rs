//! The Go-template engine alone (`drydock::taskfile::template::render`) with default limits.
//!
//! Input: the template source; if it contains a NUL byte, the text after the first NUL is
//! JSON data for the template (otherwise a fixed context shaped like a task file's).
#![no_main]

use std::sync::LazyLock;

use drydock::taskfile::template::{self, Options};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

static DATA: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "Values": {
            "REGISTRY": "myreg.azurecr.io",
            "tag": "1.0",
            "n": 3,
            "f": 2.5,
            "b": true,
            "nil": null,
            "list": ["a", "b", "c"],
            "nums": [3, 1, 2],
            "map": {"x": 1, "y": "two", "z": [1, 2]},
            "deep": {"a": {"b": {"c": "d"}}}
        },
        "Run": {
            "ID": "cf1", "Registry": "myreg.azurecr.io", "RegistryName": "myreg",
            "Date": "19700101-000000z", "OS": "linux", "Architecture": "amd64",
            "Commit": "0123456789abcdef", "Branch": "main", "SharedVolume": "vol"
        },
        "Secrets": {"test": "t0ps3cret"}
    })
});

fuzz_target!(|input: &[u8]| {
    let (src, data) = match input.iter().position(|&b| b == 0) {
        Some(i) => (&input[..i], Some(&input[i + 1..])),
        None => (input, None),
    };
    let Ok(source) = std::str::from_utf8(src) else { return };
    let own: Option<Value> = data.and_then(|d| serde_json::from_slice(d).ok());
    let data = own.as_ref().unwrap_or(&DATA);
    let opts = Options::default();
    match template::render("acb.yaml", source, data, &opts) {
        Ok(out) => {
            // Every output line has an origin inside the source.
            let lines = source.split('\n').count() as u32;
            for &o in &out.line_origins {
                assert!(o >= 1 && o <= lines.max(1), "line origin {o} outside the {lines}-line source");
            }
            assert!(out.text.len() <= opts.limits.max_output_bytes, "output over the limit");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
