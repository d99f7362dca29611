//! Sprig conversions, math, encodings, JSON, dates and reflection.

use serde_json::json;

use super::super::ErrorKind;
use super::{assert_err, r, rs};

#[test]
fn conversions() {
    assert_eq!(
        rs(r#"{{toString 1}}{{toString (list 1 2)}}|{{typeOf (toString 1)}}|{{toStrings (list 1 "a" nil)}}"#),
        "1[1 2]|string|[1 a]"
    );
    assert_eq!(rs(r#"{{atoi "42"}} {{atoi "x"}} {{atoi "-3"}}"#), "42 0 -3");
    assert_eq!(
        rs(r#"{{int "12"}} {{int 3.9}} {{int "0x10"}} {{int "3.0"}} {{int "3.5"}} {{int true}} {{int64 "7"}}"#),
        "12 3 0 0 0 1 7"
    );
    // Strings parse as base-10 integers only (a leading zero is not octal); anything else is 0.
    assert_eq!(rs(r#"{{int "010"}} {{int "1e2"}} {{int " 5"}} {{int "-0x10"}} {{int nil}}"#), "10 0 0 0 0");
    assert_eq!(rs(r#"{{float64 "1.5"}} {{float64 2}} {{float64 "x"}}"#), "1.5 2 0");
}

#[test]
fn math() {
    assert_eq!(
        rs(
            r#"{{add 1 2 "3"}} {{add1 5}} {{sub 5 7}} {{mul 2 3 4}} {{div 7 2}} {{mod 7 3}} {{max 1 5 3}} {{min 4 2 8}}"#
        ),
        "6 6 -2 24 3 1 5 2"
    );
    assert_eq!(
        rs("{{floor 1.7}} {{ceil 1.2}} {{round 3.14159 2}} {{round 2.5 0}} {{add 1.9 1}} {{round -2.5 0}}"),
        "1 2 3.14 3 2 -3"
    );
    assert_eq!(r("{{add .a .b}}", json!({"a": 40, "b": 2})), "42");
}

#[test]
fn division_by_zero_is_an_error() {
    assert_err(
        "{{ div 1 0 }}",
        json!({}),
        ErrorKind::Exec,
        1,
        4,
        "error calling div: runtime error: integer divide by zero",
    );
    assert_err(
        "ok\n{{ 3 | mod 6 | div 5 }}",
        json!({}),
        ErrorKind::Exec,
        2,
        16,
        "error calling div: runtime error: integer divide by zero",
    );
}

#[test]
fn encodings() {
    assert_eq!(
        rs(r#"{{b64enc "hello"}} {{b64dec "aGVsbG8="}} {{b64dec "!!"}}"#),
        "aGVsbG8= hello illegal base64 data at input byte 0"
    );
    assert_eq!(
        rs(r#"{{b32enc "hello"}} {{b32enc "a"}} {{b32dec "NBSWY3DP"}} {{b32dec "ME======"}}"#),
        "NBSWY3DP ME====== hello a"
    );
    assert_eq!(rs(r#"{{sha256sum "hello"}}"#), "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    assert_eq!(rs(r#"{{sha1sum "hello"}}"#), "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
    assert_eq!(rs("{{b64enc .missing}}|{{b64dec \"\"}}"), "|");
}

#[test]
fn json_round_trips() {
    let d = json!({"b": [1, 2.5, "x<y&z"], "a": null, "c": {"t": true}});
    assert_eq!(r("{{toJson .}}", d.clone()), r#"{"a":null,"b":[1,2.5,"x\u003cy\u0026z"],"c":{"t":true}}"#);
    assert_eq!(r("{{toPrettyJson .c}}", d), "{\n  \"t\": true\n}");
    assert_eq!(
        rs("{{toJson list}} {{toJson dict}} {{toJson nil}} {{toJson 1e21}} {{toJson 0.0000001}} {{toJson \"\\n\"}}"),
        r#"[] {} null 1e+21 1e-7 "\n""#
    );
    assert_eq!(rs("{{toJson now}}"), r#""2024-03-05T14:07:09.123456789Z""#);
}

#[test]
fn dates() {
    assert_eq!(
        rs(r#"{{now | date "2006-01-02T15:04:05Z07:00"}}|{{date "20060102-150405" now}}"#),
        "2024-03-05T14:07:09Z|20240305-140709"
    );
    assert_eq!(rs(r#"{{date "Jan Mon January Monday" now}}"#), "Mar Tue March Tuesday");
    assert_eq!(
        rs(r#"{{date "3:04PM .000 .999 .999999999 _2 002 06 -0700 -07:00 MST" now}}"#),
        "2:07PM .123 .123 .123456789  5 065 24 +0000 +00:00 UTC"
    );
    assert_eq!(
        rs(r#"{{date "2006-01-02 15:04:05.000000" 0}}|{{date "Jan _2 .999" 86400}}"#),
        "1970-01-01 00:00:00.000000|Jan  2 "
    );
    assert_eq!(rs("{{now}}|{{now | unixEpoch}}"), "2024-03-05 14:07:09.123456789 +0000 UTC|1709647629");
}

#[test]
fn reflection() {
    assert_eq!(
        rs(
            "{{typeOf 1}} {{typeOf 1.5}} {{typeOf \"s\"}} {{typeOf list}} {{typeOf dict}} {{typeOf nil}} {{typeOf now}}"
        ),
        "int float64 string []interface {} map[string]interface {} <nil> time.Time"
    );
    assert_eq!(
        rs(r#"{{kindIs "map" dict}} {{kindOf list}} {{kindOf nil}} {{typeIs "int" 1}}"#),
        "true slice invalid true"
    );
    assert_eq!(rs(r#"{{deepEqual (list 1 (dict "a" 2)) (list 1 (dict "a" 2))}} {{deepEqual 1 1.0}}"#), "true false");
}

#[test]
fn unknown_or_disabled_functions() {
    // Templates see an empty environment: the daemon's own (database URL, tokens) stays private.
    assert_eq!(super::rs(r#"[{{env "HOME"}}|{{expandenv "$HOME/x"}}]"#), "[|/x]");
    assert_err(
        r#"{{getHostByName "example.com"}}"#,
        json!({}),
        ErrorKind::Syntax,
        1,
        3,
        r#"function "getHostByName" not defined (resolving names from a task file is disabled)"#,
    );
    assert_err(
        r#"{{toJSON .}}"#,
        json!({}),
        ErrorKind::Syntax,
        1,
        3,
        r#"function "toJSON" not defined (did you mean "toJson"?)"#,
    );
    assert_err(r#"{{frobnicate .}}"#, json!({}), ErrorKind::Syntax, 1, 3, r#"function "frobnicate" not defined"#);
    assert_err("{{x}}", json!({}), ErrorKind::Syntax, 1, 3, r#"function "x" not defined"#);
    assert_err("{{ad 1}}", json!({}), ErrorKind::Syntax, 1, 3, r#"function "ad" not defined (did you mean "add"?)"#);
    assert_err(
        "{{toYaml 1}}",
        json!({}),
        ErrorKind::Syntax,
        1,
        3,
        r#"function "toYaml" not defined (it is a Helm function, not part of Sprig v2.22, which ACR's runner uses)"#,
    );
}
