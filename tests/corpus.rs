//! Every task file of the ACR corpus (../shared/acr-corpus) that ACR accepts validates and plans
//! with ACR's DAG semantics; the files ACR rejects, and the files that are not task files, are
//! listed with the reason. A file in the folder that this test does not classify fails the test.

use crate::helper::repo_root;
use drydock::taskfile::{self, LoadOptions, LoadRequest, RunVars, alias::NoAliasSources};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// How a corpus file is expected to fare.
enum Expect {
    /// ACR accepts it; so does drydock, with ACR's DAG.
    Accepted,
    /// ACR's current runner rejects it; drydock accepts it leniently with this warning code.
    AcrRejectsDrydockWarns(&'static str, &'static str),
    /// ACR accepts it, drydock rejects it by default (the reason); with the given option it passes.
    Divergence(&'static str),
    /// Not a task file (values file, alias source, test fixture), with what it is.
    NotATaskFile(&'static str),
}

struct Case {
    file: &'static str,
    values: &'static str,
    secrets: &'static [(&'static str, &'static str)],
    expect: Expect,
}

const fn ok(file: &'static str) -> Case {
    Case { file, values: "", secrets: &[], expect: Expect::Accepted }
}

const fn not_task(file: &'static str, what: &'static str) -> Case {
    Case { file, values: "", secrets: &[], expect: Expect::NotATaskFile(what) }
}

fn cases() -> Vec<Case> {
    vec![
        ok("Azure-Samples_acr-tasks_bash-echo-3.yaml"),
        ok("Azure-Samples_acr-tasks_bash-echo.yaml"),
        ok("Azure-Samples_acr-tasks_build-aspnetapp_WeatherService_acb.yaml"),
        ok("Azure-Samples_acr-tasks_build-hello-world.yaml"),
        ok("Azure-Samples_acr-tasks_build-push-hello-world-multi.yaml"),
        ok("Azure-Samples_acr-tasks_build-push-hello-world.yaml"),
        ok("Azure-Samples_acr-tasks_build-run-hello-world.yaml"),
        ok("Azure-Samples_acr-tasks_build-test-hello-world.yaml"),
        ok("Azure-Samples_acr-tasks_build-test-update-hello-world.yaml"),
        ok("Azure-Samples_acr-tasks_buildx.yml"),
        ok("Azure-Samples_acr-tasks_files-working-directory.yaml"),
        ok("Azure-Samples_acr-tasks_hello-world.yaml"),
        Case {
            file: "Azure-Samples_acr-tasks_managed-identities.yaml",
            values: "KeyVault: myvault\nregistryName: myreg\n",
            secrets: &[("name", "s3cret")],
            expect: Expect::Accepted,
        },
        Case {
            file: "Azure-Samples_acr-tasks_mounts-multistep.yaml",
            values: "secret1: one\nsecret2: two\n",
            secrets: &[],
            expect: Expect::Accepted,
        },
        Case {
            file: "Azure-Samples_acr-tasks_mounts-secrets.yaml",
            values: "mysecret: value\n",
            secrets: &[("sampleSecret", "kv-value")],
            expect: Expect::Accepted,
        },
        Case {
            file: "Azure-Samples_acr-tasks_multipleRegistries_testtask.yaml",
            values: "REGISTRY1: dev.azurecr.io\nREGISTRY2: prod.azurecr.io\n",
            secrets: &[],
            expect: Expect::Accepted,
        },
        ok("Azure-Samples_acr-tasks_network-curl.yaml"),
        ok("Azure-Samples_acr-tasks_simpletask.yaml"),
        ok("Azure-Samples_acr-tasks_when-parallel-dependent.yaml"),
        ok("Azure-Samples_acr-tasks_when-parallel.yaml"),
        ok("Azure-Samples_acr-tasks_when-sequential-default.yaml"),
        ok("Azure-Samples_acr-tasks_when-sequential-id.yaml"),
        Case {
            file: "AzureCR_acr-task-multiarch_acr-task-composed.yaml",
            values: "",
            secrets: &[],
            expect: Expect::AcrRejectsDrydockWarns(
                "version `1.0.0-preview` is rejected by ACR's current runner (\"invalid version specified\")",
                "deprecated-version",
            ),
        },
        Case {
            file: "AzureCR_acr-task-multiarch_acr-task.yaml",
            values: "",
            secrets: &[],
            expect: Expect::AcrRejectsDrydockWarns(
                "version `1.0.0-preview` is rejected by ACR's current runner (\"invalid version specified\")",
                "deprecated-version",
            ),
        },
        ok("Azure_acr-builder_acb.windows.yaml"),
        ok("Azure_acr-builder_acb.yaml"),
        ok("Azure_acr-builder_graph_testdata_acb.yaml"),
        ok("Azure_acr-builder_graph_testdata_buildx.yaml"),
        not_task("Azure_acr-builder_graph_testdata_preprocessor_alphanumeric-external.yaml", "alias source file"),
        not_task("Azure_acr-builder_graph_testdata_preprocessor_empty-external.yaml", "empty alias source file"),
        not_task("Azure_acr-builder_graph_testdata_preprocessor_invalid-external.yaml", "malformed alias source file"),
        not_task("Azure_acr-builder_graph_testdata_preprocessor_invalid-remote.yaml", "malformed alias source file"),
        not_task(
            "Azure_acr-builder_graph_testdata_preprocessor_preprocessing-stress.yaml",
            "map of preprocessor test cases",
        ),
        Case {
            file: "Azure_acr-builder_graph_testdata_preprocessor_valid-alias.yaml",
            values: "",
            secrets: &[],
            expect: Expect::Divergence(
                "top-level key `test: 600` is not a task property; ACR ignores unknown keys silently, drydock reports them \
                 (--allow-unknown-properties restores ACR's behaviour)",
            ),
        },
        not_task("Azure_acr-builder_graph_testdata_preprocessor_valid-external.yaml", "alias source file"),
        not_task("Azure_acr-builder_graph_testdata_preprocessor_valid-remote.yaml", "alias source file"),
        Case {
            file: "Azure_acr-builder_templating_testdata_caching_cache.yaml",
            values: "pullStep: puller\n",
            secrets: &[],
            expect: Expect::Accepted,
        },
        not_task("Azure_acr-builder_templating_testdata_caching_empty.yaml", "empty template fixture"),
        not_task("Azure_acr-builder_templating_testdata_caching_values.yaml", "values file"),
        not_task("Azure_acr-builder_templating_testdata_curie_curie.yaml", "values fixture"),
        not_task("Azure_acr-builder_templating_testdata_curie_values.yaml", "values fixture"),
        not_task("Azure_acr-builder_templating_testdata_fruits.yaml", "values fixture"),
        ok("Azure_acr-builder_templating_testdata_helloworld_context-build.yaml"),
        ok("Azure_acr-builder_templating_testdata_helloworld_git-build.yaml"),
        ok("Azure_acr-builder_templating_testdata_helloworld_manifest.yaml"),
        ok("Azure_acr-builder_templating_testdata_helloworld_tar-build.yaml"),
        not_task("Azure_acr-builder_templating_testdata_helloworld_values.yaml", "values file"),
        Case {
            file: "Azure_acr-builder_templating_testdata_mounts_mounts_multistep.yaml",
            values: "secret: s\n",
            secrets: &[],
            expect: Expect::Accepted,
        },
        Case {
            file: "Azure_acr-builder_templating_testdata_mounts_mounts_secrets.yaml",
            values: "mysecret: v\n",
            secrets: &[("sampleSecret", "kv")],
            expect: Expect::Accepted,
        },
        not_task("Azure_acr-builder_templating_testdata_thames_thames.yaml", "template rendering fixture (no steps)"),
        not_task("Azure_acr-builder_templating_testdata_thames_values.yaml", "values fixture"),
        ok("Azure_acr-task-commands_az_acb.yaml"),
        ok("Azure_acr-task-commands_cssc_acb.yaml"),
        Case {
            file: "sajayantony_task-sample-with-values_acb.yaml",
            values: "REGISTRY: myreg.azurecr.io\nTEST: x\n",
            secrets: &[],
            expect: Expect::Accepted,
        },
        Case {
            file: "sajayantony_task-secrets_acb.yaml",
            values: "REGISTRY: myreg.azurecr.io\n",
            secrets: &[("test", "t")],
            expect: Expect::Accepted,
        },
    ]
}

fn corpus_dir() -> Option<std::path::PathBuf> {
    let dir = repo_root().join("../shared/acr-corpus");
    dir.is_dir().then_some(dir)
}

fn load(dir: &Path, case: &Case, allow_unknown: bool) -> Result<taskfile::Loaded, taskfile::Diagnostics> {
    let source = std::fs::read_to_string(dir.join(case.file)).unwrap();
    let values = if case.values.is_empty() {
        Value::Object(Default::default())
    } else {
        taskfile::values::parse_values_file("values", case.values).unwrap()
    };
    let secrets: BTreeMap<String, String> = case.secrets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let req = LoadRequest {
        file_name: case.file,
        source: &source,
        values,
        secrets,
        run: RunVars { id: "cf1".into(), registry: "myreg.azurecr.io".into(), ..RunVars::default() },
        now: chrono::DateTime::UNIX_EPOCH,
        alias_loader: &NoAliasSources,
        options: LoadOptions { allow_unknown_properties: allow_unknown, ..LoadOptions::default() },
    };
    taskfile::load(&req)
}

/// ACR's DAG rule, computed independently from the rendered YAML: no `when` → the previous step;
/// `["-"]` → nothing; ids → those steps.
fn acr_dependencies(rendered: &str) -> Vec<(String, Vec<String>)> {
    let v: Value = serde_saphyr::from_str(rendered).unwrap();
    let steps = v["steps"].as_array().cloned().unwrap_or_default();
    let ids: Vec<String> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| s["id"].as_str().map(str::to_string).unwrap_or_else(|| format!("acb_step_{i}")))
        .collect();
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let when: Vec<String> = s["when"]
                .as_array()
                .map(|w| w.iter().map(|x| x.as_str().unwrap_or_default().to_string()).collect())
                .unwrap_or_default();
            let deps = if when.is_empty() {
                i.checked_sub(1).map(|p| vec![ids[p].clone()]).unwrap_or_default()
            } else if when == ["-"] {
                vec![]
            } else {
                when
            };
            (ids[i].clone(), deps)
        })
        .collect()
}

