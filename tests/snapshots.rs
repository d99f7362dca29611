//! Golden snapshots of `render` and `plan` outputs, with fixed run variables and clock.

use crate::helper::repo_root;
use drydock::taskfile::{self, LoadOptions, LoadRequest, RunVars, alias::NoAliasSources, values};
use std::collections::BTreeMap;

fn run_vars() -> RunVars {
    RunVars {
        id: "cf12".into(),
        shared_volume: "drydock_ws_cf12".into(),
        registry: "myreg.azurecr.io".into(),
        date: Some(chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap()),
        os: "linux".into(),
        architecture: "amd64".into(),
        commit: "68cdf2a".into(),
        branch: "main".into(),
        ..RunVars::default()
    }
}

fn load(path: &str, values_text: &str, sets: &[&str]) -> taskfile::Loaded {
    let source = std::fs::read_to_string(repo_root().join(path)).unwrap();
    let files = if values_text.is_empty() { vec![] } else { vec![("values".to_string(), values_text.to_string())] };
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let (v, _) = values::merge(&files, &sets).unwrap();
    let req = LoadRequest {
        file_name: path,
        source: &source,
        values: v,
        secrets: BTreeMap::new(),
        run: run_vars(),
        now: chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
        alias_loader: &NoAliasSources,
        options: LoadOptions::default(),
    };
    taskfile::load(&req).unwrap_or_else(|d| panic!("{path}:\n{d}"))
}

fn corpus(file: &str) -> Option<String> {
    let p = format!("../shared/acr-corpus/{file}");
    repo_root().join(&p).exists().then_some(p)
}

#[test]
fn render_example_2_with_custom_directive_and_sprig() {
    let values = std::fs::read_to_string(repo_root().join("tests/data/ex2-values.yaml")).unwrap();
    let loaded = load("tests/data/ex2.yaml", &values, &["channel=beta"]);
    insta::assert_snapshot!("render_ex2", loaded.rendered);
    insta::assert_snapshot!("plan_ex2_text", loaded.plan.to_text());
}

#[test]
fn render_and_plan_the_hello_example() {
    let loaded = load("examples/hello/acb.yaml", "", &[]);
    insta::assert_snapshot!("render_hello", loaded.rendered);
    insta::assert_snapshot!("plan_hello_json", loaded.plan.to_json());
}

#[test]
fn plan_forms_of_the_acr_dag_fixture() {
    let Some(path) = corpus("Azure_acr-builder_graph_testdata_acb.yaml") else { return };
    let loaded = load(&path, "", &[]);
    insta::assert_snapshot!("plan_dag_text", loaded.plan.to_text());
    insta::assert_snapshot!("plan_dag_json", loaded.plan.to_json());
    insta::assert_snapshot!("plan_dag_dot", loaded.plan.to_dot());
    insta::assert_snapshot!("plan_dag_mermaid", loaded.plan.to_mermaid());
}

#[test]
fn render_acr_samples_with_aliases_and_values() {
    if let Some(path) = corpus("Azure-Samples_acr-tasks_build-test-update-hello-world.yaml") {
        insta::assert_snapshot!("render_build_test_update", load(&path, "", &[]).rendered);
    }
    if let Some(path) = corpus("sajayantony_task-sample-with-values_acb.yaml") {
        insta::assert_snapshot!("render_sample_with_values", load(&path, "REGISTRY: r.io\nTEST: t\n", &[]).rendered);
    }
}
