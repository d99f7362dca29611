//! Tests for the template engine; expected outputs follow Go text/template + Sprig.

mod acr;
mod builtins;
mod errors;
mod limits;
mod printf;
mod props;
mod sprig_lists;
mod sprig_strings;
mod sprig_values;
mod syntax;

use chrono::{TimeZone, Utc};
use serde_json::{Value as Json, json};

use super::{ErrorKind, Options, Rendered, TemplateError, render};

/// Options with a fixed clock: Tuesday 2024-03-05T14:07:09.123456789Z.
fn opts() -> Options {
    Options {
        now: Utc
            .with_ymd_and_hms(2024, 3, 5, 14, 7, 9)
            .single()
            .and_then(|t| chrono::Timelike::with_nanosecond(&t, 123_456_789))
            .expect("valid time"),
        ..Options::default()
    }
}

/// Renders with data, panicking with the error on failure.
fn full(src: &str, data: Json) -> Rendered {
    render("t", src, &data, &opts()).unwrap_or_else(|e| panic!("render {src:?} failed: {e}"))
}

/// Renders with data and returns the text.
fn r(src: &str, data: Json) -> String {
    full(src, data).text
}

/// Renders without data.
fn rs(src: &str) -> String {
    r(src, json!({}))
}

/// Renders expecting an error.
fn err(src: &str, data: Json) -> TemplateError {
    match render("t", src, &data, &opts()) {
        Ok(out) => panic!("render {src:?} unexpectedly succeeded: {:?}", out.text),
        Err(e) => e,
    }
}

/// Asserts an error's kind, position and message.
fn assert_err(src: &str, data: Json, kind: ErrorKind, line: u32, col: u32, msg: &str) {
    let e = err(src, data);
    assert_eq!((e.kind, e.line, e.col, e.message.as_str()), (kind, line, col, msg), "source {src:?}");
}
