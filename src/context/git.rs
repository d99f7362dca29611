//! Git build contexts (`https://host/repo.git#ref:subdir`), fetched with libgit2.
//!
//! Only what the build needs is fetched: a branch or tag with depth 1; a full commit sha
//! directly with depth 1 when the server allows fetching by id (GitHub and GitLab do),
//! else all branches and tags in full, then the commit is looked up; no ref means the
//! remote's default branch. The commit is checked out detached; submodules are updated
//! recursively. Everything blocks: call [`fetch`] from `spawn_blocking`.

use std::cell::Cell;
use std::path::{Component, Path, PathBuf};

use git2::{
    AutotagOption, CredentialType, Direction, ErrorClass, ErrorCode, FetchOptions, Oid, RemoteCallbacks, Repository,
};

use super::ContextError;
use super::error::redact_url;
use crate::repository::split_userinfo;
use crate::secrets::{Masker, Secret};

/// A git context as given on a build step.
#[derive(Debug, Clone, Default)]
pub struct GitSpec {
    /// Repository URL (https://, http:// or git://).
    pub url: String,
    /// Branch, tag, full ref (`refs/...`) or commit sha; `None` for the remote's HEAD.
    pub reference: Option<String>,
    /// Directory inside the repository that is the build context.
    pub subdir: Option<String>,
    /// Access token for private repositories (sent as HTTP basic auth).
    pub token: Option<Secret>,
    /// Where the server keeps a pull request's head (`refs/pull/7/head`), fetched when the commit
    /// is on no branch (a fork's), before falling back to every branch and tag.
    pub pull_ref: Option<String>,
}

/// A finished checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitCheckout {
    /// The build context directory: `dest`, or `dest/subdir`.
    pub root: PathBuf,
    /// The commit checked out (40 hex digits).
    pub commit: String,
    /// The branch, when the reference was a branch (or the default branch).
    pub branch: Option<String>,
}

/// Deepest submodule nesting followed; real projects use one or two levels.
const MAX_SUBMODULE_DEPTH: usize = 8;

/// Fetches `spec` into `dest` (created if needed; should be empty) and checks it out.
pub fn fetch(spec: &GitSpec, dest: &Path) -> Result<GitCheckout, ContextError> {
    let auth = Auth::new(spec);
    let repo = Repository::init(dest).map_err(|e| auth.error("creating a repository for", e))?;
    // The remote gets the URL without credentials: `.git/config` may end up in the build
    // context, and submodule URLs resolved against it would carry them too.
    let mut remote = repo.remote("origin", &auth.clean_url).map_err(|e| auth.error("adding the remote", e))?;
    let reference = spec.reference.as_deref().map(str::trim).filter(|r| !r.is_empty());

    let (commit, branch) = match reference {
        Some(sha) if is_full_sha(sha) => {
            (fetch_commit(&repo, &mut remote, &auth, sha, spec.pull_ref.as_deref())?, None)
        }
        _ => fetch_ref(&repo, &mut remote, &auth, reference)?,
    };
    drop(remote);

    let object = repo.find_object(commit, None).map_err(|e| auth.error("reading the fetched commit of", e))?;
    let mut checkout = git2::build::CheckoutBuilder::new();
    checkout.force();
    repo.checkout_tree(&object, Some(&mut checkout)).map_err(|e| auth.error("checking out", e))?;
    repo.set_head_detached(commit).map_err(|e| auth.error("checking out", e))?;
    update_submodules(&repo, &auth, 0)?;

    let root = match spec.subdir.as_deref().filter(|s| !s.is_empty()) {
        Some(subdir) => context_dir(dest, subdir).map_err(|problem| ContextError::GitSubdir {
            subdir: subdir.to_string(),
            url: auth.url.clone(),
            problem,
        })?,
        None => dest.to_path_buf(),
    };
    Ok(GitCheckout { root, commit: commit.to_string(), branch })
}

