//! Resource limits: hostile templates fail fast with `ErrorKind::Limit`, never crash.

use std::time::Instant;

use serde_json::json;

use super::super::{ErrorKind, Limits, Options, render};
use super::{err, opts, r};

fn limited(limits: Limits) -> Options {
    Options { limits, ..opts() }
}

/// The render stops on one of its budgets. How fast is the benchmark's business (no timing in
/// tests): the budgets bound the work, so a stop on one of them is what bounds the time.
fn assert_limit(src: &str, o: &Options) {
    let e = render("t", src, &json!({}), o).expect_err("should hit a limit");
    assert_eq!(e.kind, ErrorKind::Limit, "{e}");
}

#[test]
fn infinite_template_recursion() {
    assert_limit(r#"{{define "a"}}{{template "a"}}{{end}}{{template "a"}}"#, &opts());
    let e = err(r#"{{define "a"}}{{template "a" .}}{{end}}{{template "a" 1}}"#, json!({}));
    assert_eq!(e.message, "exceeded maximum template depth (100)");
}

#[test]
fn huge_range_hits_a_limit() {
    assert_limit("{{range 100000000}}x{{end}}", &opts());
    // With a generous step budget the output cap stops it instead.
    let o = limited(Limits { max_output_bytes: 1000, ..Limits::default() });
    let e = render("t", "{{range 100000}}x{{end}}", &json!({}), &o).expect_err("output cap");
    assert_eq!((e.kind, e.message.as_str()), (ErrorKind::Limit, "output exceeds the limit of 1000 bytes"));
}

#[test]
fn deeply_nested_parens_do_not_overflow_the_stack() {
    let depth = 10_000;
    let src = format!("{{{{{}1{}}}}}", "(".repeat(depth), ")".repeat(depth));
    assert_limit(&src, &opts());
    let src = format!("{}x{}", "{{if 1}}".repeat(depth), "{{end}}".repeat(depth));
    assert_limit(&src, &opts());
    // Moderate nesting is fine.
    assert_eq!(r(&format!("{{{{{}1{}}}}}", "(".repeat(50), ")".repeat(50)), json!({})), "1");
}

#[test]
fn oversized_source_is_rejected() {
    let src = "x".repeat(2 << 20);
    let e = render("t", &src, &json!({}), &opts()).expect_err("too big");
    assert_eq!((e.kind, e.line, e.col), (ErrorKind::Limit, 1, 1));
}

#[test]
fn exponential_strings_hit_the_size_limit() {
    assert_limit(r#"{{$s := "xx"}}{{range 100}}{{$s = cat $s $s}}{{end}}"#, &opts());
    assert_limit(r#"{{repeat 1000000000 "abc"}}"#, &opts());
    assert_limit(r#"{{$s := "ab"}}{{range 60}}{{$s = replace "a" $s $s}}{{end}}"#, &opts());
    assert_limit(r#"{{$l := list 1}}{{range 100}}{{$l = concat $l $l}}{{end}}"#, &opts());
}

#[test]
fn deeply_nested_values_fail_cleanly() {
    // Printing or encoding a 1000-deep list is refused instead of recursing without bound.
    let build = r#"{{$l := list}}{{range 1000}}{{$l = list $l}}{{end}}"#;
    assert_limit(&format!("{build}{{{{$l}}}}"), &opts());
    assert_limit(&format!("{build}{{{{toJson $l}}}}"), &opts());
    assert_limit(&format!("{build}{{{{deepEqual $l $l | not}}}}{{{{uniq (list $l (list $l))}}}}"), &opts());
    // Building (and freeing) a very deep value is fine.
    let o = limited(Limits { max_steps: 100_000_000, ..Limits::default() });
    let deep = r#"{{$l := list}}{{range 300000}}{{$l = list $l}}{{end}}ok"#;
    assert_eq!(render("t", deep, &json!({}), &o).map(|x| x.text), Ok("ok".to_string()));
}

#[test]
fn shared_structure_cannot_explode() {
    // A DAG that doubles at every level would print 2^60 leaves.
    assert_limit(r#"{{$l := list 1}}{{range 60}}{{$l = list $l $l}}{{end}}{{$l}}"#, &opts());
    assert_limit(
        r#"{{$l := list 1}}{{range 60}}{{$l = list $l $l}}{{end}}{{deepEqual $l (list $l)}}{{uniq (list $l $l)}}"#,
        &opts(),
    );
}

#[test]
fn step_limit_is_configurable() {
    let o = limited(Limits { max_steps: 50, ..Limits::default() });
    let e = render("t", "{{range 100}}{{.}}{{end}}", &json!({}), &o).expect_err("steps");
    assert_eq!(e.kind, ErrorKind::Limit);
    assert!(e.message.contains("50 steps"), "{}", e.message);
}

#[test]
fn deeply_nested_data_is_rejected() {
    let mut data = json!(1);
    for _ in 0..300 {
        data = json!([data]);
    }
    let e = render("t", "x", &data, &opts()).expect_err("too deep");
    assert_eq!(e.kind, ErrorKind::Limit);
}

/// Run with `cargo test --release -- --ignored perf` to see the time for a large task file.
#[test]
#[ignore]
fn perf_large_task_file() {
    let mut src = String::from("version: v1.1.0\nsteps:\n");
    for _ in 0..10_000 {
        src.push_str("- c: {{.Run.ID}} {{.Values.t | upper}} {{.Values.n | default 3}}\n");
    }
    let data = json!({"Run": {"ID": "cb1"}, "Values": {"t": "tag"}});
    let start = Instant::now();
    let mut out = None;
    for _ in 0..10 {
        out = Some(render("t", &src, &data, &opts()).expect("renders"));
    }
    let per = start.elapsed() / 10;
    let out = out.expect("rendered");
    println!("source {} bytes, output {} bytes, {:?} per render", src.len(), out.text.len(), per);
    assert_eq!(out.line_origins.len(), 10_002);
}

#[test]
fn nesting_just_under_the_limit_works() {
    // 90 nested ifs plus a few parentheses stay within max_depth (100) and the stack.
    let src = format!("{}{{{{((((1))))}}}}{}", "{{if 1}}".repeat(90), "{{end}}".repeat(90));
    assert_eq!(r(&src, json!({})), "1");
    let src = format!("{{{{{}1{}}}}}", "(".repeat(99), ")".repeat(99));
    assert_eq!(r(&src, json!({})), "1");
}

#[test]
fn huge_lists_are_refused() {
    assert_limit(r#"{{$s := repeat 2000000 "ab"}}{{$l := splitList "" $s}}{{len $l}}"#, &opts());
}
