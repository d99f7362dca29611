//! Image aliases: in v1.1.0 files, the first word of a `cmd` may be a short name for an image.

use std::collections::BTreeMap;

/// The table of image aliases. ACR's runner maps a few names to Microsoft Container Registry
/// images; the table is configurable because offline or private setups need their own images.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageAliases {
    map: BTreeMap<String, String>,
}

impl Default for ImageAliases {
    /// ACR's Linux defaults. ACR's runner bumps the pinned tags over time; drydock pins `acr` like
    /// ACR's docs and uses `latest` for the rest. Override any of them with `--image-alias`.
    fn default() -> Self {
        let pairs = [
            ("acr", "mcr.microsoft.com/acr/acr-cli:0.19"),
            ("az", "mcr.microsoft.com/acr/azure-cli:latest"),
            ("bash", "mcr.microsoft.com/acr/bash:latest"),
            ("curl", "mcr.microsoft.com/acr/curl:latest"),
            ("cssc", "mcr.microsoft.com/acr/cssc:latest"),
        ];
        ImageAliases { map: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }
}

impl ImageAliases {
    /// An empty table (no aliases at all).
    pub fn none() -> Self {
        ImageAliases { map: BTreeMap::new() }
    }

    /// The image for `word`, if it is an alias.
    pub fn expand(&self, word: &str) -> Option<&str> {
        self.map.get(word).map(String::as_str)
    }

    /// Adds or replaces aliases from `name=image` strings.
    pub fn with_overrides<'a>(mut self, overrides: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        for o in overrides {
            let (name, image) = o
                .split_once('=')
                .filter(|(n, i)| !n.is_empty() && !i.is_empty())
                .ok_or_else(|| format!("image alias `{o}` is not name=image"))?;
            self.map.insert(name.to_string(), image.to_string());
        }
        Ok(self)
    }

    /// The table, for documentation and `--output json`.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let t = ImageAliases::default().with_overrides(["bash=busybox:latest"]).unwrap();
        assert_eq!(t.expand("bash"), Some("busybox:latest"));
        assert_eq!(t.expand("acr"), Some("mcr.microsoft.com/acr/acr-cli:0.19"));
        assert_eq!(t.expand("busybox"), None);
        assert!(ImageAliases::none().with_overrides(["noequals"]).is_err());
    }
}
