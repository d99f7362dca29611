//! Go's builtin functions: logic, comparison, len/index/slice, print and escapers.

use serde_json::json;

use super::super::ErrorKind;
use super::{assert_err, r, rs};

#[test]
fn and_or_not() {
    assert_eq!(
        rs("{{and 1 0 2}}|{{and 1 2}}|{{or 0 \"\" \"x\"}}|{{or 0 \"\"}}|{{not 0}}|{{not \"a\"}}"),
        "0|2|x||true|false"
    );
    // Short-circuit: the failing call is never evaluated.
    assert_eq!(rs(r#"{{or true (fail "boom")}}{{and false (fail "boom")}}"#), "truefalse");
    assert_eq!(rs("{{0 | or 5}}|{{3 | and 1}}"), "5|3");
}

#[test]
fn comparisons() {
    assert_eq!(
        rs("{{eq 1 1}} {{eq 1 2 1}} {{eq \"a\" \"a\"}} {{ne 1 2}} {{eq true false}}"),
        "true true true true false"
    );
    assert_eq!(
        rs("{{eq 1.0 1.0}} {{lt 1.5 2.5}} {{gt 2.5 2.0}} {{le 2 2}} {{ge 1 2}} {{lt \"a\" \"b\"}}"),
        "true true true true false true"
    );
    assert_eq!(r("{{eq .missing \"x\"}} {{ne .missing 1}}", json!({})), "false true");
    assert_eq!(r("{{if eq .Run.Branch \"main\"}}yes{{end}}", json!({"Run": {"Branch": "main"}})), "yes");
}

#[test]
fn comparison_errors() {
    assert_err(
        "{{eq 1 \"a\"}}",
        json!({}),
        ErrorKind::Exec,
        1,
        3,
        "error calling eq: incompatible types for comparison: int and string",
    );
    // Go never compares an int with a float, not even 1 with 1.0.
    assert_err(
        "{{eq 1 1.0}}",
        json!({}),
        ErrorKind::Exec,
        1,
        3,
        "error calling eq: incompatible types for comparison: int and float64",
    );
    assert_err(
        "{{gt 2.5 2}}",
        json!({}),
        ErrorKind::Exec,
        1,
        3,
        "error calling gt: incompatible types for comparison: float64 and int",
    );
    assert_err("{{lt true false}}", json!({}), ErrorKind::Exec, 1, 3, "error calling lt: invalid type for comparison");
    assert_err("{{lt .missing 1}}", json!({}), ErrorKind::Exec, 1, 3, "error calling lt: invalid type for comparison");
    assert_err("{{eq 1}}", json!({}), ErrorKind::Exec, 1, 3, "error calling eq: missing argument for comparison");
}

#[test]
fn len_index_slice() {
    let d = json!({"l": ["a", "b", "c"], "m": {"a": 1, "n": {"b": "deep"}}, "s": "héllo"});
    assert_eq!(r("{{len .s}} {{len .l}} {{len .m}}", d.clone()), "6 3 2");
    assert_eq!(
        r("{{index .l 1}} {{index .m \"a\"}} {{index .m \"n\" \"b\"}} {{index .s 0}}", d.clone()),
        "b 1 deep 104"
    );
    assert_eq!(r("[{{index .m \"zz\"}}]", d.clone()), "[]");
    assert_eq!(
        r(
            "{{slice .l 1 3}} {{slice .l 1}} {{slice .l}} {{slice .l 1 2 9}} {{slice .l \"1\"}} {{slice .l 1.9}}",
            d.clone()
        ),
        "[b c] [b c] [a b c] [b] [b c] [b c]"
    );
    assert_eq!(r("{{index .l 1 | upper}}", d), "B");
}

#[test]
fn index_and_slice_errors() {
    let d = json!({"l": ["a", "b"]});
    assert_err("{{ index .l 5 }}", d.clone(), ErrorKind::Exec, 1, 4, "error calling index: index out of range: 5");
    assert_err("{{index .l -1}}", d.clone(), ErrorKind::Exec, 1, 3, "error calling index: index out of range: -1");
    assert_err(
        "{{index .l \"x\"}}",
        d.clone(),
        ErrorKind::Exec,
        1,
        3,
        "error calling index: cannot index slice/array with type string",
    );
    assert_err("{{index .nope 1}}", d.clone(), ErrorKind::Exec, 1, 3, "error calling index: index of untyped nil");
    // ACR words these "reflect.Value.Slice: slice index out of bounds"; only the failure must match.
    assert_err(
        "{{slice .l 2 1}}",
        d.clone(),
        ErrorKind::Exec,
        1,
        3,
        "error calling slice: reflect: slice index out of range: 2:1 of 2",
    );
    assert_err(
        "{{slice .l 1 5}}",
        d.clone(),
        ErrorKind::Exec,
        1,
        3,
        "error calling slice: reflect: slice index out of range: 1:5 of 2",
    );
    // ACR's `slice` is Sprig's, which takes lists only.
    assert_err(
        "{{slice \"héllo\" 0 1}}",
        d.clone(),
        ErrorKind::Exec,
        1,
        3,
        "error calling slice: list should be type of slice or array but string",
    );
    assert_err("{{len 3}}", d, ErrorKind::Exec, 1, 3, "error calling len: len of type int");
}

#[test]
fn print_and_println() {
    assert_eq!(rs(r#"{{print 1 2 "a" 3 "b" "c"}}"#), "1 2a3bc");
    assert_eq!(rs(r#"{{println "a" 1}}"#), "a 1\n");
    assert_eq!(rs("{{print nil}}|{{print}}"), "<nil>|");
    assert_eq!(rs("{{print (list 1 \"x\") (dict \"k\" 1.5)}}"), "[1 x] map[k:1.5]");
}

#[test]
fn escapers() {
    assert_eq!(rs(r#"{{html "<a href=\"x\">&'"}}"#), "&lt;a href=&#34;x&#34;&gt;&amp;&#39;");
    assert_eq!(rs(r#"{{js "it's <b>\"x\"\n="}}"#), r#"it\'s \u003Cb\u003E\"x\"\u000A\u003D"#);
    assert_eq!(rs(r#"{{urlquery "a b&c=d/é"}}"#), "a+b%26c%3Dd%2F%C3%A9");
    assert_eq!(rs(r#"{{html 1 "<"}}"#), "1&lt;");
}