/// A 40-digit hex object id.
fn is_full_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Could be an abbreviated commit id.
fn is_short_sha(s: &str) -> bool {
    (4..40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Fetches one commit by id, falling back to the pull request's ref, then to all branches and tags.
fn fetch_commit(
    repo: &Repository,
    remote: &mut git2::Remote,
    auth: &Auth,
    sha: &str,
    pull_ref: Option<&str>,
) -> Result<Oid, ContextError> {
    let oid = Oid::from_str(sha).map_err(|e| auth.error("parsing the commit id for", e))?;
    match fetch_specs(remote, auth, &[sha], Some(1)) {
        Ok(()) if repo.find_commit(oid).is_ok() => return Ok(oid),
        Err(e) if is_auth(&e) => return Err(auth.error("fetching", e)),
        Ok(()) => {}
        Err(e) => {
            tracing::debug!(url = %auth.url, "fetching the commit by id failed ({}), fetching all branches", auth.censor(e.message()))
        }
    }
    // Servers that refuse unadvertised commits still serve the pull request's head ref; its recent
    // history covers a commit the pull request has since moved past.
    if let Some(pull_ref) = pull_ref.filter(|r| r.starts_with("refs/")) {
        // Named as `fetch_everything` names it, so that the two never collide.
        let local = pull_ref.trim_start_matches("refs/");
        let spec = format!("+{pull_ref}:refs/drydock/{}", local.strip_suffix("/head").unwrap_or(local));
        match fetch_specs(remote, auth, &[&spec], Some(50)) {
            Ok(()) if repo.find_commit(oid).is_ok() => return Ok(oid),
            Err(e) if is_auth(&e) => return Err(auth.error("fetching", e)),
            Ok(()) => {
                tracing::debug!(url = %auth.url, pull_ref, "the commit is not in the pull request's recent history")
            }
            Err(e) => {
                tracing::debug!(url = %auth.url, pull_ref, "fetching the pull request's ref failed ({})", auth.censor(e.message()))
            }
        }
    }
    fetch_everything(remote, auth)?;
    repo.find_commit(oid)
        .map(|c| c.id())
        .map_err(|_| ContextError::GitRefNotFound { url: auth.url.clone(), reference: sha.into() })
}

/// Resolves a branch, tag or ref name (or the default branch) against the remote's refs,
/// fetches it shallowly, and returns its commit and branch name. An unknown name that
/// looks like an abbreviated commit id is looked up after a full fetch.
fn fetch_ref(
    repo: &Repository,
    remote: &mut git2::Remote,
    auth: &Auth,
    reference: Option<&str>,
) -> Result<(Oid, Option<String>), ContextError> {
    let (refs, default_branch) = list_remote(remote, auth)?;
    let full = match reference {
        None => Some(default_branch.ok_or_else(|| ContextError::Git {
            action: "finding the default branch of",
            url: auth.url.clone(),
            message: "the remote has no HEAD; name a branch with `#branch`".into(),
        })?),
        Some(r) => {
            let candidates = if r.starts_with("refs/") {
                vec![r.to_string()]
            } else {
                vec![format!("refs/heads/{r}"), format!("refs/tags/{r}")]
            };
            candidates.into_iter().find(|c| refs.contains(c))
        }
    };
    let Some(full) = full else {
        let r = reference.unwrap_or_default();
        if is_short_sha(r) {
            fetch_everything(remote, auth)?;
            let commit = repo
                .revparse_single(r)
                .and_then(|o| o.peel_to_commit())
                .map_err(|_| ContextError::GitRefNotFound { url: auth.url.clone(), reference: r.into() })?;
            return Ok((commit.id(), None));
        }
        return Err(ContextError::GitRefNotFound { url: auth.url.clone(), reference: r.into() });
    };
    let local = match full.strip_prefix("refs/heads/") {
        Some(branch) => format!("refs/remotes/origin/{branch}"),
        None if full.starts_with("refs/tags/") => full.clone(),
        None => format!("refs/drydock/{}", full.trim_start_matches("refs/")),
    };
    fetch_specs(remote, auth, &[&format!("+{full}:{local}")], Some(1)).map_err(|e| auth.error("fetching", e))?;
    let commit = repo
        .find_reference(&local)
        .and_then(|r| r.peel_to_commit())
        .map_err(|e| auth.error("reading the fetched ref of", e))?;
    let branch = full.strip_prefix("refs/heads/").map(str::to_string);
    Ok((commit.id(), branch))
}

/// The remote's ref names and the ref its HEAD points to.
fn list_remote(remote: &mut git2::Remote, auth: &Auth) -> Result<(Vec<String>, Option<String>), ContextError> {
    let connection = remote
        .connect_auth(Direction::Fetch, Some(auth.callbacks()), None)
        .map_err(|e| auth.error("connecting to", e))?;
    let heads = connection.list().map_err(|e| auth.error("listing the refs of", e))?;
    let names = heads.iter().map(|h| h.name().to_string()).collect();
    let default = heads.iter().find(|h| h.name() == "HEAD").and_then(|h| h.symref_target()).map(str::to_string);
    Ok((names, default))
}

/// A remote's refs and where its HEAD points, as listed without fetching anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteHeads {
    /// Ref name → object id (annotated tags also appear peeled, as `refs/tags/x^{}`).
    pub refs: Vec<(String, String)>,
    /// The ref HEAD points to (`refs/heads/main`), when the server says.
    pub default_branch: Option<String>,
}

/// Lists the refs of `spec.url` (the git poller's look at a repository). Blocks.
pub fn remote_heads(spec: &GitSpec) -> Result<RemoteHeads, ContextError> {
    let auth = Auth::new(spec);
    let mut remote =
        git2::Remote::create_detached(auth.clean_url.as_str()).map_err(|e| auth.error("adding the remote", e))?;
    let connection = remote
        .connect_auth(Direction::Fetch, Some(auth.callbacks()), None)
        .map_err(|e| auth.error("connecting to", e))?;
    let heads = connection.list().map_err(|e| auth.error("listing the refs of", e))?;
    Ok(RemoteHeads {
        refs: heads.iter().map(|h| (h.name().to_string(), h.oid().to_string())).collect(),
        default_branch: heads.iter().find(|h| h.name() == "HEAD").and_then(|h| h.symref_target()).map(str::to_string),
    })
}

/// All branches and tags, full history: the fallback that finds any reachable commit.
fn fetch_everything(remote: &mut git2::Remote, auth: &Auth) -> Result<(), ContextError> {
    // Pull and merge request heads too (GitHub `refs/pull/N/head`, GitLab
    // `refs/merge-requests/N/head`): a pull request's commit is often on no branch of the
    // repository. Servers without such refs simply match nothing.
    let specs = [
        "+refs/heads/*:refs/remotes/origin/*",
        "+refs/tags/*:refs/tags/*",
        "+refs/pull/*/head:refs/drydock/pull/*",
        "+refs/merge-requests/*/head:refs/drydock/merge-requests/*",
    ];
    fetch_specs(remote, auth, &specs, None).map_err(|e| auth.error("fetching", e))
}

fn fetch_specs(remote: &mut git2::Remote, auth: &Auth, specs: &[&str], depth: Option<i32>) -> Result<(), git2::Error> {
    let mut options = auth.fetch_options();
    if let Some(depth) = depth {
        options.depth(depth);
    }
    // Tags are fetched explicitly when needed; following them would deepen shallow fetches.
    options.download_tags(AutotagOption::None);
    remote.fetch(specs, Some(&mut options), None)
}

/// Initialises and updates submodules (recursively) when the checkout has `.gitmodules`.
fn update_submodules(repo: &Repository, auth: &Auth, depth: usize) -> Result<(), ContextError> {
    let Some(workdir) = repo.workdir() else { return Ok(()) };
    if !workdir.join(".gitmodules").exists() || depth > MAX_SUBMODULE_DEPTH {
        return Ok(());
    }
    for mut submodule in repo.submodules().map_err(|e| auth.error("reading the submodules of", e))? {
        let name = submodule.name().unwrap_or("?").to_string();
        submodule.init(false).map_err(|e| auth.error("initialising submodules of", e))?;
        // `init` writes the URL resolved against the superproject's remote into the config.
        let resolved = repo
            .config()
            .and_then(|c| c.get_string(&format!("submodule.{name}.url")))
            .map_err(|e| auth.error("reading the submodule URL in", e))?;
        // A local path or file:// URL would make the daemon copy repositories from its own
        // disk into a build context; ext:: and ssh are not supported at all.
        if !["https://", "http://", "git://"].iter().any(|s| resolved.starts_with(s)) {
            return Err(ContextError::GitSubmoduleUrl {
                name,
                url: auth.url.clone(),
                submodule_url: redact_url(&resolved),
            });
        }
        let mut options = git2::SubmoduleUpdateOptions::new();
        options.fetch(auth.fetch_options());
        submodule.update(true, Some(&mut options)).map_err(|e| auth.error("updating the submodules of", e))?;
        let nested = submodule.open().map_err(|e| auth.error("opening a submodule of", e))?;
        update_submodules(&nested, auth, depth + 1)?;
    }
    Ok(())
}

/// The context directory for `subdir`: relative, no `..`, existing, a directory, and
/// inside the checkout even after following symlinks.
fn context_dir(dest: &Path, subdir: &str) -> Result<PathBuf, String> {
    let rel = Path::new(subdir.trim_end_matches('/'));
    for component in rel.components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Err("`..` is not allowed; name a directory inside the repository".into()),
            Component::RootDir | Component::Prefix(_) => {
                return Err("must be relative to the repository root; remove the leading `/`".into());
            }
        }
    }
    let path = dest.join(rel);
    let not_found = || "does not exist at this commit; check the part after `:` in the context URL".to_string();
    let real = path.canonicalize().map_err(|_| not_found())?;
    let root = dest.canonicalize().map_err(|e| e.to_string())?;
    if !real.starts_with(&root) {
        return Err("is a symlink that leads outside the repository; use the real directory".into());
    }
    if real.starts_with(root.join(".git")) {
        return Err("is inside .git; name a directory of the checked-out files".into());
    }
    if !real.is_dir() {
        return Err("is not a directory".into());
    }
    Ok(path)
}

