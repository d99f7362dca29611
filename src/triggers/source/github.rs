//! GitHub payloads: `push` (branches and tags), `pull_request` (opened, synchronize, reopened)
//! and `ping`.

use super::event::{Fork, GitEvent, Parsed, PayloadError, Push, changed_files, json_body, need, text, texts};
use crate::api::SourceEvent;

const REPOSITORY_URLS: [&str; 4] =
    ["/repository/clone_url", "/repository/ssh_url", "/repository/html_url", "/repository/git_url"];

/// Reads a delivery of event `event` (`X-GitHub-Event`).
pub fn parse(event: &str, body: &[u8]) -> Result<Parsed, PayloadError> {
    let v = json_body(body)?;
    let urls = texts(&v, &REPOSITORY_URLS);
    match event {
        "ping" => Ok(Parsed::Ping { repository_urls: urls }),
        "push" => {
            let reference = need(&v, "/ref", "ref")?;
            let after = need(&v, "/after", "pushed commit (`after`)")?;
            let deleted = v.get("deleted").and_then(|d| d.as_bool()).unwrap_or(false);
            // For an annotated tag `after` is the tag object; the build wants its commit.
            let commit = if deleted { after } else { text(&v, "/head_commit/id").unwrap_or(after) };
            let push = Push {
                reference,
                commit,
                deleted,
                urls,
                default_branch: text(&v, "/repository/default_branch"),
                changed_files: changed_files(&v, None),
            };
            Ok(Parsed::Event(push.into_event()?))
        }
        "pull_request" => {
            let action = text(&v, "/action").unwrap_or_default();
            if !matches!(action.as_str(), "opened" | "synchronize" | "reopened") {
                return Ok(Parsed::Ignored {
                    repository_urls: urls,
                    reason: format!(
                        "pull request action `{action}` does not start runs (opened, synchronize and reopened do)"
                    ),
                });
            }
            pull_request(&v, urls).map(Parsed::Event)
        }
        other => Ok(Parsed::Ignored {
            repository_urls: urls,
            reason: format!("GitHub event `{other}` does not start runs; send push and pull_request events"),
        }),
    }
}

/// The pull-request fields GitHub and Gitea share.
pub(super) fn pull_request(v: &serde_json::Value, urls: Vec<String>) -> Result<GitEvent, PayloadError> {
    let number = v
        .pointer("/number")
        .or_else(|| v.pointer("/pull_request/number"))
        .and_then(|n| n.as_u64())
        .ok_or_else(|| PayloadError("the pull request has no number".into()))?;
    let repository = urls.first().cloned().ok_or_else(|| PayloadError("the payload names no repository".into()))?;
    Ok(GitEvent {
        kind: SourceEvent::Pullrequest,
        branch: Some(need(v, "/pull_request/base/ref", "target branch")?),
        tag: None,
        head_branch: text(v, "/pull_request/head/ref"),
        pull_request: Some(number),
        commit: need(v, "/pull_request/head/sha", "head commit")?,
        repository,
        repository_urls: urls,
        default_branch: text(v, "/repository/default_branch"),
        changed_files: None,
        deleted: false,
        fork: fork_of(v),
        author_trusted: matches!(
            text(v, "/pull_request/author_association").as_deref(),
            Some("OWNER" | "MEMBER" | "COLLABORATOR")
        ),
    })
}

