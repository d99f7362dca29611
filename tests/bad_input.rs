//! Every kind of bad task file gets a located error (file:line:col in the original) with advice,
//! and hostile input hits a limit instead of hanging or crashing.

use drydock::taskfile::{self, Diagnostics, LoadOptions, LoadRequest, Pos, RunVars, alias::NoAliasSources};
use std::collections::BTreeMap;

fn load_with(source: &str, values: serde_json::Value, options: LoadOptions) -> Result<taskfile::Loaded, Diagnostics> {
    let req = LoadRequest {
        file_name: "acb.yaml",
        source,
        values,
        secrets: BTreeMap::new(),
        run: RunVars { id: "cf1".into(), registry: "r.io".into(), ..RunVars::default() },
        now: chrono::DateTime::UNIX_EPOCH,
        alias_loader: &NoAliasSources,
        options,
    };
    taskfile::load(&req)
}

fn errors(source: &str) -> Diagnostics {
    load_with(source, serde_json::json!({}), LoadOptions::default()).expect_err("should be rejected")
}

/// (what, file, code, line, col) — col 0 means "line only".
const CASES: &[(&str, &str, &str, u32, u32)] = &[
    ("yaml syntax", "steps:\n  - cmd: [a\n", "yaml-syntax", 2, 10),
    ("unknown property", "steps:\n  - cmd: a\n    wehn: [\"-\"]\n", "unknown-property", 3, 5),
    ("wrong type", "steps:\n  - cmd: a\n    timeout: soon\n", "wrong-type", 3, 14),
    ("duplicate id", "steps:\n  - id: a\n    cmd: x\n  - id: a\n    cmd: y\n", "duplicate-id", 4, 9),
    ("unknown when", "steps:\n  - id: a\n    cmd: x\n  - cmd: y\n    when: [b]\n", "invalid-when", 5, 12),
    ("forward when", "steps:\n  - cmd: x\n    when: [later]\n  - id: later\n    cmd: y\n", "invalid-when", 3, 12),
    ("self when", "steps:\n  - id: a\n    cmd: x\n    when: [a]\n", "invalid-when", 4, 12),
    ("dash with ids", "steps:\n  - id: a\n    cmd: x\n  - cmd: y\n    when: [\"-\", a]\n", "invalid-when", 5, 11),
    ("no kind", "steps:\n  - id: a\n    retries: 1\n", "step-kind", 2, 5),
    ("two kinds", "steps:\n  - cmd: a\n    build: -t x .\n", "step-kind", 2, 5),
    ("template error", "steps:\n  - cmd: {{ .Run.ID | nosuch }}\n", "template", 2, 23),
    ("invalid version", "version: v9\nsteps:\n  - cmd: a\n", "invalid-version", 1, 10),
    ("negative number", "steps:\n  - cmd: a\n    retryDelay: -5\n", "negative-number", 3, 17),
    (
        "invalid volume name",
        "volumes:\n  - name: bad name\n    secret:\n      f: YQ==\nsteps:\n  - cmd: a\n",
        "invalid-volume",
        2,
        11,
    ),
    (
        "volume not base64",
        "volumes:\n  - name: v\n    secret:\n      f: '***'\nsteps:\n  - cmd: a\n",
        "invalid-volume",
        4,
        10,
    ),
    (
        "unknown mount",
        "volumes:\n  - name: v\n    secret:\n      f: YQ==\nsteps:\n  - cmd: a\n    volumeMounts:\n      - name: w\n        mountPath: /x\n",
        "invalid-mount",
        8,
        15,
    ),
    (
        "relative mount path",
        "volumes:\n  - name: v\n    secret:\n      f: YQ==\nsteps:\n  - cmd: a\n    volumeMounts:\n      - name: v\n        mountPath: x\n",
        "invalid-mount",
        9,
        20,
    ),
    ("invalid cache", "steps:\n  - build: -t x .\n    cache: sometimes\n", "invalid-cache", 3, 12),
    ("bad build flag", "steps:\n  - build: --tagg x .\n", "invalid-build", 2, 12),
    ("bad env", "env: [NOEQUALS]\nsteps:\n  - cmd: a\n", "invalid-env", 1, 7),
    ("no steps", "version: v1.0.0\n", "no-steps", 1, 1),
    ("unterminated quote in cmd", "steps:\n  - cmd: \"busybox sh -c 'echo\"\n", "invalid-cmd", 2, 10),
];

