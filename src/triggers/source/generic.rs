//! The generic receiver's payload, for git servers without a supported webhook format (or CI
//! scripts): `{"ref", "commit", "repository"?, "event"?, "pull_request"?, "changed_files"?,
//! "fork"?, "head_repository"?}`.

use super::event::{GitEvent, Parsed, PayloadError, json_body, need, split_ref, text};
use crate::api::SourceEvent;

/// Reads a generic delivery; `task_repository` stands in when the payload names none.
pub fn parse(body: &[u8], task_repository: &str) -> Result<Parsed, PayloadError> {
    let v = json_body(body)?;
    let reference = need(&v, "/ref", "ref")?;
    let commit = need(&v, "/commit", "commit")?;
    if !commit.bytes().all(|b| b.is_ascii_hexdigit()) || !(7..=64).contains(&commit.len()) {
        return Err(PayloadError(format!("`commit` must be a commit id (hex), not `{commit}`")));
    }
    let repository = text(&v, "/repository").unwrap_or_else(|| task_repository.to_string());
    let event = match text(&v, "/event").as_deref() {
        None => None,
        Some("commit") => Some(SourceEvent::Commit),
        Some("tag") => Some(SourceEvent::Tag),
        Some("pullrequest") => Some(SourceEvent::Pullrequest),
        Some(other) => {
            return Err(PayloadError(format!("`event` is `{other}`; give commit, tag or pullrequest")));
        }
    };
    let changed_files = match v.get("changed_files") {
        None | Some(serde_json::Value::Null) => None,
        Some(list) => Some(
            list.as_array()
                .ok_or_else(|| PayloadError("`changed_files` must be a list of paths".into()))?
                .iter()
                .map(|f| f.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| PayloadError("`changed_files` must be a list of paths".into()))?,
        ),
    };
    let pull_request = v.get("pull_request").and_then(|n| n.as_u64());
    let (ref_kind, name) = split_ref(&reference)?;
    let kind = event.unwrap_or(ref_kind);
    if kind == SourceEvent::Pullrequest && (pull_request.is_none() || ref_kind != SourceEvent::Commit) {
        return Err(PayloadError(
            "a pullrequest event needs `pull_request` (its number) and `ref` naming the target branch".into(),
        ));
    }
    if kind != SourceEvent::Pullrequest && kind != ref_kind {
        return Err(PayloadError(format!("`event` is {} but `ref` is `{reference}`", kind.as_str())));
    }
    Ok(Parsed::Event(GitEvent {
        kind,
        branch: (ref_kind == SourceEvent::Commit).then(|| name.clone()),
        tag: (kind == SourceEvent::Tag).then_some(name),
        head_branch: text(&v, "/head_branch"),
        pull_request: pull_request.filter(|_| kind == SourceEvent::Pullrequest),
        deleted: super::event::is_zero_commit(&commit),
        commit,
        repository_urls: vec![repository.clone()],
        repository,
        default_branch: text(&v, "/default_branch"),
        changed_files,
        // Whoever signs generic deliveries says whether the change comes from a fork.
        fork: v
            .get("fork")
            .and_then(|f| f.as_bool())
            .unwrap_or(false)
            .then(|| super::event::Fork { repository: text(&v, "/head_repository") }),
        author_trusted: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event_of(parsed: Parsed) -> Option<GitEvent> {
        match parsed {
            Parsed::Event(e) => Some(e),
            _ => None,
        }
    }

    fn p(v: serde_json::Value) -> Result<Parsed, PayloadError> {
        parse(v.to_string().as_bytes(), "https://h/r.git")
    }

    #[test]
    fn events_follow_the_ref_unless_named() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let e = event_of(p(json!({"ref": "refs/heads/main", "commit": sha})).unwrap()).unwrap();
        assert_eq!(
            (e.kind, e.branch.as_deref(), e.repository.as_str()),
            (SourceEvent::Commit, Some("main"), "https://h/r.git")
        );
        let t = event_of(p(json!({"ref": "refs/tags/v1", "commit": sha})).unwrap()).unwrap();
        assert_eq!((t.kind, t.tag.as_deref()), (SourceEvent::Tag, Some("v1")));
        let pr = event_of(
            p(json!({"ref": "refs/heads/main", "commit": sha, "event": "pullrequest", "pull_request": 9,
            "changed_files": ["a/b"]}))
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            (pr.kind, pr.pull_request, pr.changed_files.clone()),
            (SourceEvent::Pullrequest, Some(9), Some(vec!["a/b".into()]))
        );
    }

    #[test]
    fn bad_payloads_say_what_is_wrong() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert!(p(json!({"commit": sha})).unwrap_err().to_string().contains("ref"));
        assert!(p(json!({"ref": "refs/heads/main", "commit": "main"})).unwrap_err().to_string().contains("hex"));
        assert!(
            p(json!({"ref": "refs/heads/main", "commit": sha, "event": "push"}))
                .unwrap_err()
                .to_string()
                .contains("push")
        );
        assert!(p(json!({"ref": "refs/heads/main", "commit": sha, "event": "pullrequest"})).is_err());
        assert!(p(json!({"ref": "main", "commit": sha})).is_err());
        assert!(p(json!({"ref": "refs/heads/main", "commit": sha, "changed_files": "x"})).is_err());
    }

    #[test]
    fn the_sender_says_whether_a_pull_request_comes_from_a_fork() {
        let body = |fork: bool| {
            json!({"ref": "refs/heads/main", "commit": "abcdef1", "event": "pullrequest", "pull_request": 3,
                   "fork": fork, "head_repository": "https://git.example/x/r.git"})
            .to_string()
        };
        let own = event_of(parse(body(false).as_bytes(), "https://git.example/o/r.git").unwrap()).unwrap();
        assert_eq!(own.fork, None);
        let fork = event_of(parse(body(true).as_bytes(), "https://git.example/o/r.git").unwrap()).unwrap();
        assert_eq!(fork.fork.and_then(|f| f.repository).as_deref(), Some("https://git.example/x/r.git"));
    }
}
