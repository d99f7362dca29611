//! TEMPORARY STUB.
#![allow(missing_docs)]
#[derive(Clone, Debug)]
pub struct ImageRef(String);
impl ImageRef {
    pub fn parse(s: &str) -> Result<ImageRef, String> {
        Ok(ImageRef(if s.contains(':') { s.to_string() } else { format!("{s}:latest") }))
    }
}
impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
