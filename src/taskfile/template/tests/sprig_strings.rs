//! Sprig string functions.

use serde_json::json;

use super::super::ErrorKind;
use super::{assert_err, err, r, rs};

#[test]
fn defaults_and_emptiness() {
    let d = json!({"z": 0, "s": "v"});
    assert_eq!(
        r(r#"{{.x | default "d"}}|{{"" | default "d"}}|{{.s | default "d"}}|{{.z | default 5}}"#, d.clone()),
        "d|d|v|5"
    );
    assert_eq!(rs(r#"{{default "d"}}|{{false | default true}}|{{list | default "e"}}"#), "d|true|e");
    assert_eq!(
        r(
            "{{empty \"\"}} {{empty 0}} {{empty \"a\"}} {{empty .missing}} {{empty (list)}} {{empty (dict)}} {{empty now}}",
            d
        ),
        "true true false true true true false"
    );
    assert_eq!(rs(r#"{{coalesce "" 0 "x" "y"}}|{{coalesce "" nil}}"#), "x|");
    assert_eq!(rs(r#"{{ternary "yes" "no" true}}|{{false | ternary "yes" "no"}}"#), "yes|no");
}

#[test]
fn fail_and_helm_only_functions() {
    assert_err(r#"{{fail "boom"}}"#, json!({}), ErrorKind::Required, 1, 3, "boom");
    // Helm's `required`, `get` and `fromJson` are not in Sprig v2.22: ACR's runner refuses them.
    for f in ["required", "get", "fromJson"] {
        let e = err(&format!("{{{{{f} 1 2}}}}"), json!({}));
        assert!(e.message.contains("not defined") && e.message.contains("Sprig v2.22"), "{e}");
    }
}

#[test]
fn quoting() {
    assert_eq!(rs(r#"{{quote "a" "b\"c"}}|{{quote .missing}}|{{quote 1 nil 2}}"#), r#""a" "b\"c"||"1" "2""#);
    assert_eq!(rs(r#"{{squote "a" 1}}|{{"x" | quote}}"#), r#"'a' '1'|"x""#);
}

#[test]
fn case_functions() {
    assert_eq!(
        rs(r#"{{upper "abcß"}}|{{lower "ÀB"}}|{{title "hello world-foo bar_baz"}}|{{untitle "Hello World"}}"#),
        "ABCß|àb|Hello World-Foo Bar_baz|hello world"
    );
    assert_eq!(
        rs(
            r#"{{snakecase "FirstName"}} {{snakecase "HTTPServer"}} {{snakecase "http2xx"}} {{snakecase "HTTP20xOK"}} {{snakecase "Bld4Floor"}} {{snakecase "GO-PATH"}}"#
        ),
        "first_name http_server http_2xx http_20x_ok bld4_floor go_path"
    );
    assert_eq!(
        rs(
            r#"{{kebabcase "FirstName"}} {{camelcase "http_server"}} {{camelcase "_complex__case_"}} {{camelcase "some words"}}"#
        ),
        "first-name HttpServer _Complex_Case_ SomeWords"
    );
}

#[test]
fn trimming_and_slicing() {
    assert_eq!(
        rs(r#"[{{trim "  a b \n"}}]{{trimAll "$" "$5.00$"}} {{trimPrefix "-" "-x-"}} {{trimSuffix "-" "-x-"}}"#),
        "[a b]5.00 x- -x"
    );
    assert_eq!(rs(r#"{{trunc 5 "hello world"}}|{{trunc 50 "hi"}}|{{trunc 0 "hi"}}"#), "hello|hi|");
    // Sprig v2.22 slices with a negative length, which panics in Go.
    assert_err(
        r#"{{trunc -5 "hello world"}}"#,
        json!({}),
        ErrorKind::Exec,
        1,
        3,
        "error calling trunc: runtime error: slice bounds out of range [:-5]",
    );
    assert_eq!(
        rs(r#"{{substr 0 5 "hello world"}}|{{substr 6 -1 "hello world"}}|{{substr -1 3 "hello"}}"#),
        "hello|world|hel"
    );
    assert_eq!(rs(r#"{{abbrev 5 "hello world"}}|{{abbrev 20 "hello"}}"#), "he...|hello");
}

#[test]
fn building_strings() {
    assert_eq!(rs(r#"{{repeat 3 "ab"}}|{{"I Am Henry VIII" | replace " " "-"}}"#), "ababab|I-Am-Henry-VIII");
    assert_eq!(rs(r#"{{cat "hello" "beautiful" "world" nil 3}}"#), "hello beautiful world 3");
    assert_eq!(rs(r#"{{indent 2 "a\nb"}}|{{nindent 2 "a"}}|{{nospace "h e\tl\nlo"}}"#), "  a\n  b|\n  a|hello");
    assert_eq!(rs(r#"{{plural "one" "many" 1}} {{plural "one" "many" 2}}"#), "one many");
}

#[test]
fn searching() {
    assert_eq!(
        rs(
            r#"{{contains "cat" "catch"}} {{"catch" | hasPrefix "cat"}} {{hasSuffix "ch" "catch"}} {{contains "dog" "catch"}}"#
        ),
        "true true true false"
    );
}

#[test]
fn splitting_and_joining() {
    assert_eq!(
        rs(r#"{{$a := split "$" "foo$bar$baz"}}{{$a._0}}-{{$a._2}}|{{split "," "a,b"}}"#),
        "foo-baz|map[_0:a _1:b]"
    );
    assert_eq!(
        rs(r#"{{splitList "," "a,b,c"}}|{{splitList "" "abc"}}|{{splitn "$" 2 "foo$bar$baz"}}"#),
        "[a b c]|[a b c]|map[_0:foo _1:bar$baz]"
    );
    assert_eq!(
        r(r#"{{join "," (list 1 "a" nil 2.5)}}|{{join "-" .l}}|{{join "," "single"}}"#, json!({"l": ["x", "y"]})),
        "1,a,2.5|x-y|single"
    );
}

#[test]
fn string_params_reject_other_types() {
    assert_err(
        "{{upper 5}}",
        json!({}),
        ErrorKind::Exec,
        1,
        3,
        "error calling upper: wrong type for value; expected string; got int",
    );
    assert_err(
        r#"{{ternary "y" "n" "s"}}"#,
        json!({}),
        ErrorKind::Exec,
        1,
        3,
        "error calling ternary: wrong type for value; expected bool; got string",
    );
}

#[test]
fn nil_is_not_a_string() {
    // Go refuses to pass nil (or a missing key) where a function takes a string.
    assert_err(
        "{{upper nil}}",
        json!({}),
        ErrorKind::Exec,
        1,
        3,
        "error calling upper: invalid value; expected string",
    );
    assert_err(
        "{{trim .missing}}",
        json!({}),
        ErrorKind::Exec,
        1,
        3,
        "error calling trim: invalid value; expected string",
    );
}
