//! Property tests: rendering never panics, whatever the input.

use proptest::prelude::*;
use serde_json::json;

use super::super::{Limits, Options, render};
use super::opts;

const TOKENS: &[&str] = &[
    "{{",
    "}}",
    "{{- ",
    " -}}",
    "-",
    "|",
    ".",
    ".a",
    ".b.c",
    "$",
    "$x",
    "$y",
    ":=",
    "=",
    ",",
    "range",
    "end",
    "if",
    "else",
    "with",
    "define",
    "template",
    "block",
    "break",
    "continue",
    "(",
    ")",
    "\"",
    "\"s\"",
    "`r`",
    "'c'",
    " ",
    "\n",
    "1",
    "0",
    "-2",
    "3.5",
    "0x1f",
    "1e9",
    "nil",
    "true",
    "upper",
    "default",
    "index",
    "printf",
    "\"%d %s %v\"",
    "len",
    "list",
    "dict",
    "set",
    "eq",
    "and",
    "or",
    "not",
    "div",
    "toJson",
    "{{/*",
    "*/}}",
    "x",
    "é",
];

/// Argument snippets mixing every value type and awkward edge values.
const ARGS: &[&str] = &[
    "nil",
    "0",
    "1",
    "-1",
    "7",
    "-9223372036854775808",
    "9223372036854775807",
    "1.5",
    "-0.5",
    "1e300",
    "\"\"",
    "\"abc\"",
    "\"é€😀\"",
    "\"a,b\\nc\"",
    "\"%d%s%\"",
    "\"2006-01-02 Jan é\"",
    "\"0x1f\"",
    "\"-\"",
    "(list)",
    "(list 1 \"a\" nil)",
    "(dict)",
    "(dict \"a\" 1)",
    "now",
    ".a",
    ".b",
    ".n",
    ".missing",
    "$",
    "true",
    "false",
    "'x'",
];

fn call_source(name: &str, args: &[&str]) -> String {
    format!("{{{{ {} {} }}}}", name, args.join(" "))
}

fn small_limits() -> Options {
    Options { limits: Limits { max_steps: 20_000, max_output_bytes: 1 << 16, ..Limits::default() }, ..opts() }
}

fn data() -> serde_json::Value {
    json!({"a": [1, "x", {"k": null}], "b": {"c": "d"}, "n": 3})
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(src in "\\PC{0,200}") {
        let _ = render("t", &src, &data(), &small_limits());
    }

    #[test]
    fn token_soup_never_panics(parts in prop::collection::vec(prop::sample::select(TOKENS), 0..40)) {
        let src: String = parts.concat();
        let _ = render("t", &src, &data(), &small_limits());
    }

    #[test]
    fn actions_of_tokens_never_panic(parts in prop::collection::vec(prop::sample::select(TOKENS), 0..12)) {
        let src = format!("a{{{{ {} }}}}b{{{{end}}}}", parts.join(" "));
        let _ = render("t", &src, &data(), &small_limits());
    }

    #[test]
    fn every_function_survives_odd_arguments(
        f in prop::sample::select(super::super::funcs::names().collect::<Vec<_>>()),
        args in prop::collection::vec(prop::sample::select(ARGS), 0..4),
    ) {
        let _ = render("t", &call_source(f, &args), &data(), &small_limits());
    }

    #[test]
    fn printf_survives_any_format(fmt in "[%a-z0-9.*+# \\-\\[\\]é]{0,30}", args in prop::collection::vec(prop::sample::select(ARGS), 0..4)) {
        let src = format!("{{{{ printf {} {} }}}}", serde_json::to_string(&fmt).unwrap_or_default(), args.join(" "));
        let _ = render("t", &src, &data(), &small_limits());
    }

    #[test]
    fn plain_text_renders_verbatim(text in "[^{]{0,100}") {
        let out = render("t", &text, &data(), &small_limits()).expect("plain text renders");
        prop_assert_eq!(out.line_origins.len(), out.text.lines().count());
        prop_assert_eq!(out.text, text);
    }
}
