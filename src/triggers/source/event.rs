//! What drydock understands of a git event, whatever provider sent it, and the repository
//! URL form used to match events to tasks.

use crate::api::SourceEvent;
use serde::{Deserialize, Serialize};

/// A push, tag or pull request, as the receivers and the poller report it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitEvent {
    /// Commit, tag or pull request.
    pub kind: SourceEvent,
    /// Commits: the branch pushed to; pull requests: the target branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Tags: the tag name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Pull requests: the branch the changes come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_branch: Option<String>,
    /// Pull request number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<u64>,
    /// The commit to build (pull requests: the head commit).
    pub commit: String,
    /// The repository, as the provider names it for cloning.
    pub repository: String,
    /// Every URL the provider gave for the repository (clone, SSH, web).
    #[serde(default)]
    pub repository_urls: Vec<String>,
    /// The repository's default branch, when the provider said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
    /// Files the push changed; `None` when the payload does not list them (or lists only
    /// part of them), in which case path filters do not hold the event back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_files: Option<Vec<String>>,
    /// A branch or tag deletion (never fires).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// Pull requests: the changes come from another repository, whose author may be anyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork: Option<Fork>,
    /// Pull requests: the provider marks the author as the repository's owner, a member or a
    /// collaborator (GitHub's `author_association`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub author_trusted: bool,
}

/// The repository a pull request comes from, when that is not the one it targets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fork {
    /// Its name or URL, when the provider still gives one (GitHub gives none once the fork
    /// was deleted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
}

impl GitEvent {
    /// The ref part of the idempotency key: `refs/heads/<b>`, `refs/tags/<t>`, `pull/<n>`.
    pub fn run_ref(&self) -> String {
        match self.kind {
            SourceEvent::Commit => format!("refs/heads/{}", self.branch.as_deref().unwrap_or_default()),
            SourceEvent::Tag => format!("refs/tags/{}", self.tag.as_deref().unwrap_or_default()),
            SourceEvent::Pullrequest => format!("pull/{}", self.pull_request.unwrap_or_default()),
        }
    }

    /// The idempotency key of a run of `task` for this event: the same whether a webhook,
    /// a redelivery or the poller reports the commit.
    pub fn dedup_key(&self, task: &str) -> String {
        format!("src:{task}:{}:{}", self.run_ref(), self.commit)
    }

    /// What `.Run.Branch` (or `.Run.GitTag` for tags) becomes.
    pub fn run_branch(&self) -> Option<String> {
        match self.kind {
            SourceEvent::Commit => self.branch.clone(),
            SourceEvent::Tag => self.tag.clone(),
            SourceEvent::Pullrequest => self.head_branch.clone(),
        }
    }

    /// Whether any of the event's repository URLs is `key` (a `normalize_repository` form).
    pub fn is_repository(&self, key: &str) -> bool {
        std::iter::once(&self.repository).chain(&self.repository_urls).any(|u| crate::repository::normalize(u) == key)
    }
}

/// What a receiver made of a payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// An event that may start runs.
    Event(GitEvent),
    /// The provider checking the hook (GitHub `ping`): answered, never stored.
    Ping {
        /// The repository URLs the ping names.
        repository_urls: Vec<String>,
    },
    /// A well-formed event of a kind that never starts runs (a closed pull request, an issue).
    Ignored {
        /// The repository URLs it names.
        repository_urls: Vec<String>,
        /// Why it starts nothing.
        reason: String,
    },
}

impl Parsed {
    /// The repository URLs the payload names (to find the tasks it is for).
    pub fn repository_urls(&self) -> Vec<String> {
        match self {
            Parsed::Event(e) => std::iter::once(e.repository.clone()).chain(e.repository_urls.clone()).collect(),
            Parsed::Ping { repository_urls } | Parsed::Ignored { repository_urls, .. } => repository_urls.clone(),
        }
    }
}

/// Why a payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PayloadError(pub String);

/// A 40 (or 64) zero commit id: the "after" of a deleted ref.
pub fn is_zero_commit(sha: &str) -> bool {
    !sha.is_empty() && sha.bytes().all(|b| b == b'0')
}

/// Reads a JSON body.
pub fn json_body(body: &[u8]) -> Result<serde_json::Value, PayloadError> {
    serde_json::from_slice(body).map_err(|e| PayloadError(format!("the body is not JSON: {e}")))
}

/// A string at a JSON pointer (`/repository/clone_url`).
pub fn text(v: &serde_json::Value, pointer: &str) -> Option<String> {
    v.pointer(pointer).and_then(|s| s.as_str()).filter(|s| !s.is_empty()).map(str::to_string)
}

