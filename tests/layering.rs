//! The direction of the house, checked: every top-level module of `src/` sits in one layer, and a
//! module may only name (`crate::…`) modules of the layers below its own. A cycle between
//! top-level modules is therefore impossible, and a new module must be given a layer here
//! before it can be used. ARCHITECTURE.md draws the same table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top to bottom. Modules in one layer do not name each other.
const LAYERS: &[(&str, &[&str])] = &[
    ("people", &["cli"]),
    ("composition root", &["node"]),
    ("HTTP", &["server"]),
    ("triggers", &["triggers"]),
    ("services", &["daemon", "transfer"]),
    ("execution and persistence", &["engine", "store"]),
    ("wire types and outside systems", &["api", "docker", "registry", "context"]),
    ("domain", &["taskfile", "dockerfile", "repository", "run", "secrets"]),
    (
        "leaves",
        &["buildargs", "reference", "dockerignore", "glob", "schedule", "clock", "runid", "tls", "datadir", "metrics"],
    ),
    ("leaves of leaves", &["shellwords", "version"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its line comments (doc comments mention paths that are not uses);
/// a `//` inside a string literal (`"http://…"`) is not a comment.
fn code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let (mut in_string, mut escaped, mut prev) = (false, false, ' ');
        for c in line.chars() {
            if !in_string && prev == '/' && c == '/' {
                out.pop();
                break;
            }
            if c == '"' && !escaped {
                in_string = !in_string;
            }
            escaped = in_string && c == '\\' && !escaped;
            out.push(c);
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// The top-level modules a piece of code names: `crate::x::…` and `crate::{x, y::z}`.
fn named_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        // `drydock::crate::` cannot occur, but `mycrate::` can: only a whole word counts.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // The first segment of each item at the group's own depth: `{api::{A, B}, store}`.
            let (mut depth, mut item_start) = (0, true);
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        item_start = false;
                        out.insert(ident(&group[i..]));
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out
}

/// Which top-level modules each top-level module names, with one file per edge for the message.
fn module_graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel.components().next().unwrap().as_os_str().to_string_lossy().to_string();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "main" || module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let edges = graph.entry(module.clone()).or_default();
        for named in named_modules(&code(&text)) {
            if named != module && !named.is_empty() {
                edges.entry(named).or_insert_with(|| rel.display().to_string());
            }
        }
    }
    graph
}

#[test]
fn every_module_names_only_the_layers_below_it() {
    let graph = module_graph();
    let mut problems = Vec::new();
    for (module, edges) in &graph {
        let Some(from) = layer_of(module) else {
            problems.push(format!("src/{module} has no layer: add it to LAYERS in tests/layering.rs"));
            continue;
        };
        for (named, file) in edges {
            // `crate::` followed by something that is not a module (a macro path, say) is no edge.
            if !graph.contains_key(named) {
                continue;
            }
            match layer_of(named) {
                Some(to) if to > from => {}
                Some(to) => problems.push(format!(
                    "src/{file}: `{module}` ({}) names `{named}` ({}), which is not below it",
                    LAYERS[from].0, LAYERS[to].0
                )),
                None => {} // reported as a module without a layer
            }
        }
    }
    assert!(problems.is_empty(), "the layers are crossed upwards or sideways:\n{}", problems.join("\n"));
}

#[test]
fn the_module_graph_has_no_cycle() {
    // Checked on its own as well, so that a cycle is named as such even if LAYERS is edited to
    // let one through.
    let graph = module_graph();
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeMap<String, String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            return Some(path[at..].iter().cloned().chain([node.to_string()]).collect());
        }
        if !done.insert(node.to_string()) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flat_map(|e| e.keys()) {
            if graph.contains_key(next)
                && let Some(cycle) = visit(next, graph, path, done)
            {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        if let Some(cycle) = visit(module, &graph, &mut Vec::new(), &mut done) {
            panic!("top-level modules form a cycle: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn comments_are_dropped_but_urls_in_strings_stay() {
    let c = code("let u = \"http://x\"; crate::api::f(); // crate::store\n/// crate::daemon\n");
    assert_eq!(named_modules(&c), BTreeSet::from(["api".to_string()]));
}

#[test]
fn the_path_reader_sees_groups_and_paths() {
    let found =
        named_modules("use crate::{api::{Run, Task}, store};\nlet x = crate::daemon::Service::new();\nmycrate::no");
    assert_eq!(found, BTreeSet::from(["api".to_string(), "daemon".to_string(), "store".to_string()]));
}