#[test]
fn each_bad_input_is_located_and_explained() {
    if std::env::var_os("PRINT_BAD_INPUT").is_some() {
        for (what, source, _, _, _) in CASES {
            let d = errors(source);
            let f = d.errors().next().unwrap();
            eprintln!("{what}: {} {:?} | {}", f.code, f.pos, f.message);
        }
    }
    for (what, source, code, line, col) in CASES {
        let d = errors(source);
        let first = d.errors().next().unwrap_or_else(|| panic!("{what}: no error"));
        assert_eq!(first.code, *code, "{what}: {d}");
        assert_eq!(first.pos, Some(Pos::new(*line, *col)), "{what}: {d}");
        assert!(first.help.is_some(), "{what}: no advice in {d}");
        assert!(d.to_string().starts_with(&format!("acb.yaml:{line}:")), "{what}: {d}");
    }
}

#[test]
fn errors_point_at_the_original_line_through_templates_and_aliases() {
    // Lines 3-5 render to nothing and an alias expands to two lines: the error must still name
    // line 8 of the file the user wrote.
    let source = "version: v1.1.0\nalias:\n  values:\n    two: \"x\\n    cmd: y\"\n{{ if false }}\nskipped\n{{ end }}\nsteps:\n  - id: a\n    cmd: b\n    timeout: never\n";
    let d = errors(source);
    let first = d.errors().next().unwrap();
    assert_eq!(first.code, "wrong-type", "{d}");
    assert_eq!(first.pos.unwrap().line, 11, "{d}");
}

#[test]
fn undefined_alias_near_a_real_one_is_reported() {
    let loaded =
        load_with("version: v1.1.0\nsteps:\n  - cmd: $Regsitry/x\n", serde_json::json!({}), LoadOptions::default())
            .unwrap();
    let w = loaded.warnings.0.iter().find(|w| w.code == "undefined-alias").expect("warning");
    assert_eq!(w.pos, Some(Pos::new(3, 10)));
    assert!(w.help.as_deref().unwrap().contains("$Registry"));
}

#[test]
fn strict_reports_each_missing_key_with_its_location() {
    let source =
        "steps:\n  - cmd: busybox echo {{.Values.greeting}}\n  - cmd: busybox echo {{.Values.name | default \"x\"}}\n";
    let loose = load_with(source, serde_json::json!({}), LoadOptions::default()).unwrap();
    assert!(loose.warnings.0.iter().all(|w| w.code != "missing-key"));
    let strict =
        load_with(source, serde_json::json!({}), LoadOptions { strict: true, ..LoadOptions::default() }).unwrap();
    let missing: Vec<_> = strict.warnings.0.iter().filter(|w| w.code == "missing-key").collect();
    assert_eq!(missing.len(), 2, "{:?}", strict.warnings);
    assert_eq!(missing[0].pos.unwrap().line, 2);
    assert!(missing[0].message.contains(".Values.greeting"));
}

#[test]
fn hostile_input_hits_limits() {
    let huge = format!("steps:\n  - cmd: a\n# {}\n", "x".repeat(5 * 1024 * 1024));
    assert_eq!(errors(&huge).0[0].code, "limit");
    let recursion = "{{define \"a\"}}{{template \"a\"}}{{end}}{{template \"a\"}}\nsteps: []\n";
    assert_eq!(errors(recursion).0[0].code, "template");
    let lots = "{{range 100000000}}xxxxxxxxxxxxxxxxxxxx{{end}}\nsteps: []\n";
    assert_eq!(errors(lots).0[0].code, "template");
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        bomb.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
    }
    assert_eq!(errors(&bomb).0[0].code, "limit");
    let deep = format!("steps: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(errors(&deep).0[0].code, "limit");
}

#[test]
fn secrets_are_resolved_on_the_second_pass() {
    let source = "secrets:\n  - id: tok\n    keyvault: https://v.vault.azure.net/secrets/t\nsteps:\n  - cmd: busybox echo {{.Secrets.tok | b64enc}}\n";
    let missing = errors(source);
    assert_eq!(missing.0[0].code, "missing-secret");
    assert_eq!(missing.0[0].pos, Some(Pos::new(2, 9)));
    let req = LoadRequest {
        file_name: "acb.yaml",
        source,
        values: serde_json::json!({}),
        secrets: BTreeMap::from([("tok".to_string(), "s3cret".to_string())]),
        run: RunVars::default(),
        now: chrono::DateTime::UNIX_EPOCH,
        alias_loader: &NoAliasSources,
        options: LoadOptions::default(),
    };
    let loaded = taskfile::load(&req).unwrap();
    assert!(loaded.rendered.contains("czNjcmV0"), "{}", loaded.rendered);
    assert_eq!(loaded.secret_values, ["s3cret"]);
}