#[test]
fn acr_corpus_validates_and_plans_with_acr_semantics() {
    let Some(dir) = corpus_dir() else {
        eprintln!("../shared/acr-corpus not found; corpus test skipped");
        return;
    };
    let cases = cases();
    let mut unclassified = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let is_yaml = name.ends_with(".yaml") || name.ends_with(".yml");
        if is_yaml && !cases.iter().any(|c| c.file == name) {
            unclassified.push(name);
        }
    }
    assert!(unclassified.is_empty(), "corpus files without an expectation: {unclassified:?}");

    let mut accepted = 0;
    for case in &cases {
        match &case.expect {
            Expect::Accepted => {
                let loaded = load(&dir, case, false).unwrap_or_else(|d| panic!("{} should validate:\n{d}", case.file));
                let plan: Vec<(String, Vec<String>)> =
                    loaded.plan.steps().iter().map(|s| (s.id.clone(), s.depends_on.clone())).collect();
                assert_eq!(plan, acr_dependencies(&loaded.rendered), "{}: DAG differs from ACR's rule", case.file);
                accepted += 1;
            }
            Expect::AcrRejectsDrydockWarns(_why, code) => {
                let loaded = load(&dir, case, false).unwrap_or_else(|d| panic!("{}:\n{d}", case.file));
                assert!(
                    loaded.warnings.0.iter().any(|w| w.code == *code),
                    "{}: expected a `{code}` warning",
                    case.file
                );
            }
            Expect::Divergence(_why) => {
                assert!(load(&dir, case, false).is_err(), "{} should be rejected by default", case.file);
                load(&dir, case, true)
                    .unwrap_or_else(|d| panic!("{} with unknown properties allowed:\n{d}", case.file));
            }
            Expect::NotATaskFile(_what) => {}
        }
    }
    assert!(accepted >= 30, "only {accepted} files accepted");
}

