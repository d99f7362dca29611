//! ACR task-file scenarios, missing-key reporting and the output line map.

use serde_json::json;

use super::super::MissingKey;
use super::{full, r};

fn run_data() -> serde_json::Value {
    json!({
        "Run": {"ID": "cb12", "Registry": "myreg.azurecr.io", "Commit": "ABCDEF1234", "Branch": "main"},
        "Values": {"registry": "myreg.azurecr.io", "image": {"tag": "v1"}, "replicas": 3},
        "Secrets": {"t": "tok"}
    })
}

#[test]
fn acr_run_variables() {
    let d = run_data();
    assert_eq!(r("{{.Run.ID}}", d.clone()), "cb12");
    assert_eq!(r(r#"{{.Values.x | default "d"}}"#, d.clone()), "d");
    assert_eq!(r("{{.Run.Commit | lower}}", d.clone()), "abcdef1234");
    assert_eq!(r("[{{ .Secrets.x | b64enc }}]", d.clone()), "[]");
    assert_eq!(r("{{.Run.Registry}}/app:{{.Run.Tag}}", d.clone()), "myreg.azurecr.io/app:");
    assert_eq!(r(r#"{{ printf "//reg/:_authToken=%s" .Secrets.t | b64enc }}"#, d), "Ly9yZWcvOl9hdXRoVG9rZW49dG9r");
}

#[test]
fn acr_task_file() {
    let src = r#"version: v1.1.0
steps:
  - build: -t {{.Values.registry}}/hello:{{.Values.image.tag}} .
  {{- range $i := until 0 }}{{ end }}
"#;
    // `until 0` is an empty list: the range emits nothing and the trim eats the indentation.
    let out = full(src, run_data());
    assert_eq!(out.text, "version: v1.1.0\nsteps:\n  - build: -t myreg.azurecr.io/hello:v1 .\n");
    assert_eq!(out.line_origins, vec![1, 2, 3]);

    let src = r#"version: v1.1.0
steps:
  - build: -t {{.Values.registry}}/hello:{{.Values.image.tag | default "latest"}} .
{{- range $n := .Values.replicas | int }}
  - cmd: echo replica {{ $n }}
{{- end }}
  - push: ["{{.Run.Registry}}/hello:{{.Run.ID}}"]
"#;
    let out = full(src, run_data());
    assert_eq!(
        out.text,
        "version: v1.1.0\nsteps:\n  - build: -t myreg.azurecr.io/hello:v1 .\n  - cmd: echo replica 0\n  - cmd: echo replica 1\n  - cmd: echo replica 2\n  - push: [\"myreg.azurecr.io/hello:cb12\"]\n"
    );
    assert_eq!(out.line_origins, vec![1, 2, 3, 5, 5, 5, 7]);
    assert!(out.missing_keys.is_empty());
}

#[test]
fn missing_keys_are_recorded_and_deduplicated() {
    let src = "{{.Run.Tag}}\n{{range 3}}{{$.Values.missing}}{{end}}\n{{.Run.Tag}} {{$n := .Nope}}{{$n.x}}{{$v := .Run}}{{$v.x}} {{index .Values \"my-key\"}}";
    let out = full(src, json!({"Run": {}, "Values": {}}));
    assert_eq!(out.text, "\n\n  ");
    let keys: Vec<(String, u32, u32)> =
        out.missing_keys.iter().map(|MissingKey { path, line, col }| (path.clone(), *line, *col)).collect();
    assert_eq!(
        keys,
        vec![
            (".Run.Tag".to_string(), 1, 3),
            ("$.Values.missing".to_string(), 2, 14),
            (".Run.Tag".to_string(), 3, 3),
            (".Nope".to_string(), 3, 22),
            // `$n.x` is not recorded: `$n` is already nil, and Go quietly gives nil for its fields.
            ("$v.x".to_string(), 3, 53),
            (".Values.my-key".to_string(), 3, 62),
        ]
    );
}

#[test]
fn chaining_a_field_on_a_missing_key_is_an_error() {
    // Go gives a missing map key the zero interface value; a field of that is a nil dereference.
    let e = super::err("{{.Run.Tag.Deeper}}", json!({"Run": {}}));
    assert_eq!((e.line, e.col, e.message.as_str()), (1, 3, "nil pointer evaluating interface {}.Deeper"));
}

#[test]
fn line_origins_follow_text_and_actions() {
    let src = "a\n{{\"x\\ny\"}}\nb\n{{- \"c\" }}\n\n{{define \"d\"}}D\n{{end}}{{template \"d\"}}e";
    let out = full(src, json!({}));
    assert_eq!(out.text, "a\nx\ny\nbc\n\nD\ne");
    // "x\ny" is one action on line 2; "bc" starts with text from line 3; the blank line is
    // line 5; "D\n" comes from the define on line 6; "e" follows the template call on line 7.
    assert_eq!(out.line_origins, vec![1, 2, 2, 3, 5, 6, 7]);
    assert_eq!(out.text.lines().count(), out.line_origins.len());
}

#[test]
fn set_style_values() {
    let d = json!({"Values": {"a": {"b": {"c": "deep"}}, "list": ["x", "y"], "flag": true, "n": 1.5}});
    assert_eq!(
        r("{{.Values.a.b.c}} {{index .Values.list 1}} {{if .Values.flag}}on{{end}} {{.Values.n}}", d),
        "deep y on 1.5"
    );
}
