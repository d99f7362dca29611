//! GitLab payloads: `Push Hook`, `Tag Push Hook` and `Merge Request Hook` (open, reopen, and
//! update with new commits).

use super::event::{Fork, GitEvent, Parsed, PayloadError, Push, changed_files, json_body, need, text, texts};
use crate::api::SourceEvent;

const REPOSITORY_URLS: [&str; 6] = [
    "/project/git_http_url",
    "/project/git_ssh_url",
    "/project/web_url",
    "/repository/git_http_url",
    "/repository/git_ssh_url",
    "/repository/homepage",
];

/// Reads a delivery of event `event` (`X-Gitlab-Event`).
pub fn parse(event: &str, body: &[u8]) -> Result<Parsed, PayloadError> {
    let v = json_body(body)?;
    let urls = texts(&v, &REPOSITORY_URLS);
    match event {
        "Push Hook" | "Tag Push Hook" => {
            let reference = need(&v, "/ref", "ref")?;
            let after = need(&v, "/after", "pushed commit (`after`)")?;
            // `checkout_sha` is the commit (tags: the tagged commit); it is null on deletion.
            let checkout = text(&v, "/checkout_sha");
            let deleted = checkout.is_none() && super::event::is_zero_commit(&after);
            let push = Push {
                reference,
                commit: checkout.unwrap_or(after),
                deleted,
                urls,
                default_branch: text(&v, "/project/default_branch"),
                changed_files: changed_files(&v, v.get("total_commits_count").and_then(|n| n.as_u64())),
            };
            Ok(Parsed::Event(push.into_event()?))
        }
        "Merge Request Hook" => {
            let action = text(&v, "/object_attributes/action").unwrap_or_default();
            let new_code = match action.as_str() {
                "open" | "reopen" => true,
                // An update without `oldrev` changed the title, labels or the like, not the code.
                "update" => v.pointer("/object_attributes/oldrev").is_some_and(|o| o.is_string()),
                _ => false,
            };
            if !new_code {
                return Ok(Parsed::Ignored {
                    repository_urls: urls,
                    reason: format!(
                        "merge request action `{action}` does not start runs (open, reopen and update with new commits do)"
                    ),
                });
            }
            let repository =
                urls.first().cloned().ok_or_else(|| PayloadError("the payload names no repository".into()))?;
            Ok(Parsed::Event(GitEvent {
                kind: SourceEvent::Pullrequest,
                branch: Some(need(&v, "/object_attributes/target_branch", "target branch")?),
                tag: None,
                head_branch: text(&v, "/object_attributes/source_branch"),
                pull_request: v.pointer("/object_attributes/iid").and_then(|n| n.as_u64()),
                commit: need(&v, "/object_attributes/last_commit/id", "head commit")?,
                repository,
                repository_urls: urls,
                default_branch: text(&v, "/project/default_branch"),
                changed_files: None,
                deleted: false,
                fork: fork_of(&v),
                author_trusted: false,
            }))
        }
        other => Ok(Parsed::Ignored {
            repository_urls: urls,
            reason: format!(
                "GitLab event `{other}` does not start runs; enable push, tag push and merge request events"
            ),
        }),
    }
}

/// A merge request from another project (a fork): its source and target projects differ.
fn fork_of(v: &serde_json::Value) -> Option<Fork> {
    let id = |p: &str| v.pointer(p).and_then(|n| n.as_u64());
    let (source, target) = (id("/object_attributes/source_project_id")?, id("/object_attributes/target_project_id")?);
    (source != target).then(|| Fork {
        repository: text(v, "/object_attributes/source/git_http_url")
            .or_else(|| text(v, "/object_attributes/source/path_with_namespace")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn project() -> serde_json::Value {
        json!({"git_http_url": "https://gitlab.example.com/g/p.git", "git_ssh_url": "git@gitlab.example.com:g/p.git",
               "web_url": "https://gitlab.example.com/g/p", "default_branch": "main"})
    }

    fn event(e: &str, v: serde_json::Value) -> Parsed {
        parse(e, v.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn pushes_and_tag_pushes() {
        let Parsed::Event(e) = event(
            "Push Hook",
            json!({"ref": "refs/heads/main", "after": "b2", "checkout_sha": "b2",
            "project": project(), "total_commits_count": 1, "commits": [{"added": [], "modified": ["a"], "removed": []}]}),
        ) else {
            panic!()
        };
        assert_eq!((e.kind, e.branch.as_deref(), e.commit.as_str()), (SourceEvent::Commit, Some("main"), "b2"));
        assert_eq!(e.changed_files, Some(vec!["a".into()]));
        assert!(e.is_repository("gitlab.example.com/g/p"));
        let Parsed::Event(t) = event(
            "Tag Push Hook",
            json!({"ref": "refs/tags/v2", "after": "tagobj",
            "checkout_sha": "c3", "project": project()}),
        ) else {
            panic!()
        };
        assert_eq!((t.kind, t.tag.as_deref(), t.commit.as_str()), (SourceEvent::Tag, Some("v2"), "c3"));
        let Parsed::Event(d) = event(
            "Push Hook",
            json!({"ref": "refs/heads/x", "checkout_sha": null,
            "after": "0000000000000000000000000000000000000000", "project": project()}),
        ) else {
            panic!()
        };
        assert!(d.deleted);
    }

    #[test]
    fn merge_requests_fire_when_code_changes() {
        let mr = |action: &str, oldrev: Option<&str>| {
            event(
                "Merge Request Hook",
                json!({"project": project(), "object_attributes": {"iid": 4,
                "action": action, "oldrev": oldrev, "source_branch": "topic", "target_branch": "main",
                "last_commit": {"id": "d4"}}}),
            )
        };
        let Parsed::Event(e) = mr("open", None) else { panic!() };
        assert_eq!((e.pull_request, e.commit.as_str(), e.branch.as_deref()), (Some(4), "d4", Some("main")));
        assert!(matches!(mr("update", Some("c3")), Parsed::Event(_)));
        assert!(matches!(mr("update", None), Parsed::Ignored { .. }));
        assert!(matches!(mr("merge", None), Parsed::Ignored { .. }));
        assert!(matches!(event("Issue Hook", json!({"project": project()})), Parsed::Ignored { .. }));
    }

    #[test]
    fn a_merge_request_from_another_project_is_a_fork() {
        let mr = |source_project: u64| {
            event(
                "Merge Request Hook",
                json!({"project": project(), "object_attributes": {"iid": 4, "action": "open",
                "source_branch": "topic", "target_branch": "main", "last_commit": {"id": "d4"},
                "source_project_id": source_project, "target_project_id": 10,
                "source": {"git_http_url": "https://gitlab.example.com/stranger/p.git"}}}),
            )
        };
        let Parsed::Event(own) = mr(10) else { panic!() };
        assert_eq!(own.fork, None);
        let Parsed::Event(fork) = mr(77) else { panic!() };
        assert_eq!(fork.fork.and_then(|f| f.repository).as_deref(), Some("https://gitlab.example.com/stranger/p.git"));
    }
}