fn is_auth(e: &git2::Error) -> bool {
    e.code() == ErrorCode::Auth
        || (e.class() == ErrorClass::Http && (e.message().contains("401") || e.message().contains("403")))
}

/// The token and what must never be shown.
struct Auth {
    /// Redacted URL for messages.
    url: String,
    /// The URL as given, to censor it if libgit2 quotes it.
    raw_url: String,
    /// The URL without user info, for the remote.
    clean_url: String,
    host: Option<String>,
    /// User name from the URL, if any.
    username: Option<String>,
    /// `spec.token`, else a password given in the URL.
    token: Option<Secret>,
    masker: Masker,
}

impl Auth {
    fn new(spec: &GitSpec) -> Self {
        let (clean_url, username, password) = split_userinfo(&spec.url);
        let token = spec.token.clone().or(password.map(Secret::new));
        let mut masker = Masker::default();
        if let Some(token) = &token {
            masker.add(token.expose());
        }
        Auth {
            url: redact_url(&spec.url),
            raw_url: spec.url.clone(),
            clean_url,
            host: host_of(&spec.url),
            username,
            token,
            masker,
        }
    }

    /// Callbacks offering the token once, and only to the repository's own host (a
    /// submodule on another host must not receive it). libgit2 asks again after a
    /// rejected credential, forever, unless the callback gives up: it does on the second
    /// call.
    fn callbacks(&self) -> RemoteCallbacks<'_> {
        let mut callbacks = RemoteCallbacks::new();
        if let Some(token) = &self.token {
            let asked = Cell::new(false);
            callbacks.credentials(move |url, username, allowed| {
                let rejected = |msg: &str| Err(git2::Error::new(ErrorCode::Auth, ErrorClass::Http, msg));
                if asked.replace(true) {
                    return rejected("the token was rejected");
                }
                if host_of(url) != self.host {
                    return rejected("no credentials for this host");
                }
                if !allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
                    return rejected("the server does not accept a token");
                }
                // GitHub wants `x-access-token`; GitLab and Azure DevOps accept any user
                // name with a token. A user name in the URL wins.
                let user = self.username.as_deref().or(username).unwrap_or("x-access-token");
                git2::Cred::userpass_plaintext(user, token.expose())
            });
        }
        callbacks
    }

    fn fetch_options(&self) -> FetchOptions<'_> {
        let mut options = FetchOptions::new();
        options.remote_callbacks(self.callbacks());
        options
    }

    /// libgit2's message without the token (or its base64 forms) or URL credentials.
    fn censor(&self, message: &str) -> String {
        let message = message.replace(&self.raw_url, &self.url);
        self.masker.mask(&message)
    }

    fn error(&self, action: &'static str, e: git2::Error) -> ContextError {
        if is_auth(&e) {
            return ContextError::GitAuth { url: self.url.clone() };
        }
        ContextError::Git { action, url: self.url.clone(), message: self.censor(e.message()) }
    }
}

/// The host (and port) of a URL, lower-cased, without user info.
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some(host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::host_of;
    use crate::repository::split_userinfo;

    #[test]
    fn splits_credentials_off_urls() {
        let (url, user, password) = split_userinfo("https://me:tok@host.example:8443/r.git?x=1");
        assert_eq!(
            (url.as_str(), user.as_deref(), password.as_deref()),
            ("https://host.example:8443/r.git?x=1", Some("me"), Some("tok"))
        );
        assert_eq!(split_userinfo("https://host/a@b.git"), ("https://host/a@b.git".into(), None, None));
        assert_eq!(split_userinfo("https://tok@host/r.git"), ("https://host/r.git".into(), Some("tok".into()), None));
        assert_eq!(host_of("https://me:tok@Host.Example:8443/r.git").as_deref(), Some("host.example:8443"));
    }
}
