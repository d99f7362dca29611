//! Where a build context comes from, using ACR's rules for telling Git repositories,
//! tarballs and OCI artifacts from local paths.

/// The kind of a build context argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextSource {
    /// A local directory (relative to the step's working directory) or `/dev/null`.
    Local(String),
    /// A Git repository, optionally at a branch/tag/commit and inside a subfolder.
    Git {
        /// Repository URL without the `#…` fragment.
        url: String,
        /// Branch, tag or commit from `#ref`; `None` means the default branch.
        reference: Option<String>,
        /// Subfolder from `#ref:subdir`; `None` means the repository root.
        subdir: Option<String>,
    },
    /// An HTTP(S) URL of a (possibly compressed) tar archive.
    Tarball(String),
    /// An OCI artifact reference, without the `oci://` scheme.
    Oci(String),
}

/// Classifies a context argument the way ACR does: `oci://` → artifact; a Git URL
/// (ends with `.git`, optionally followed by `#ref[:subdir]`; starts with `git@` or
/// `git://`; or an Azure DevOps `dev.azure.com/…/_git/…` or `*.visualstudio.com/…/_git/…`
/// URL) → Git; any other `http(s)://` URL → tarball; everything else → local path.
pub fn classify(context: &str) -> ContextSource {
    if let Some(reference) = context.strip_prefix("oci://") {
        return ContextSource::Oci(reference.to_string());
    }
    let (base, fragment) = match context.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (context, None),
    };
    let is_git =
        base.starts_with("git@") || base.starts_with("git://") || base.ends_with(".git") || is_azure_devops(base);
    if is_git {
        // `#:subdir` keeps the default branch; `#ref` has no subfolder.
        let (reference, subdir) = match fragment.map(|f| f.split_once(':').unwrap_or((f, ""))) {
            Some((r, s)) => (non_empty(r), non_empty(s)),
            None => (None, None),
        };
        return ContextSource::Git { url: base.to_string(), reference, subdir };
    }
    let lower = context.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return ContextSource::Tarball(context.to_string());
    }
    ContextSource::Local(context.to_string())
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// Azure Repos URLs are Git repositories even without a `.git` suffix.
fn is_azure_devops(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let without_scheme = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://")).unwrap_or(&lower);
    let (authority, path) = without_scheme.split_once('/').unwrap_or((without_scheme, ""));
    // Drop `user@` (Azure DevOps clone URLs carry the organisation there).
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = host.split(':').next().unwrap_or(host);
    let azure_host = host == "dev.azure.com" || host.ends_with(".visualstudio.com");
    azure_host && format!("/{path}").contains("/_git/")
}