/// A pull request whose head lives in another repository than its base: GitHub's and Gitea's
/// `head.repo` names a different repository, or is null because the fork was deleted.
fn fork_of(v: &serde_json::Value) -> Option<Fork> {
    let head = v.pointer("/pull_request/head/repo")?;
    if head.is_null() {
        return Some(Fork { repository: None });
    }
    let name = |r: &serde_json::Value| r.get("full_name").and_then(|n| n.as_str()).map(str::to_ascii_lowercase);
    let base = v.pointer("/pull_request/base/repo").or_else(|| v.get("repository"))?;
    let (head_name, base_name) = (name(head), name(base));
    let id = |r: &serde_json::Value| r.get("id").and_then(|n| n.as_u64());
    let differs = match (head_name.as_ref(), base_name.as_ref()) {
        (Some(h), Some(b)) => h != b,
        _ => matches!((id(head), id(base)), (Some(h), Some(b)) if h != b),
    };
    differs.then(|| Fork {
        repository: head
            .get("full_name")
            .or_else(|| head.get("clone_url"))
            .and_then(|n| n.as_str())
            .map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn repo() -> serde_json::Value {
        json!({"clone_url": "https://github.com/o/r.git", "ssh_url": "git@github.com:o/r.git",
               "html_url": "https://github.com/o/r", "default_branch": "main"})
    }

    fn event(e: &str, v: serde_json::Value) -> Parsed {
        parse(e, v.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn a_push_names_branch_commit_and_files() {
        let p = event(
            "push",
            json!({"ref": "refs/heads/dev", "after": "a1", "head_commit": {"id": "a1"},
            "repository": repo(), "commits": [{"added": ["src/x.rs"], "modified": [], "removed": ["old.md"]}]}),
        );
        let Parsed::Event(e) = p else { panic!("{p:?}") };
        assert_eq!(e.kind, SourceEvent::Commit);
        assert_eq!(e.branch.as_deref(), Some("dev"));
        assert_eq!(e.commit, "a1");
        assert_eq!(e.repository, "https://github.com/o/r.git");
        assert_eq!(e.default_branch.as_deref(), Some("main"));
        assert_eq!(e.changed_files, Some(vec!["old.md".into(), "src/x.rs".into()]));
        assert!(e.is_repository("github.com/o/r"));
    }

    #[test]
    fn tags_use_the_tagged_commit_and_deletions_are_marked() {
        let Parsed::Event(t) = event(
            "push",
            json!({"ref": "refs/tags/v1", "after": "tagobj",
            "head_commit": {"id": "c0ffee"}, "repository": repo()}),
        ) else {
            panic!()
        };
        assert_eq!((t.kind, t.tag.as_deref(), t.commit.as_str()), (SourceEvent::Tag, Some("v1"), "c0ffee"));
        let Parsed::Event(d) = event(
            "push",
            json!({"ref": "refs/heads/old", "deleted": true,
            "after": "0000000000000000000000000000000000000000", "head_commit": null, "repository": repo()}),
        ) else {
            panic!()
        };
        assert!(d.deleted);
    }

    #[test]
    fn pull_requests_fire_on_new_code_only() {
        let pr = |action: &str| {
            event(
                "pull_request",
                json!({"action": action, "number": 12, "repository": repo(),
            "pull_request": {"head": {"sha": "feed", "ref": "topic"}, "base": {"ref": "main"}}}),
            )
        };
        let Parsed::Event(e) = pr("synchronize") else { panic!() };
        assert_eq!(
            (e.pull_request, e.commit.as_str(), e.branch.as_deref(), e.head_branch.as_deref()),
            (Some(12), "feed", Some("main"), Some("topic"))
        );
        assert_eq!(e.dedup_key("t"), "src:t:pull/12:feed");
        assert!(matches!(pr("closed"), Parsed::Ignored { reason, .. } if reason.contains("`closed`")));
    }

    #[test]
    fn pings_and_other_events_are_recognised() {
        assert!(matches!(event("ping", json!({"zen": "hi", "repository": repo()})), Parsed::Ping { .. }));
        assert!(matches!(event("issues", json!({"repository": repo()})), Parsed::Ignored { .. }));
        assert!(parse("push", b"not json").unwrap_err().to_string().contains("not JSON"));
        assert!(parse("push", br#"{"repository": {}}"#).unwrap_err().to_string().contains("ref"));
    }

    #[test]
    fn a_pull_request_from_another_repository_is_a_fork() {
        let pr = |head: serde_json::Value, association: &str| {
            event(
                "pull_request",
                json!({"action": "opened", "number": 5, "repository": repo(),
                "pull_request": {"number": 5, "author_association": association,
                    "head": {"sha": "h1", "ref": "topic", "repo": head},
                    "base": {"ref": "main", "repo": {"full_name": "o/r", "id": 1}}}}),
            )
        };
        let Parsed::Event(own) = pr(json!({"full_name": "O/R", "id": 1}), "MEMBER") else { panic!() };
        assert_eq!((own.fork, own.author_trusted), (None, true));
        let Parsed::Event(fork) = pr(json!({"full_name": "stranger/r", "id": 9}), "CONTRIBUTOR") else { panic!() };
        assert_eq!(fork.fork, Some(Fork { repository: Some("stranger/r".into()) }));
        assert!(!fork.author_trusted);
        // The fork was deleted: GitHub sends `head.repo: null`.
        let Parsed::Event(gone) = pr(serde_json::Value::Null, "NONE") else { panic!() };
        assert_eq!(gone.fork, Some(Fork { repository: None }));
    }
}
