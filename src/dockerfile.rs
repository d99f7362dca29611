//! TEMPORARY STUB.
#![allow(missing_docs)]
use std::collections::BTreeMap;
pub struct ScanOptions {
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
}
pub struct Dependencies;
pub fn scan(_t: &str, _o: &ScanOptions) -> Result<Dependencies, String> {
    Ok(Dependencies)
}
pub fn dependency_json(
    _i: Option<&crate::reference::ImageRef>,
    _d: &Dependencies,
    _g: Option<&str>,
) -> serde_json::Value {
    serde_json::Value::Null
}
