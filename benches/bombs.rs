//! Benchmark: memory bombs (one 100 KB string aliased 2^12–2^19 times, ~100–400 KB on disk, up to
//! 52 GB expanded) refused by the task-file and values budgets. Target (issue 13): a clear error
//! within 5 s and a peak under 256 MB. Run: `cargo bench --bench bombs` (in a process of its own,
//! so the peak is the bombs' alone).

use drydock::taskfile::{self, LoadOptions, LoadRequest, RunVars, alias::NoAliasSources, values};
use std::collections::BTreeMap;
use std::time::Instant;

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn flat(copies: usize) -> String {
    let big = "x".repeat(100_000);
    format!(
        "version: v1.1.0\nbig: &big \"{big}\"\nlist: [{}]\nsteps:\n  - cmd: busybox true\n",
        vec!["*big"; copies].join(", ")
    )
}

fn doubling(levels: usize) -> String {
    let mut text = format!("version: v1.1.0\na0: &a0 \"{}\"\n", "x".repeat(100_000));
    for i in 1..=levels {
        text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}]\n", p = i - 1));
    }
    text + "steps:\n  - cmd: busybox true\n"
}

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
        let text = format!("big: &big \"{}\"\nlist: [{}]\n", "x".repeat(100_000), vec!["*big"; 1 << exp].join(", "));
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
