//! The commit and branch of a context directory that is a git repository (for `$Commit`, `$Branch`).

use std::path::Path;

/// HEAD's commit and branch, if `dir` is inside a git repository with at least one commit.
/// A detached HEAD has no branch.
pub fn git_head(dir: &Path) -> Option<(String, Option<String>)> {
    let repo = git2::Repository::discover(dir).ok()?;
    let head = repo.head().ok()?;
    let commit = head.peel_to_commit().ok()?.id().to_string();
    let branch = head.is_branch().then(|| head.shorthand().ok().map(str::to_string)).flatten();
    Some((commit, branch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_commit_and_branch() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        assert!(git_head(dir.path()).is_none(), "no commit yet");
        std::fs::write(dir.path().join("f"), "x").unwrap();
        let mut index = repo.index().unwrap();
        index.add_path(Path::new("f")).unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        let oid = repo.commit(Some("HEAD"), &sig, &sig, "init", &tree, &[]).unwrap();
        let (commit, branch) = git_head(dir.path()).unwrap();
        assert_eq!(commit, oid.to_string());
        assert!(branch.is_some());
    }
}
