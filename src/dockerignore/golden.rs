//! Replays the builds recorded by `scripts/record-dockerignore-golden.sh` (Docker CLI
//! 28.2.2, classic builder, dockerd 20.10) against this module, without needing Docker.

use std::collections::BTreeSet;

use super::golden_data::{CASES, TREE};
use super::{DOCKERIGNORE, DockerIgnore};

/// One recorded `docker build`.
pub(super) struct GoldenCase {
    pub(super) name: &'static str,
    pub(super) dockerignore: &'static str,
    /// The `-f` path, relative to the context.
    pub(super) dockerfile: &'static str,
    pub(super) outcome: Outcome,
}

/// What Docker did with the case.
pub(super) enum Outcome {
    /// The build ran. Both lists are entries of `TREE` that were missing: from the tar the
    /// CLI sent, and from `find /ctx` inside the built image.
    Sent { not_sent: &'static [&'static str], not_in_image: &'static [&'static str] },
    /// The CLI refused the `.dockerignore` with this message.
    CliError(&'static str),
}

/// The tar entries the CLI sends: every tree entry that the walk reaches and keeps.
fn simulate_sent(ignore: &DockerIgnore, dockerfile: &str) -> BTreeSet<&'static str> {
    let cli = ignore.clone().with_build_files(dockerfile);
    TREE.iter().copied().filter(|entry| cli.in_context(entry.trim_end_matches('/'))).collect()
}

/// What `find /ctx` shows: the sent entries, minus the build files the daemon deletes when
/// the original patterns exclude them, plus the parent directories that extraction creates.
fn simulate_image(ignore: &DockerIgnore, dockerfile: &str, sent: &BTreeSet<&'static str>) -> BTreeSet<String> {
    let mut image = BTreeSet::new();
    for entry in sent {
        let path = entry.trim_end_matches('/');
        // Extraction creates the parents even of a file the daemon deletes afterwards.
        for (i, _) in path.match_indices('/') {
            image.insert(format!("{}/", &path[..i]));
        }
        if (path == DOCKERIGNORE || path == dockerfile) && ignore.matches_or_parent_matches(path) {
            continue;
        }
        image.insert(entry.to_string());
    }
    image
}

fn expected(missing: &[&str]) -> BTreeSet<String> {
    TREE.iter().filter(|e| !missing.contains(e)).map(|e| e.to_string()).collect()
}

#[test]
fn recorded_docker_builds_are_reproduced() {
    let mut failures = Vec::new();
    for case in CASES {
        let parsed = DockerIgnore::parse(case.dockerignore);
        match (&case.outcome, parsed) {
            (Outcome::CliError(_), Err(_)) => {}
            (Outcome::CliError(msg), Ok(_)) => {
                failures.push(format!("{}: Docker refused it ({msg}) but parse accepted it", case.name))
            }
            (Outcome::Sent { .. }, Err(e)) => {
                failures.push(format!("{}: Docker accepted it but parse failed: {e}", case.name))
            }
            (Outcome::Sent { not_sent, not_in_image }, Ok(ignore)) => {
                let sent = simulate_sent(&ignore, case.dockerfile);
                let sent_owned: BTreeSet<String> = sent.iter().map(|s| s.to_string()).collect();
                let want_sent = expected(not_sent);
                if sent_owned != want_sent {
                    failures.push(format!(
                        "{}: sent differs\n  extra:   {:?}\n  missing: {:?}",
                        case.name,
                        sent_owned.difference(&want_sent).collect::<Vec<_>>(),
                        want_sent.difference(&sent_owned).collect::<Vec<_>>()
                    ));
                }
                let image = simulate_image(&ignore, case.dockerfile, &sent);
                let want_image = expected(not_in_image);
                if image != want_image {
                    failures.push(format!(
                        "{}: image differs\n  extra:   {:?}\n  missing: {:?}",
                        case.name,
                        image.difference(&want_image).collect::<Vec<_>>(),
                        want_image.difference(&image).collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn golden_data_covers_the_interesting_cases() {
    // Guard against an accidental re-recording that silently drops cases.
    assert!(CASES.len() >= 30, "only {} golden cases", CASES.len());
    assert!(TREE.contains(&"build/Dockerfile.custom"));
}
