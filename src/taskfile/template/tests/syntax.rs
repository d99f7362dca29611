//! Text, actions, literals, printing, variables and control structures.

use serde_json::json;

use super::{err, r, rs};

#[test]
fn plain_text_and_simple_actions() {
    assert_eq!(rs(""), "");
    assert_eq!(rs("hello\nworld"), "hello\nworld");
    assert_eq!(rs(r#"{{"a"}}{{1}}{{true}}{{false}}"#), "a1truefalse");
    assert_eq!(r("{{.}}", json!("root")), "root");
    assert_eq!(r("{{.a}}-{{.b.c}}", json!({"a": 1, "b": {"c": "x"}})), "1-x");
}

#[test]
fn trim_markers() {
    assert_eq!(rs("a  {{- \"b\" -}}  c"), "abc");
    assert_eq!(rs("a\n\n  {{- \"b\"}}\n"), "ab\n");
    assert_eq!(rs("{{\"x\" -}}\n\t y"), "xy");
    // Without a space the minus belongs to a number.
    assert_eq!(rs("a {{-3}}"), "a -3");
    assert_eq!(rs("{{3 }} {{- 4}}"), "34");
}

#[test]
fn comments() {
    assert_eq!(rs("a{{/* c */}}b"), "ab");
    assert_eq!(rs("a {{- /* c */ -}} b"), "ab");
    assert_eq!(rs("a{{/* multi\nline {{ }} */}}b"), "ab");
}

#[test]
fn string_literals() {
    assert_eq!(rs(r#"{{"a\tb\n\"q\"\\ \x41 \u00e9 \101"}}"#), "a\tb\n\"q\"\\ A é A");
    assert_eq!(rs("{{`raw\\n \"x\"`}}"), "raw\\n \"x\"");
    assert_eq!(rs("{{`multi\nline`}}"), "multi\nline");
}

#[test]
fn number_literals() {
    assert_eq!(rs("{{0x1F}} {{0o17}} {{0b101}} {{1_000}} {{017}} {{'a'}} {{'\\n'}}"), "31 15 5 1000 15 97 10");
    assert_eq!(rs("{{1e3}} {{1e6}} {{-2.5}} {{.5}} {{1.0}} {{1.5}} {{+7}}"), "1000 1e+06 -2.5 0.5 1 1.5 7");
}

#[test]
fn printing_values_like_go() {
    let data = json!({
        "l": [1, "a", true, null, 1.5],
        "m": {"b": 2, "a": "x"},
        "n": {"x": [1, {"y": 2}]},
        "e": [], "em": {},
        "f1": 1e21, "f2": 123456789.0, "f3": 100000.0, "f4": 1000000.0, "f5": 0.00001,
        "f6": 0.0001, "big": 9007199254740993i64, "neg": -3
    });
    assert_eq!(r("{{.l}}", data.clone()), "[1 a true <nil> 1.5]");
    assert_eq!(r("{{.m}}", data.clone()), "map[a:x b:2]");
    assert_eq!(r("{{.n}}", data.clone()), "map[x:[1 map[y:2]]]");
    assert_eq!(r("{{.e}}|{{.em}}", data.clone()), "[]|map[]");
    assert_eq!(
        r("{{.f1}} {{.f2}} {{.f3}} {{.f4}} {{.f5}} {{.f6}}", data.clone()),
        "1e+21 1.23456789e+08 100000 1e+06 1e-05 0.0001"
    );
    assert_eq!(r("{{.big}} {{.neg}}", data), "9007199254740993 -3");
}

#[test]
fn nil_prints_nothing() {
    assert_eq!(r("[{{.missing}}][{{.a.b.c}}][{{$v := .nope}}{{$v.x}}]", json!({"a": {"b": {}}})), "[][][]");
    // A field of a missing key is a field of nil, which Go refuses.
    assert_eq!(super::err("[{{.a.b.c}}]", json!({"a": {}})).message, "nil pointer evaluating interface {}.c");
}

#[test]
fn variables_and_scope() {
    assert_eq!(rs("{{$x := 1}}{{$x}}{{$x = 2}}{{$x}}"), "12");
    assert_eq!(rs("{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}"), "21");
    assert_eq!(rs("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}"), "2");
    assert_eq!(r("{{with .a}}{{$.b}}{{.}}{{end}}", json!({"a": "A", "b": "B"})), "BA");
    assert_eq!(r("{{$}}", json!(5)), "5");
    assert_eq!(r("{{$v := .a}}{{$v.b}}", json!({"a": {"b": "c"}})), "c");
    // A declaration prints nothing.
    assert_eq!(rs("a{{$x := 5}}b"), "ab");
    assert_eq!(rs("{{if $x := 3}}{{$x}}{{end}}"), "3");
}

#[test]
fn if_else_chains() {
    let t = "{{if .a}}A{{else if .b}}B{{else}}C{{end}}";
    assert_eq!(r(t, json!({"a": 1})), "A");
    assert_eq!(r(t, json!({"b": "x"})), "B");
    assert_eq!(r(t, json!({})), "C");
    for falsy in [json!(0), json!(""), json!([]), json!({}), json!(null), json!(false), json!(0.0)] {
        assert_eq!(r("{{if .v}}T{{else}}F{{end}}", json!({ "v": falsy })), "F");
    }
    for truthy in [json!(1), json!("0"), json!([0]), json!({"a": null}), json!(true), json!(0.5)] {
        assert_eq!(r("{{if .v}}T{{else}}F{{end}}", json!({ "v": truthy })), "T");
    }
}

#[test]
fn with_else_with() {
    let t = "{{with .a}}a={{.}}{{else with .b}}b={{.}}{{else}}none{{end}}";
    assert_eq!(r(t, json!({"a": 1})), "a=1");
    assert_eq!(r(t, json!({"b": 2})), "b=2");
    assert_eq!(r(t, json!({})), "none");
}

#[test]
fn range_forms() {
    let d = json!({"l": ["a", "b"], "m": {"z": 1, "a": 2}, "e": []});
    assert_eq!(r("{{range $i, $v := .l}}{{$i}}={{$v}};{{end}}", d.clone()), "0=a;1=b;");
    assert_eq!(r("{{range .l}}{{.}}{{end}}", d.clone()), "ab");
    assert_eq!(r("{{range $v := .l}}{{$v}}{{end}}", d.clone()), "ab");
    assert_eq!(r("{{range $k, $v := .m}}{{$k}}{{$v}} {{end}}", d.clone()), "a2 z1 ");
    assert_eq!(r("{{range .m}}{{.}}{{end}}", d.clone()), "21");
    assert_eq!(r("{{range .e}}x{{else}}none{{end}}", d.clone()), "none");
    assert_eq!(r("{{range .missing}}x{{else}}none{{end}}", d.clone()), "none");
    assert_eq!(rs("{{range 3}}{{.}}{{end}}|{{range $i := 2}}{{$i}}{{end}}|{{range 0}}x{{else}}e{{end}}"), "012|01|e");
    // Assignment form reuses outer variables.
    assert_eq!(r("{{$i := 9}}{{$v := 9}}{{range $i, $v = .l}}{{end}}{{$i}}{{$v}}", d), "1b");
}

#[test]
fn range_break_continue() {
    let d = json!({"l": [0, 1, 2, 3, 4]});
    assert_eq!(
        r("{{range .l}}{{if eq . 3}}{{break}}{{end}}{{if eq . 1}}{{continue}}{{end}}{{.}}{{end}}", d.clone()),
        "02"
    );
    // break inside nested with/if still ends the innermost range.
    assert_eq!(r("{{range .l}}{{range $.l}}{{with .}}{{break}}{{end}}x{{end}}{{.}}{{end}}", d), "x0x1x2x3x4");
}

#[test]
fn range_body_variables_reset_each_iteration() {
    assert_eq!(rs("{{range 3}}{{$x := .}}{{$x}}{{end}}"), "012");
}

#[test]
fn define_template_block() {
    assert_eq!(rs(r#"{{define "x"}}[{{.}}]{{end}}{{template "x" "a"}}{{template "x"}}"#), "[a][]");
    assert_eq!(r(r#"{{block "b" .}}B{{.}}{{end}}!"#, json!("z")), "Bz!");
    assert_eq!(
        r(
            r#"{{define "row"}}{{.k}}={{.v}}{{end}}{{range .rows}}{{template "row" .}};{{end}}"#,
            json!({"rows": [{"k": "a", "v": 1}, {"k": "b", "v": 2}]})
        ),
        "a=1;b=2;"
    );
    // Defines may come after use and see their own `$`.
    assert_eq!(r(r#"{{template "y" .a}}{{define "y"}}{{$}}{{end}}"#, json!({"a": 7})), "7");
}

#[test]
fn parens_chains_and_pipes() {
    let d = json!({"m": {"k": {"b": 1}}});
    assert_eq!(r(r#"{{(index .m "k").b}}"#, d.clone()), "1");
    assert_eq!(r("{{(.m).k.b}}", d), "1");
    assert_eq!(rs("{{(list 1 2) | len}}"), "2");
    assert_eq!(rs(r#"{{"abc" | printf "%s-%s" "x"}}"#), "x-abc");
    assert_eq!(rs(r#"{{"a" | printf "%s%s" "b" | printf "%s%s" "c"}}"#), "cba");
    assert_eq!(rs("{{ (1) }}"), "1");
}

#[test]
fn newlines_inside_actions() {
    assert_eq!(rs("{{ print\n  \"a\"\n  \"b\" }}"), "ab");
}

#[test]
fn declarations_in_with_and_parens() {
    assert_eq!(r("{{with $x := .a}}{{$x}}{{.}}{{end}}", json!({"a": "v"})), "vv");
    assert_eq!(rs("{{ ($x := 1) }}{{$x}}"), "11");
    assert_eq!(r("{{range $k, $v := .}}{{$k}}:{{$v}},{{end}}", json!({"b": 1, "a": [2]})), "a:[2],b:1,");
}

#[test]
fn unicode_and_crlf() {
    assert_eq!(r("{{.Größe}}", json!({"Größe": "XL"})), "XL");
    assert_eq!(rs("a\r\n{{- \"b\" -}}\r\n c"), "abc");
}

#[test]
fn dangling_pipe_is_accepted() {
    // Go's parser lets a `|` stand right before the end of a pipeline.
    assert_eq!(r("{{ .a | }}", json!({"a": 1})), "1");
    assert_eq!(rs("{{ (print 2 |) }}"), "2");
}

#[test]
fn fields_of_no_value_are_empty_but_fields_of_nil_fail() {
    // A template called without data (or with a nil pipeline) has "no value" as dot.
    assert_eq!(rs(r#"{{ define "a" }}[{{ .x.y }}{{ .x 1 }}]{{ end }}{{ template "a" }}"#), "[]");
    assert_eq!(rs(r#"{{ define "a" }}[{{ .x }}]{{ end }}{{ template "a" .nope }}"#), "[]");
    assert_eq!(rs("{{ $x := .nope }}[{{ $x.y 1 }}]"), "[]");
    // A nil element bound by range is a nil interface: its fields fail.
    let e = err("{{ range list nil }}{{ .x }}{{ end }}", json!({}));
    assert_eq!((e.line, e.col, e.message.as_str()), (1, 24, "nil pointer evaluating interface {}.x"));
    let e = err("{{ range $e := list nil }}{{ $e.x 1 }}{{ end }}", json!({}));
    assert_eq!(e.message, "nil pointer evaluating interface {}.x");
}

#[test]
fn range_errors_point_at_the_ranged_value() {
    let e = err("{{ range $i, $e := 3 }}{{ end }}", json!({}));
    assert_eq!((e.line, e.col), (1, 20));
}
