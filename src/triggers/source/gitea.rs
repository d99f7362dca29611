//! Gitea and Forgejo payloads: `push` (branches and tags) and `pull_request` (opened,
//! synchronized, reopened); their shape follows GitHub's.

use super::event::{Parsed, PayloadError, Push, changed_files, json_body, need, text, texts};

const REPOSITORY_URLS: [&str; 3] = ["/repository/clone_url", "/repository/ssh_url", "/repository/html_url"];

/// Reads a delivery of event `event` (`X-Gitea-Event` / `X-Forgejo-Event`).
pub fn parse(event: &str, body: &[u8]) -> Result<Parsed, PayloadError> {
    let v = json_body(body)?;
    let urls = texts(&v, &REPOSITORY_URLS);
    match event {
        "push" => {
            let after = need(&v, "/after", "pushed commit (`after`)")?;
            let push = Push {
                reference: need(&v, "/ref", "ref")?,
                commit: text(&v, "/head_commit/id").filter(|_| !super::event::is_zero_commit(&after)).unwrap_or(after),
                deleted: false,
                urls,
                default_branch: text(&v, "/repository/default_branch"),
                changed_files: changed_files(&v, v.get("total_commits").and_then(|n| n.as_u64())),
            };
            Ok(Parsed::Event(push.into_event()?))
        }
        "pull_request" => {
            let action = text(&v, "/action").unwrap_or_default();
            if !matches!(action.as_str(), "opened" | "synchronized" | "synchronize" | "reopened") {
                return Ok(Parsed::Ignored {
                    repository_urls: urls,
                    reason: format!(
                        "pull request action `{action}` does not start runs (opened, synchronized and reopened do)"
                    ),
                });
            }
            super::github::pull_request(&v, urls).map(Parsed::Event)
        }
        other => Ok(Parsed::Ignored {
            repository_urls: urls,
            reason: format!("Gitea event `{other}` does not start runs; send push and pull request events"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::SourceEvent;
    use serde_json::json;

    #[test]
    fn pushes_and_pull_requests() {
        let repo =
            json!({"clone_url": "https://gitea.example.com/o/r.git", "ssh_url": "git@gitea.example.com:o/r.git"});
        let body = json!({"ref": "refs/heads/main", "after": "e5", "repository": repo,
            "commits": [{"added": ["a"], "modified": [], "removed": []}]});
        let Parsed::Event(e) = parse("push", body.to_string().as_bytes()).unwrap() else { panic!() };
        assert_eq!(
            (e.kind, e.commit.as_str(), e.changed_files.clone()),
            (SourceEvent::Commit, "e5", Some(vec!["a".into()]))
        );
        let pr = json!({"action": "synchronized", "number": 3, "repository": repo,
            "pull_request": {"head": {"sha": "f6", "ref": "topic"}, "base": {"ref": "main"}}});
        let Parsed::Event(p) = parse("pull_request", pr.to_string().as_bytes()).unwrap() else { panic!() };
        assert_eq!((p.pull_request, p.commit.as_str()), (Some(3), "f6"));
        let closed = json!({"action": "closed", "number": 3, "repository": repo});
        assert!(matches!(parse("pull_request", closed.to_string().as_bytes()).unwrap(), Parsed::Ignored { .. }));
    }

    #[test]
    fn a_pull_request_from_another_repository_is_a_fork() {
        let repo = json!({"clone_url": "https://gitea.example.com/o/r.git", "full_name": "o/r", "id": 3});
        let pr = |head: serde_json::Value| {
            let body = json!({"action": "opened", "number": 2, "repository": repo,
                "pull_request": {"number": 2, "head": {"sha": "c1", "ref": "topic", "repo": head, "repo_id": 4},
                                 "base": {"ref": "main", "repo": repo, "repo_id": 3}}});
            parse("pull_request", body.to_string().as_bytes()).unwrap()
        };
        let Parsed::Event(own) = pr(repo.clone()) else { panic!() };
        assert_eq!(own.fork, None);
        let Parsed::Event(fork) = pr(json!({"full_name": "someone/r", "id": 4})) else { panic!() };
        assert_eq!(fork.fork.and_then(|f| f.repository).as_deref(), Some("someone/r"));
    }
}
