//! `--platform` on builds: what was asked for, checked before the build (one platform, in
//! `os/arch[/variant]` form) and after it (the image's config must say the same), because the
//! classic builder on a node without the base image for that platform quietly builds the node's own.

use crate::docker::ImageInfo;

/// The value of a node's platform labels (see [`Platform::label_key`]).
pub const LABEL_VALUE: &str = "yes";
/// What a node's platform label starts with (see [`Platform::label_key`]).
pub const LABEL_PREFIX: &str = "platform:";

/// A requested platform, normalised as the OCI image spec names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    os: String,
    arch: String,
    variant: Option<String>,
}

impl Platform {
    /// Parses a comma-separated `--platform` list (`linux/amd64,linux/arm64`) in the order given,
    /// without repeats.
    pub fn parse_list(text: &str) -> Result<Vec<Platform>, String> {
        let mut all: Vec<Platform> = Vec::new();
        for part in text.split(',') {
            if part.trim().is_empty() {
                return Err(format!(
                    "--platform {text}: an empty platform in the list; write e.g. linux/amd64,linux/arm64"
                ));
            }
            let p = Platform::parse(part)?;
            if !all.contains(&p) {
                all.push(p);
            }
        }
        Ok(all)
    }

    /// Parses one `os/arch[/variant]`; a list is refused (see [`Platform::parse_list`]).
    pub fn parse(text: &str) -> Result<Platform, String> {
        let text = text.trim();
        if text.contains(',') {
            return Err(format!(
                "--platform {text}: a list of platforms is allowed only on build steps (a multi-platform image); \
                 containers run one platform: give one, e.g. --platform {}",
                text.split(',').next().unwrap_or_default().trim()
            ));
        }
        let parts: Vec<&str> = text.split('/').collect();
        let (os, arch, variant) = match parts.as_slice() {
            [os, arch] => (*os, *arch, None),
            [os, arch, variant] => (*os, *arch, Some(*variant)),
            _ => {
                return Err(format!(
                    "--platform {text}: expected os/arch[/variant], e.g. linux/amd64, linux/arm64 or linux/arm/v7"
                ));
            }
        };
        if os.is_empty() || arch.is_empty() || variant == Some("") {
            return Err(format!("--platform {text}: expected os/arch[/variant], e.g. linux/arm64"));
        }
        Ok(Platform::from_parts(os, arch, variant))
    }

    /// A platform from its parts as anyone spells them (an image config, an index entry, a
    /// request): OCI architecture names, lower case, no variant for an empty one or arm64's `v8`.
    pub fn from_parts(os: &str, arch: &str, variant: Option<&str>) -> Platform {
        let arch = normal_arch(&arch.to_ascii_lowercase());
        // arm64's only variant is v8, and images rarely say it.
        let variant = variant.map(str::to_ascii_lowercase).filter(|v| !(v.is_empty() || arch == "arm64" && v == "v8"));
        Platform { os: os.to_ascii_lowercase(), arch, variant }
    }

    /// The platform a local image's config names.
    pub fn of_image(image: &ImageInfo) -> Platform {
        Platform::from_parts(&image.os, &image.arch, Some(&image.variant))
    }

    /// Whether something of platform `other` serves a request for this one: the same os and
    /// architecture, and the same variant when this one names one.
    pub fn accepts(&self, other: &Platform) -> bool {
        self.os == other.os && self.arch == other.arch && (self.variant.is_none() || self.variant == other.variant)
    }

    /// The platform of an engine, from its `os` and `arch` as `docker info` reports them.
    pub fn native(os: &str, arch: &str) -> Platform {
        let arch = normal_arch(&arch.to_ascii_lowercase());
        // An arm engine's own variant is not in `docker info`; v7 is what arm images mostly are.
        let variant = (arch == "arm").then(|| "v7".to_string());
        Platform { os: os.to_ascii_lowercase(), arch, variant }
    }

    /// The node label that says a node runs this platform: `platform:linux/arm64`.
    pub fn label_key(&self) -> String {
        format!("{LABEL_PREFIX}{self}")
    }

    /// OS, e.g. `linux`.
    pub fn os(&self) -> &str {
        &self.os
    }

