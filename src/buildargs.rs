//! TEMPORARY STUB until the real parser lands.
#![allow(missing_docs)]
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct BuildSpec {
    pub tags: Vec<String>,
    pub dockerfile: Option<String>,
    pub context: String,
}
pub fn parse(s: &str) -> Result<BuildSpec, String> {
    Ok(BuildSpec { context: s.split_whitespace().last().unwrap_or(".").to_string(), ..Default::default() })
}
