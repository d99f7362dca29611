//! Commit statuses in each git server's dialect: which server (the task's setting, the webhook's
//! provider or the repository's host), its API base URL (derived from the repository URL unless
//! the task sets one), the status URL for a commit, and the body with the state that server knows.

use super::{Moment, shown_status};
use crate::api::{CommitStatus, Run, Task};
use crate::run::RunStatus;
use serde_json::json;

/// The git servers drydock reports statuses to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forge {
    /// GitHub and GitHub Enterprise: `POST /repos/{owner}/{repo}/statuses/{sha}`.
    GitHub,
    /// GitLab: `POST /projects/{path}/statuses/{sha}`, `PRIVATE-TOKEN`.
    GitLab,
    /// Gitea and Forgejo: `POST /repos/{owner}/{repo}/statuses/{sha}`, `Authorization: token`.
    Gitea,
}

impl Forge {
    /// The stored name, as the task setting and webhooks name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Forge::GitHub => "github",
            Forge::GitLab => "gitlab",
            Forge::Gitea => "gitea",
        }
    }

    /// The forge a name stands for (`forgejo` speaks Gitea's API).
    pub fn named(name: &str) -> Option<Forge> {
        match name.trim().to_ascii_lowercase().as_str() {
            "github" => Some(Forge::GitHub),
            "gitlab" => Some(Forge::GitLab),
            "gitea" | "forgejo" => Some(Forge::Gitea),
            _ => None,
        }
    }

    fn of_host(host: &str) -> Option<Forge> {
        match host {
            "github.com" => Some(Forge::GitHub),
            "gitlab.com" => Some(Forge::GitLab),
            "codeberg.org" => Some(Forge::Gitea),
            _ => None,
        }
    }
}

/// One status to send.
pub(super) struct StatusRequest {
    /// Which server's dialect (and authorization header).
    pub provider: Forge,
    /// The state sent (`pending`, `running`, `success`, …).
    pub state: String,
    /// `{api}/…/statuses/{sha}`.
    pub url: String,
    /// The JSON body.
    pub body: String,
}

/// The status of `run` at `moment` for commit `sha` of the task's repository; an error says what
/// setting is missing.
pub(super) fn request(
    settings: &CommitStatus,
    trigger_provider: &str,
    task: &Task,
    sha: &str,
    run: &Run,
    moment: Moment,
    link: Option<&str>,
) -> Result<StatusRequest, String> {
    let repository = task
        .context
        .as_deref()
        .and_then(crate::repository::git_context)
        .ok_or_else(|| format!("task `{}` has no git context to report statuses to", task.name))?;
    let secure = !repository.url.starts_with("http://");
    let (host, path) = repository.key.split_once('/').unwrap_or((repository.key.as_str(), ""));
    let forge = match &settings.provider {
        Some(name) => Forge::named(name).ok_or_else(|| {
            format!("commit_status.provider `{name}` is not github, gitlab, gitea or forgejo; set one of those")
        })?,
        None => Forge::named(trigger_provider).or_else(|| Forge::of_host(host)).ok_or_else(|| {
            format!(
                "the repository's host {host} does not say which git server it is: set commit_status.provider \
                 (github, gitlab or gitea)"
            )
        })?,
    };
    let api = match &settings.api_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => api_base(forge, host, secure),
    };
    if path.is_empty() || (forge != Forge::GitLab && !path.contains('/')) {
        return Err(format!("cannot tell the owner and repository from `{}`", repository.url));
    }
    let url = match forge {
        Forge::GitHub | Forge::Gitea => format!("{api}/repos/{path}/statuses/{sha}"),
        Forge::GitLab => format!("{api}/projects/{}/statuses/{sha}", encode_path(path)),
    };
    let (state, description) = state_of(forge, shown_status(run, moment), run.error.as_deref());
    let context = format!("drydock/{}", task.name);
    let mut body = match forge {
        Forge::GitLab => json!({"state": state, "name": context, "description": description}),
        Forge::GitHub | Forge::Gitea => json!({"state": state, "context": context, "description": description}),
    };
    if let Some(link) = link {
        body["target_url"] = json!(link);
    }
    Ok(StatusRequest { provider: forge, state: state.to_string(), url, body: body.to_string() })
}

/// The API base a forge serves on a repository's host.
fn api_base(forge: Forge, host: &str, secure: bool) -> String {
    let scheme = if secure { "https" } else { "http" };
    match forge {
        Forge::GitHub if host == "github.com" => "https://api.github.com".to_string(),
        Forge::GitHub => format!("{scheme}://{host}/api/v3"),
        Forge::GitLab => format!("{scheme}://{host}/api/v4"),
        Forge::Gitea => format!("{scheme}://{host}/api/v1"),
    }
}

/// The state a forge knows for a run status, with a description (GitHub keeps 140 characters).
fn state_of(forge: Forge, status: RunStatus, error: Option<&str>) -> (&'static str, String) {
    let gitlab = forge == Forge::GitLab;
    let (state, what) = match status {
        RunStatus::AwaitingApproval => ("pending", "Waiting for approval"),
        RunStatus::Queued => ("pending", "Queued"),
        // GitHub and Gitea have no running state: pending says it with its description.
        RunStatus::Running => (if gitlab { "running" } else { "pending" }, "Running"),
        RunStatus::Succeeded => ("success", "Succeeded"),
        RunStatus::Failed => (if gitlab { "failed" } else { "failure" }, "Failed"),
        RunStatus::Timeout => (if gitlab { "failed" } else { "failure" }, "Timed out"),
        RunStatus::Canceled => (if gitlab { "canceled" } else { "error" }, "Canceled"),
        RunStatus::Error => (if gitlab { "failed" } else { "error" }, "Error"),
    };
    let mut description = match error.filter(|_| status.is_terminal() && status != RunStatus::Succeeded) {
        Some(e) => format!("{what}: {e}"),
        None => what.to_string(),
    };
    if description.chars().count() > 140 {
        description = description.chars().take(139).chain(['…']).collect();
    }
    (state, description)
}

/// A project path as one URL path segment (GitLab's `group%2Fproject`).
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() * 3);
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_bases_follow_each_forge() {
        assert_eq!(api_base(Forge::GitHub, "github.com", true), "https://api.github.com");
        assert_eq!(api_base(Forge::GitHub, "ghe.corp", true), "https://ghe.corp/api/v3");
        assert_eq!(api_base(Forge::GitLab, "gitlab.corp:8443", true), "https://gitlab.corp:8443/api/v4");
        assert_eq!(api_base(Forge::Gitea, "git.home", false), "http://git.home/api/v1");
        assert_eq!(encode_path("group/sub/app.x"), "group%2Fsub%2Fapp.x");
    }

    #[test]
    fn states_are_the_ones_each_forge_knows() {
        assert_eq!(state_of(Forge::GitHub, RunStatus::Running, None).0, "pending");
        assert_eq!(state_of(Forge::GitLab, RunStatus::Running, None).0, "running");
        assert_eq!(state_of(Forge::GitLab, RunStatus::Failed, None).0, "failed");
        assert_eq!(state_of(Forge::Gitea, RunStatus::Failed, None).0, "failure");
        assert_eq!(state_of(Forge::GitLab, RunStatus::Canceled, None).0, "canceled");
        let (_, long) = state_of(Forge::GitHub, RunStatus::Error, Some(&"x".repeat(300)));
        assert_eq!(long.chars().count(), 140);
    }
}