/// The DAG fixtures, spelled out by hand from ACR's documentation of them.
#[test]
fn acr_dag_fixtures_match_their_documented_graphs() {
    let Some(dir) = corpus_dir() else { return };
    let deps = |file: &'static str| -> Vec<(String, Vec<String>)> {
        let loaded = load(&dir, &ok(file), false).unwrap();
        loaded.plan.steps().iter().map(|s| (s.id.clone(), s.depends_on.clone())).collect()
    };
    let owned = |v: &[(&str, &[&str])]| -> Vec<(String, Vec<String>)> {
        v.iter().map(|(id, d)| (id.to_string(), d.iter().map(|x| x.to_string()).collect())).collect()
    };
    // Its header: root -> puller; root -> C -> B; root -> build-qux -> build-foo -> build-qaz; root -> build-bar.
    assert_eq!(
        deps("Azure_acr-builder_graph_testdata_acb.yaml"),
        owned(&[
            ("puller", &[]),
            ("build-qux", &[]),
            ("C", &[]),
            ("build-bar", &[]),
            ("B", &["C"]),
            ("build-foo", &["build-qux"]),
            ("build-qaz", &["build-foo"]),
        ])
    );
    // The trap: the step after two parallel builds waits only for the second.
    assert_eq!(
        deps("Azure-Samples_acr-tasks_build-test-update-hello-world.yaml")[2],
        ("hello-world".to_string(), vec!["acb_step_1".to_string()])
    );
    assert_eq!(
        deps("Azure-Samples_acr-tasks_when-parallel-dependent.yaml"),
        owned(&[
            ("build-hello-world", &[]),
            ("build-hello-world-test", &[]),
            ("hello-world", &["build-hello-world"]),
            ("func-tests", &["hello-world"]),
            ("acb_step_4", &["func-tests"]),
        ])
    );
}
