//! Benchmark: render, validate and plan a generated 10,000-step task file.
//! Target (issue 2): under 100 ms and under 50 MB RSS. Run: `cargo bench --bench taskfile`.

use drydock::taskfile::{self, LoadOptions, LoadRequest, RunVars, alias::NoAliasSources};
use std::collections::BTreeMap;
use std::time::Instant;

/// A v1.1.0 file with aliases, templates, all three step kinds and a mix of `when` forms.
fn generate(steps: usize) -> String {
    let mut s = String::from("version: v1.1.0\nstepTimeout: 900\nenv:\n  - CI=true\nsteps:\n");
    for i in 0..steps {
        match i % 4 {
            0 => s.push_str(&format!(
                "  - id: build-{i}\n    build: -t $Registry/app{i}:{{{{.Run.ID}}}} --build-arg V={{{{.Values.version | default \"1\"}}}} -f Dockerfile .\n    when: [\"-\"]\n"
            )),
            1 => s.push_str(&format!(
                "  - id: test-{i}\n    cmd: $Registry/app{}:$ID sh -c 'echo {{{{.Run.Commit | upper}}}}'\n    env: [\"N={i}\"]\n    retries: 2\n    when: [build-{}]\n",
                i - 1,
                i - 1
            )),
            2 => s.push_str(&format!("  - id: push-{i}\n    push: [\"$Registry/app{}:$ID\"]\n", i - 2)),
            _ => s.push_str(&format!("  - id: note-{i}\n    cmd: busybox echo {i}\n    ignoreErrors: true\n")),
        }
    }
    s
}

#[path = "../tests/helper/memory.rs"]
mod memory;

use memory::vm_hwm_kb;

fn main() {
    let source = generate(10_000);
    let run =
        RunVars { id: "cf1".into(), registry: "myreg.azurecr.io".into(), commit: "abc".into(), ..Default::default() };
    let before = vm_hwm_kb();
    let request = || LoadRequest {
        file_name: "bench.yaml",
        source: &source,
        values: serde_json::json!({}),
        secrets: BTreeMap::new(),
        run: run.clone(),
        now: chrono::Utc::now(),
        alias_loader: &NoAliasSources,
        options: LoadOptions::default(),
    };
    let mut times = Vec::new();
    for _ in 0..7 {
        let req = request();
        let t = Instant::now();
        let loaded = taskfile::load(&req).expect("generated file is valid");
        times.push(t.elapsed());
        assert_eq!(loaded.task.steps.len(), 10_000);
        std::hint::black_box(loaded.plan.waves());
    }
    times.sort();
    // Stage breakdown: render alone, then one YAML parse of the rendered text.
    let req = request();
    let t = Instant::now();
    let rendered = taskfile::render(&req).expect("renders");
    let render_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let (_spec, _tree) = taskfile::parse::parse_task_yaml(&rendered.text, &rendered.map).expect("parses");
    let parse_ms = t.elapsed().as_secs_f64() * 1000.0;
    println!("taskfile: stages: render {render_ms:.1} ms, YAML parse + typing {parse_ms:.1} ms");
    println!(
        "taskfile: 10,000 steps ({} KB): render+validate+plan min {:.1} ms, median {:.1} ms; peak RSS {} MB (before {} MB)",
        source.len() / 1024,
        times[0].as_secs_f64() * 1000.0,
        times[times.len() / 2].as_secs_f64() * 1000.0,
        vm_hwm_kb() / 1024,
        before / 1024
    );
}
