//! TEMPORARY STUB.
#![allow(missing_docs)]
pub fn split(s: &str) -> Result<Vec<String>, String> {
    Ok(s.split_whitespace().map(str::to_string).collect())
}
pub fn shell_operators(_s: &str) -> Vec<&'static str> {
    vec![]
}
