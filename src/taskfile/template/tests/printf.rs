//! `printf` with Go fmt verbs, flags, widths and error annotations.

use serde_json::json;

use super::{r, rs};

#[test]
fn basic_verbs() {
    assert_eq!(
        rs(r#"{{printf "%s|%d|%v|%q|%x|%X|%t|%%" "s" 42 true "q" 255 255 false}}"#),
        r#"s|42|true|"q"|ff|FF|false|%"#
    );
    assert_eq!(
        rs(r#"{{printf "%c%c|%U|%o|%b|%#x|%x|% d|%+d|%q" 72 105 128512 8 5 255 -255 5 5 97}}"#),
        "Hi|U+1F600|10|101|0xff|-ff| 5|+5|'a'"
    );
}

#[test]
fn widths_and_precision() {
    assert_eq!(
        rs(r#"{{printf "%5d|%-5s|%05d|%.2f|%5.1f|%x|%.3s|%5t|%-4d|" 42 "ab" 42 3.14159 2.25 "hi" "abcdef" true 7}}"#),
        "   42|ab   |00042|3.14|  2.2|6869|abc| true|7   |"
    );
    assert_eq!(
        rs(r#"{{printf "%08.3f|%+.1e|%6.2f|%-8.3e|" -3.14159 12345.678 3.14159 1234.5678}}"#),
        "-003.142|+1.2e+04|  3.14|1.235e+03|"
    );
    assert_eq!(
        rs(r#"{{printf "%g|%G|%g|%.3g|%e|%f" 0.000012 1e21 100000.0 3.14159 0.0 1.0}}"#),
        "1.2e-05|1E+21|100000|3.14|0.000000e+00|1.000000"
    );
    assert_eq!(rs(r#"{{printf "%*d|%-*d|%.*f" 5 42 4 7 2 3.14159}}"#), "   42|7   |3.14");
    assert_eq!(rs(r#"{{printf "%[2]s %[1]s" "a" "b"}}"#), "b a");
    assert_eq!(rs(r#"{{printf "%6.2v|%5s" 3.14159 "é"}}"#), "   3.1|    é");
}

#[test]
fn values_and_composites() {
    let d = json!({"l": ["a", "b"], "n": [1, 2], "m": {"a": 1}});
    assert_eq!(r(r#"{{printf "%v %s %q %d" .l .l .l .n}}"#, d.clone()), r#"[a b] [a b] ["a" "b"] [1 2]"#);
    assert_eq!(r(r#"{{printf "%v|%d" .m .m}}"#, d.clone()), "map[a:1]|map[%!d(string=a):1]");
    assert_eq!(
        r(r#"{{printf "%T %T %T %T %T %T" 1 1.5 "s" .l .m nil}}"#, d),
        "int float64 string []interface {} map[string]interface {} <nil>"
    );
    // `%#v` is Go syntax: strings quoted, composites with their type.
    assert_eq!(rs(r#"{{printf "%+v|%#v|%#v|%+v" 5 "x" 1.5 (list "x")}}"#), r#"5|"x"|1.5|[x]"#);
    assert_eq!(
        rs(r#"{{printf "%#v|%#v" (list 1 "a") (dict "a" 1)}}"#),
        r#"[]interface {}{1, "a"}|map[string]interface {}{"a":1}"#
    );
}

#[test]
fn bad_verbs_and_arg_errors() {
    assert_eq!(rs(r#"{{printf "%d" "hi"}}"#), "%!d(string=hi)");
    assert_eq!(rs(r#"{{printf "%s" 5}}"#), "%!s(int=5)");
    assert_eq!(rs(r#"{{printf "%d"}}"#), "%!d(MISSING)");
    assert_eq!(rs(r#"{{printf "%d" 1 2 "x"}}"#), "1%!(EXTRA int=2, string=x)");
    assert_eq!(rs(r#"{{printf "%s|%v|%d" nil nil 1.5}}"#), "%!s(<nil>)|<nil>|%!d(float64=1.5)");
    assert_eq!(rs(r#"{{printf "%z" 1}}"#), "%!z(int=1)");
    assert_eq!(rs(r#"{{printf "abc%"}}"#), "abc%!(NOVERB)");
    assert_eq!(rs(r#"{{printf "%!" 1}}"#), "%!!(int=1)");
    assert_eq!(r(r#"{{printf "%s" .missing}}"#, json!({})), "%!s(<nil>)");
}

#[test]
fn floats_print_like_go() {
    assert_eq!(rs("{{printf \"%v %v %v %v %v\" 1e20 1.5e-7 0.1 -0.0 123456.7}}"), "1e+20 1.5e-07 0.1 -0 123456.7");
    assert_eq!(rs("{{printf \"%.0f %.0f %.1f\" 0.5 1.5 0.05}}"), "0 2 0.1");
}
