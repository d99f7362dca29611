//! Sprig list and dict functions.

use serde_json::json;

use super::super::ErrorKind;
use super::{assert_err, r, rs};

#[test]
fn list_basics() {
    assert_eq!(rs(r#"{{list 1 "a" (list 2)}}|{{list}}"#), "[1 a [2]]|[]");
    assert_eq!(
        rs("{{first (list 1 2 3)}}{{last (list 1 2 3)}}{{rest (list 1 2 3)}}{{initial (list 1 2 3)}}"),
        "13[2 3][1 2]"
    );
    // `first` of an empty list is nil; `rest` is an empty (nil) slice, which prints as [].
    assert_eq!(rs("[{{first list}}][{{rest list}}]"), "[][[]]");
    assert_eq!(
        rs("[{{initial list}}][{{last list}}][{{uniq list}}][{{compact list}}][{{reverse list}}][{{without list 1}}]"),
        "[[]][][[]][[]][[]][[]]"
    );
    assert_eq!(
        rs("{{append (list 1) 2}} {{prepend (list 1) 0}} {{concat (list 1) (list 2 3)}}"),
        "[1 2] [0 1] [1 2 3]"
    );
}

#[test]
fn list_filters() {
    assert_eq!(
        rs(r#"{{uniq (list 1 1 2 "a" "a")}}|{{has 2 (list 1 2)}}|{{has 3 (list 1 2)}}|{{has 1 nil}}"#),
        "[1 2 a]|true|false|false"
    );
    assert_eq!(
        rs(r#"{{without (list 1 2 3 2) 2}}|{{compact (list 1 "" nil 0 "x")}}|{{reverse (list 1 2 3)}}"#),
        "[1 3]|[1 x]|[3 2 1]"
    );
    assert_eq!(rs(r#"{{sortAlpha (list "b" "a" "c" 10)}}|{{sortAlpha "x"}}"#), "[10 a b c]|[x]");
    assert_eq!(rs(r#"{{uniq (list (list 1) (list 1) (dict "a" 1) (dict "a" 1))}}"#), "[[1] map[a:1]]");
}

#[test]
fn list_errors() {
    assert_err(
        r#"{{first "abc"}}"#,
        json!({}),
        ErrorKind::Exec,
        1,
        3,
        "error calling first: Cannot find first on type string",
    );
    assert_err(
        "{{append .missing 1}}",
        json!({}),
        ErrorKind::Exec,
        1,
        3,
        "error calling append: Cannot push on type <nil>",
    );
}

#[test]
fn dicts() {
    assert_eq!(rs(r#"{{$d := dict "a" 1 "b" "x"}}{{$d.a}}{{$d.b}}|{{dict "a"}}"#), "1x|map[a:]");
    assert_eq!(
        rs(r#"{{index (dict "a" 1) "a"}}|{{index (dict) "z"}}|{{hasKey (dict "a" 1) "a"}}|{{hasKey (dict) "a"}}"#),
        "1||true|false"
    );
    assert_eq!(rs(r#"{{$d := dict}}{{$_ := set $d "k" "v"}}{{$d.k}}{{$_ := unset $d "k"}}[{{$d.k}}]"#), "v[]");
    // Go walks maps in random order, so ACR's `keys`/`values` vary run to run; drydock sorts by key.
    assert_eq!(
        rs(r#"{{keys (dict "b" 1 "a" 2)}}|{{values (dict "b" 1 "a" 2)}}|{{keys (dict "b" 1) (dict "a" 2)}}"#),
        "[a b]|[2 1]|[a b]"
    );
    assert_eq!(rs(r#"{{pluck "a" (dict "a" 1) (dict "b" 2) (dict "a" 3)}}"#), "[1 3]");
    // set mutates data maps in place, like Go maps.
    assert_eq!(r(r#"{{$_ := set .Values "tag" "v2"}}{{.Values.tag}}"#, json!({"Values": {"tag": "v1"}})), "v2");
    // Ranging over a map while modifying it sees the snapshot taken at the start.
    assert_eq!(rs(r#"{{$d := dict "a" 1}}{{range $k, $v := $d}}{{$_ := set $d "b" 2}}{{$k}}{{end}}{{len $d}}"#), "a2");
}

#[test]
fn cyclic_set_is_refused() {
    assert_err(
        r#"{{$d := dict}}{{$_ := set $d "self" $d}}"#,
        json!({}),
        ErrorKind::Exec,
        1,
        23,
        "error calling set: cannot store a map inside itself",
    );
    assert_err(
        r#"{{$a := dict}}{{$b := dict "a" $a}}{{$_ := set $a "b" (list $b)}}"#,
        json!({}),
        ErrorKind::Exec,
        1,
        44,
        "error calling set: cannot store a map inside itself",
    );
}
