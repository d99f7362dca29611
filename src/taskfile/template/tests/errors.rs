//! Syntax and execution errors, with their kinds and positions.

use serde_json::json;

use super::super::ErrorKind::{Exec, Syntax};
use super::{assert_err, err};

#[test]
fn unclosed_constructs() {
    assert_err("line1\n  {{ .X ", json!({}), Syntax, 2, 3, "unclosed action");
    assert_err("a {{ (.X }}", json!({}), Syntax, 1, 10, "unclosed left paren");
    assert_err("{{ .X) }}", json!({}), Syntax, 1, 6, "unexpected right paren");
    assert_err("{{\"abc}}", json!({}), Syntax, 1, 3, "unterminated quoted string");
    assert_err("{{`abc}}", json!({}), Syntax, 1, 3, "unterminated raw quoted string");
    assert_err("x{{/* c", json!({}), Syntax, 1, 2, "unclosed comment");
    assert_err("{{/* c */ .a}}", json!({}), Syntax, 1, 1, "comment ends before closing delimiter");
    assert_err("a\n{{if .a}}\nx", json!({}), Syntax, 2, 1, "unexpected EOF: {{if}} has no matching {{end}}");
    assert_err("{{range .a}}{{else}}{{else}}{{end}}", json!({}), Syntax, 1, 27, "expected end; found {{else}}");
}

#[test]
fn unknown_function_suggests_the_closest_name() {
    let e = err("a\n\nfoo {{ uper .x }}", json!({}));
    assert_eq!(e.to_string(), r#"3:8: function "uper" not defined (did you mean "upper"?)"#);
    assert_eq!(e.kind, Syntax);
}

#[test]
fn bad_pipelines() {
    assert_err("{{ .a | | upper }}", json!({}), Syntax, 1, 9, r#"unexpected "|" in command"#);
    assert_err("{{ | upper }}", json!({}), Syntax, 1, 4, r#"unexpected "|" in command"#);
    assert_err(r#"{{ .a | "x" }}"#, json!({}), Syntax, 1, 9, "non executable command in pipeline stage 2");
    assert_err("{{ }}", json!({}), Syntax, 1, 4, "missing value for command");
    assert_err("{{if}}{{end}}", json!({}), Syntax, 1, 5, "missing value for if");
    assert_err("{{ .a .b }}", json!({"a": 1}), Exec, 1, 4, "a is not a method but has arguments");
    assert_err(r#"{{ "x" 1 }}"#, json!({}), Exec, 1, 4, r#"can't give argument to non-function "x""#);
    assert_err("{{ nil }}", json!({}), Exec, 1, 4, "nil is not a command");
    assert_err("{{ $x }}", json!({}), Syntax, 1, 4, r#"undefined variable "$x""#);
    assert_err("{{ $x = 1 }}", json!({}), Syntax, 1, 4, r#"undefined variable "$x""#);
    assert_err("{{ 1.a }}", json!({}), Syntax, 1, 4, r#"bad number syntax: "1.a""#);
    assert_err("{{ .a$ }}", json!({}), Syntax, 1, 6, "bad character U+0024 '$'");
    assert_err("{{ \"a\".b }}", json!({}), Syntax, 1, 4, r#"unexpected . after term "\"a\"""#);
    assert_err("{{ # }}", json!({}), Syntax, 1, 4, r##"unexpected "#" in command"##);
    assert_err("{{ 18446744073709551615 }}", json!({}), Syntax, 1, 4, "18446744073709551615 overflows int");
    assert_err("{{ 99999999999999999999 }}", json!({}), Syntax, 1, 4, r#"integer overflow: "99999999999999999999""#);
}

#[test]
fn misplaced_keywords() {
    assert_err("x {{end}}", json!({}), Syntax, 1, 3, "unexpected {{end}}");
    assert_err("{{else}}", json!({}), Syntax, 1, 1, "unexpected {{else}}");
    assert_err("{{break}}", json!({}), Syntax, 1, 1, "{{break}} outside {{range}}");
    assert_err("{{range .}}{{else}}{{continue}}{{end}}", json!({}), Syntax, 1, 20, "{{continue}} outside {{range}}");
    assert_err("{{if 1}}{{define \"x\"}}{{end}}{{end}}", json!({}), Syntax, 1, 11, "unexpected <define> in command");
    assert_err("{{template .x}}", json!({}), Syntax, 1, 12, r#"unexpected ".x" in template clause"#);
    assert_err(
        r#"{{define "a"}}1{{end}}{{define "a"}}2{{end}}"#,
        json!({}),
        Syntax,
        1,
        23,
        r#"template: multiple definition of template "a""#,
    );
}

#[test]
fn execution_errors() {
    assert_err("{{.a.b}}", json!({"a": "s"}), Exec, 1, 3, "can't evaluate field b in type string");
    assert_err("{{upper}}", json!({}), Exec, 1, 3, "wrong number of args for upper: want 1 got 0");
    assert_err("{{round 1}}", json!({}), Exec, 1, 3, "wrong number of args for round: want at least 2 got 1");
    assert_err(r#"{{template "nope"}}"#, json!({}), Exec, 1, 1, r#"template: no template "nope" defined"#);
    // Range failures point at the ranged value, as Go's do.
    assert_err("{{range 1.5}}{{end}}", json!({}), Exec, 1, 9, "range can't iterate over 1.5");
    assert_err(
        "{{range $i, $v := 3}}{{end}}",
        json!({}),
        Exec,
        1,
        19,
        "can't use 3 to iterate over more than one variable",
    );
}

#[test]
fn display_includes_position() {
    let e = err("\n  {{ div 1 0 }}", json!({}));
    assert_eq!(e.to_string(), "2:6: error calling div: runtime error: integer divide by zero");
}

#[test]
fn columns_count_characters() {
    assert_err("ééé {{ uper }}", json!({}), Syntax, 1, 8, r#"function "uper" not defined (did you mean "upper"?)"#);
}
