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

/// A URL's user info taken apart: (URL without it, user name, password). Empty parts are none.
pub fn split_userinfo(url: &str) -> (String, Option<String>, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else { return (url.to_string(), None, None) };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return (url.to_string(), None, None) };
    let clean = format!("{scheme}://{}", &rest[at + 1..]);
    let (user, password) = match rest[..at].split_once(':') {
        Some((user, password)) => (user, Some(password.to_string())),
        None => (&rest[..at], None),
    };
    let user = (!user.is_empty()).then(|| user.to_string());
    (clean, user, password.filter(|p| !p.is_empty()))
}

/// Lifts the secret out of a context URL so the rest can be stored and shown as it is:
/// `https://user:token@host/r.git#main` gives `https://user@host/r.git#main` and `token`. Over
/// HTTP(S) a lone `https://token@host/…` is a token too (GitHub's form); over SSH a lone user
/// name (`ssh://git@host/…`) is only a user name and stays.
pub fn lift_credential(url: &str) -> (String, Option<String>) {
    let (clean, user, password) = split_userinfo(url);
    if let Some(password) = password {
        let kept = match user {
            Some(user) => clean.replacen("://", &format!("://{user}@"), 1),
            None => clean,
        };
        return (kept, Some(password));
    }
    let http = url.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        || url.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("http://"));
    match user {
        Some(token) if http => (clean, Some(token)),
        _ => (url.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_lifted_out_of_context_urls() {
        let lift = |u: &str| {
            let (url, secret) = lift_credential(u);
            (url, secret.unwrap_or_default())
        };
        assert_eq!(
            lift("https://me:tok@host.example/r.git#main:src"),
            ("https://me@host.example/r.git#main:src".into(), "tok".into())
        );
        assert_eq!(lift("https://ghp_x@github.com/o/r.git"), ("https://github.com/o/r.git".into(), "ghp_x".into()));
        assert_eq!(lift("HTTP://:only-pw@h/r"), ("HTTP://h/r".into(), "only-pw".into()));
        assert_eq!(lift("ssh://git@github.com/o/r.git"), ("ssh://git@github.com/o/r.git".into(), String::new()));
        assert_eq!(lift("ssh://git:pw@github.com/o/r.git"), ("ssh://git@github.com/o/r.git".into(), "pw".into()));
        assert_eq!(lift("git@github.com:o/r.git"), ("git@github.com:o/r.git".into(), String::new()));
        assert_eq!(lift("https://github.com/o/r.git#a@b"), ("https://github.com/o/r.git#a@b".into(), String::new()));
        // A password may itself hold `@` and `:`: the last `@` of the authority ends it.
        assert_eq!(lift("https://u:p@ss:w@h/r"), ("https://u@h/r".into(), "p@ss:w".into()));
    }

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
