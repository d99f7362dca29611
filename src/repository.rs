//! Git repository identity: the one form in which a task's context URL, a webhook's repository
//! URLs and the poller's targets are compared, so that `https://GitHub.com/o/r.git` and
//! `git@github.com:o/r` are one repository.

/// The form repository URLs are compared in: `host[:port]/path`, without scheme, user,
/// trailing `/` or `.git`, the host in lower case. `https://GitHub.com/o/r.git`,
/// `git@github.com:o/r` and `ssh://git@github.com/o/r/` are all `github.com/o/r`.
pub fn normalize(url: &str) -> String {
    let url = url.trim();
    let url = url.split('#').next().unwrap_or_default();
    let (rest, scp_like) = match url.split_once("://") {
        Some((_, rest)) => (rest, false),
        // `user@host:path` (scp-like SSH).
        None => (url, true),
    };
    let (authority, path) = if scp_like {
        match rest.split_once(':') {
            Some((host, path)) if !host.contains('/') => (host, path),
            _ => rest.split_once('/').unwrap_or((rest, "")),
        }
    } else {
        rest.split_once('/').unwrap_or((rest, ""))
    };
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h).to_ascii_lowercase();
    // The default SSH port says nothing about which repository it is.
    let host = host.strip_suffix(":22").map(str::to_string).unwrap_or(host);
    let mut path = path.trim_matches('/').to_string();
    while let Some(p) = path.strip_suffix(".git").or_else(|| path.strip_suffix('/')) {
        path = p.to_string();
    }
    format!("{host}/{path}")
}

/// A task's git context: its repository (as written and normalised) and `#ref`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitContext {
    /// URL without the fragment.
    pub url: String,
    /// [`normalize`]`(url)`.
    pub key: String,
    /// The `#ref` of the context, if any.
    pub reference: Option<String>,
}

/// The git repository of a task's context string (`https://host/repo.git#ref:dir`), if it names one.
pub fn git_context(context: &str) -> Option<GitContext> {
    match crate::buildargs::classify(context) {
        crate::buildargs::ContextSource::Git { url, reference, .. } => {
            Some(GitContext { key: normalize(&url), url, reference })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_urls_of_one_repository_compare_equal() {
        let key = "github.com/octo/app";
        for u in [
            "https://github.com/octo/app.git",
            "https://GitHub.com/octo/app",
            "HTTPS://github.com/octo/app/",
            "git@github.com:octo/app.git",
            "ssh://git@github.com/octo/app.git",
            "ssh://git@github.com:22/octo/app",
            "https://user:token@github.com/octo/app.git#main:src",
            "git://github.com/octo/app.git",
        ] {
            assert_eq!(normalize(u), key, "{u}");
        }
        assert_ne!(normalize("https://github.com/octo/app2"), key);
        assert_eq!(normalize("git://127.0.0.1:9418/r.git"), "127.0.0.1:9418/r");
        assert_eq!(normalize("https://gitlab.example.com/group/sub/proj.git"), "gitlab.example.com/group/sub/proj");
    }
}