    /// OCI architecture, e.g. `arm64`.
    pub fn arch(&self) -> &str {
        &self.arch
    }

    /// Variant, e.g. `v7`.
    pub fn variant(&self) -> Option<&str> {
        self.variant.as_deref()
    }

    /// The `TARGET*` build arguments Docker's documentation defines for a build of this platform.
    pub fn build_args(&self) -> Vec<(String, String)> {
        vec![
            ("TARGETPLATFORM".into(), self.to_string()),
            ("TARGETOS".into(), self.os.clone()),
            ("TARGETARCH".into(), self.arch.clone()),
            ("TARGETVARIANT".into(), self.variant.clone().unwrap_or_default()),
        ]
    }

    /// Whether a local image is of this platform.
    pub fn matches(&self, image: &ImageInfo) -> bool {
        self.accepts(&Platform::of_image(image))
    }

    /// Whether a built image's config is of this platform; `Err` says what it is instead.
    pub fn check(&self, image: &ImageInfo) -> Result<(), String> {
        let built = Platform::of_image(image);
        if self.accepts(&built) {
            return Ok(());
        }
        Err(format!(
            "the engine built a {built} image, not the requested {self}: its base image is only present for {built} \
             on this engine (the classic builder then builds that instead). Give it a base image for {self} (a \
             multi-platform image in a registry, with `--pull`), or leave --platform out; a node that cannot run \
             {self} also needs binfmt/QEMU registered for it"
        ))
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// The OCI names of the architectures `uname -m` and others spell differently.
fn normal_arch(arch: &str) -> String {
    match arch {
        "x86_64" | "x86-64" => "amd64",
        "aarch64" => "arm64",
        "i386" | "i686" => "386",
        "armhf" | "armel" => "arm",
        other => other,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(os: &str, arch: &str, variant: &str) -> ImageInfo {
        ImageInfo {
            id: String::new(),
            repo_digests: Vec::new(),
            repo_tags: Vec::new(),
            os: os.into(),
            arch: arch.into(),
            variant: variant.into(),
        }
    }

    #[test]
    fn platforms_parse_in_oci_terms_and_several_are_refused_with_what_to_do() {
        assert_eq!(Platform::parse("linux/arm64").unwrap().to_string(), "linux/arm64");
        assert_eq!(Platform::parse("linux/aarch64/v8").unwrap().to_string(), "linux/arm64");
        assert_eq!(Platform::parse("Linux/ARM/v7").unwrap().to_string(), "linux/arm/v7");
        let several = Platform::parse("linux/amd64,linux/arm64").unwrap_err();
        assert!(several.contains("only on build steps") && several.contains("--platform linux/amd64"), "{several}");
        let list = Platform::parse_list("linux/amd64, linux/arm64,linux/aarch64,linux/arm/v7").unwrap();
        let names: Vec<String> = list.iter().map(Platform::to_string).collect();
        assert_eq!(names, ["linux/amd64", "linux/arm64", "linux/arm/v7"]);
        assert!(Platform::parse_list("linux/amd64,").unwrap_err().contains("empty platform"));
        assert_eq!(Platform::native("linux", "x86_64").to_string(), "linux/amd64");
        assert_eq!(Platform::native("linux", "aarch64").to_string(), "linux/arm64");
        assert!(Platform::parse("arm64").unwrap_err().contains("os/arch[/variant]"));
        assert!(Platform::parse("linux/").is_err());
    }

    #[test]
    fn a_built_image_must_say_the_requested_platform() {
        let arm64 = Platform::parse("linux/arm64").unwrap();
        assert!(arm64.check(&image("linux", "arm64", "")).is_ok());
        assert!(arm64.check(&image("linux", "arm64", "v8")).is_ok());
        let wrong = arm64.check(&image("linux", "amd64", "")).unwrap_err();
        assert!(wrong.starts_with("the engine built a linux/amd64 image, not the requested linux/arm64"), "{wrong}");
        let v7 = Platform::parse("linux/arm/v7").unwrap();
        assert!(v7.check(&image("linux", "arm", "v7")).is_ok());
        assert!(v7.check(&image("linux", "arm", "v6")).is_err());
        assert!(Platform::parse("linux/arm").unwrap().check(&image("linux", "arm", "v6")).is_ok());
    }
}
