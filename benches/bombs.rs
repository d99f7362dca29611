//! Benchmark: memory bombs (one 100 KB string aliased 2^12–2^19 times, ~100–400 KB on disk, up to
//! 52 GB expanded) refused by the task-file and values budgets. Target (issue 13): a clear error
//! within 5 s and a peak under 256 MB. Run: `cargo bench --bench bombs` (in a process of its own,
//! so the peak is the bombs' alone).

use drydock::taskfile::{self, LoadOptions, LoadRequest, RunVars, alias::NoAliasSources, values};
use std::collections::BTreeMap;
use std::time::Instant;

#[path = "../tests/helper/memory.rs"]
mod memory;

use memory::vm_hwm_kb;

#[path = "../tests/helper/bombs.rs"]
mod bombs;

use bombs::{doubling, flat};

fn main() {
    let before = vm_hwm_kb();
    let mut slowest = 0.0f64;
    for exp in [12, 14, 16, 19] {
        for (kind, source) in [("flat", flat(1 << exp)), ("doubling", doubling(exp))] {
            let req = LoadRequest {
                file_name: "bomb.yaml",
                source: &source,
                values: serde_json::json!({}),
                secrets: BTreeMap::new(),
                run: RunVars { id: "cf1".into(), ..Default::default() },
                now: chrono::Utc::now(),
                alias_loader: &NoAliasSources,
                options: LoadOptions::default(),
            };
            let t = Instant::now();
            let err = taskfile::load(&req).expect_err("a bomb is refused");
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            slowest = slowest.max(ms);
            let first = err.errors().next().map(|d| d.message.clone()).unwrap_or_default();
            println!("bombs: task file {kind} 2^{exp} ({} KB): refused in {ms:.1} ms: {first}", source.len() / 1024);
        }
        let text = bombs::values(1 << exp);
        let t = Instant::now();
        let err = values::parse_values_file("values.yaml", &text).expect_err("a bomb is refused");
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        slowest = slowest.max(ms);
        println!("bombs: values file 2^{exp} ({} KB): refused in {ms:.1} ms: {}", text.len() / 1024, err.message);
    }
    println!(
        "bombs: slowest refusal {slowest:.1} ms; peak RSS {} MB (before {} MB)",
        vm_hwm_kb() / 1024,
        before / 1024
    );
}