/// A required string at a JSON pointer.
pub fn need(v: &serde_json::Value, pointer: &str, what: &str) -> Result<String, PayloadError> {
    text(v, pointer).ok_or_else(|| PayloadError(format!("the payload has no {what} (`{pointer}`)")))
}

/// The strings found at several pointers (repository URLs).
pub fn texts(v: &serde_json::Value, pointers: &[&str]) -> Vec<String> {
    pointers.iter().filter_map(|p| text(v, p)).collect()
}

/// Most commits a push payload lists; a push of more lists only some of their files.
pub const LISTED_COMMITS: usize = 20;

/// Changed files of a push payload's `commits` (`added`, `modified`, `removed`); `None` when
/// there are none listed or the list may be cut short (`total` commits pushed, if known).
pub fn changed_files(v: &serde_json::Value, total: Option<u64>) -> Option<Vec<String>> {
    let commits = v.get("commits")?.as_array()?;
    let complete = match total {
        Some(t) => t as usize == commits.len(),
        None => commits.len() < LISTED_COMMITS,
    };
    if commits.is_empty() || !complete {
        return None;
    }
    let mut files: Vec<String> = commits
        .iter()
        .flat_map(|c| ["added", "modified", "removed"].map(|k| c.get(k)))
        .flatten()
        .filter_map(|list| list.as_array())
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect();
    files.sort();
    files.dedup();
    Some(files)
}

/// Splits `refs/heads/x` / `refs/tags/y` into the event kind and name.
pub fn split_ref(reference: &str) -> Result<(SourceEvent, String), PayloadError> {
    if let Some(b) = reference.strip_prefix("refs/heads/") {
        Ok((SourceEvent::Commit, b.to_string()))
    } else if let Some(t) = reference.strip_prefix("refs/tags/") {
        Ok((SourceEvent::Tag, t.to_string()))
    } else {
        Err(PayloadError(format!("the pushed ref `{reference}` is neither a branch nor a tag")))
    }
}

/// A push (branch or tag) event from the common fields.
pub struct Push {
    /// `refs/heads/..` or `refs/tags/..`.
    pub reference: String,
    /// The commit (the tag's commit for tags).
    pub commit: String,
    /// Whether the ref was deleted.
    pub deleted: bool,
    /// Repository URLs, the clone URL first.
    pub urls: Vec<String>,
    /// Default branch.
    pub default_branch: Option<String>,
    /// Changed files.
    pub changed_files: Option<Vec<String>>,
}

impl Push {
    /// The event.
    pub fn into_event(self) -> Result<GitEvent, PayloadError> {
        let (kind, name) = split_ref(&self.reference)?;
        let repository =
            self.urls.first().cloned().ok_or_else(|| PayloadError("the payload names no repository".into()))?;
        Ok(GitEvent {
            kind,
            branch: (kind == SourceEvent::Commit).then(|| name.clone()),
            tag: (kind == SourceEvent::Tag).then_some(name),
            head_branch: None,
            pull_request: None,
            deleted: self.deleted || is_zero_commit(&self.commit),
            commit: self.commit,
            repository,
            repository_urls: self.urls,
            default_branch: self.default_branch,
            changed_files: self.changed_files,
            fork: None,
            author_trusted: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_files_are_left_unknown_when_the_list_may_be_cut_short() {
        let v = serde_json::json!({"commits": [
            {"added": ["a.rs"], "modified": ["b.rs"], "removed": []},
            {"added": [], "modified": ["b.rs"], "removed": ["c.md"]}
        ]});
        assert_eq!(changed_files(&v, None), Some(vec!["a.rs".into(), "b.rs".into(), "c.md".into()]));
        assert_eq!(changed_files(&v, Some(5)), None);
        assert_eq!(changed_files(&serde_json::json!({"commits": []}), None), None);
        let many = serde_json::json!({"commits": vec![serde_json::json!({"added": ["x"]}); 20]});
        assert_eq!(changed_files(&many, None), None);
    }

    #[test]
    fn dedup_keys_name_the_ref_and_commit() {
        let e = Push {
            reference: "refs/heads/main".into(),
            commit: "abc".into(),
            deleted: false,
            urls: vec!["https://h/r.git".into()],
            default_branch: None,
            changed_files: None,
        }
        .into_event()
        .unwrap();
        assert_eq!(e.dedup_key("t1"), "src:t1:refs/heads/main:abc");
        let mut pr = e.clone();
        pr.kind = SourceEvent::Pullrequest;
        pr.pull_request = Some(7);
        assert_eq!(pr.dedup_key("t1"), "src:t1:pull/7:abc");
        assert!(e.is_repository("h/r"));
    }
}
