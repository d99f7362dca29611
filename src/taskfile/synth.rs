//! Task files drydock writes itself: ACR's quick build (build, then push) and `--cmd` (one step).
//! They go through the same pipeline as any task file, so templates and aliases work in them.

/// What a quick build (or a task with a Dockerfile step) does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildTask {
    /// Tags, already prefixed with the registry where needed; run variables allowed.
    pub tags: Vec<String>,
    /// The Dockerfile (a path the build step understands).
    pub dockerfile: String,
    /// Build arguments, `NAME=VALUE`.
    pub build_args: Vec<String>,
    /// Secret build arguments, `NAME=VALUE`.
    pub secret_build_args: Vec<String>,
    /// Stage to build.
    pub target: Option<String>,
    /// Platform.
    pub platform: Option<String>,
    /// Build without the layer cache.
    pub no_cache: bool,
    /// Do not push.
    pub no_push: bool,
    /// The run's timeout, seconds: no step is said to have longer (0: ACR's step defaults).
    pub timeout: u64,
}

/// Single-quotes a word for the shell-like `build:` string when it needs it.
pub fn shell_quote_word(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@{}+,".contains(c)) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// ACR's quick build is a two-step task: `build` (8 h) and, when pushing, `push` (1 h) after it.
pub fn build_task(b: &BuildTask) -> String {
    let mut words: Vec<String> = Vec::new();
    for t in &b.tags {
        words.extend(["-t".into(), shell_quote_word(t)]);
    }
    words.extend(["-f".into(), shell_quote_word(&b.dockerfile)]);
    for a in &b.build_args {
        words.extend(["--build-arg".into(), shell_quote_word(a)]);
    }
    for a in &b.secret_build_args {
        words.extend(["--secret-build-arg".into(), shell_quote_word(a)]);
    }
    if let Some(t) = &b.target {
        words.extend(["--target".into(), shell_quote_word(t)]);
    }
    if let Some(p) = &b.platform {
        words.extend(["--platform".into(), shell_quote_word(p)]);
    }
    if b.no_cache {
        words.push("--no-cache".into());
    }
    words.push(".".into());
    let within = |step: u64| if b.timeout == 0 { step } else { step.min(b.timeout) };
    // Folded block scalars carry any text without YAML quoting.
    let mut s = format!(
        "version: v1.1.0\nsteps:\n  - id: build\n    timeout: {}\n    build: >-\n      {}\n",
        within(28800),
        words.join(" ")
    );
    if !b.no_push && !b.tags.is_empty() {
        s.push_str(&format!("  - id: push\n    timeout: {}\n    when: [build]\n    push:\n", within(3600)));
        for t in &b.tags {
            s.push_str(&format!("      - >-\n        {t}\n"));
        }
    }
    s
}

/// ACR's `--cmd`: a one-step task. The command goes into the file text (not a value), so that
/// aliases and run variables in it are expanded, which ACR's own `--cmd` does not do.
pub fn cmd_task(cmd: &str) -> String {
    format!("version: v1.1.0\nsteps:\n  - cmd: >-\n      {}\n", cmd.replace('\n', " "))
}

/// A quick build that would push a tag naming no registry (so to Docker Hub) while no registry is
/// set: most likely a forgotten `--registry`, refused with the fix. Naming `docker.io/…` pushes there.
pub fn unintended_hub_push(tags: &[String], registry: &str, no_push: bool) -> Option<String> {
    if no_push || !registry.trim().is_empty() {
        return None;
    }
    let bare = tags.iter().find(|t| crate::reference::prefix_registry(t, "r.invalid") != **t)?;
    Some(format!(
        "`-t {bare}` names no registry and no --registry is set, so the image would be pushed to Docker Hub; \
         pass --registry (or set DRYDOCK_REGISTRY), write the registry in the tag (`docker.io/…` for Docker \
         Hub), or add --no-push"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_the_build_string_parser() {
        let q = shell_quote_word("A=it's here");
        assert_eq!(crate::shellwords::split(&q).unwrap(), ["A=it's here"]);
    }

    #[test]
    fn build_task_has_build_then_push() {
        let t = build_task(&BuildTask {
            tags: vec!["r.io/app:1".into()],
            dockerfile: "Dockerfile".into(),
            build_args: vec!["A=1".into()],
            ..BuildTask::default()
        });
        assert!(t.contains("build: >-\n      -t r.io/app:1 -f Dockerfile --build-arg A=1 .\n"));
        assert!(t.contains("when: [build]"));
    }

    #[test]
    fn a_quick_builds_steps_are_said_to_last_no_longer_than_the_run() {
        let t = build_task(&BuildTask { tags: vec!["r.io/app:1".into()], timeout: 400, ..BuildTask::default() });
        assert!(t.contains("id: build\n    timeout: 400\n") && t.contains("id: push\n    timeout: 400\n"), "{t}");
        let t = build_task(&BuildTask { tags: vec!["r.io/app:1".into()], timeout: 7200, ..BuildTask::default() });
        assert!(t.contains("timeout: 7200\n") && t.contains("timeout: 3600\n"), "{t}");
    }

    #[test]
    fn a_push_to_docker_hub_must_be_asked_for() {
        let why = unintended_hub_push(&["app:1".into()], "", false).unwrap();
        assert!(why.contains("`-t app:1`") && why.contains("--registry"), "{why}");
        for (tags, registry, no_push) in [
            (vec!["docker.io/me/app:1".to_string()], "", false),
            (vec!["localhost:5000/app:1".to_string()], "", false),
            (vec!["app:1".to_string()], "reg.io", false),
            (vec!["app:1".to_string()], "", true),
        ] {
            assert_eq!(unintended_hub_push(&tags, registry, no_push), None, "{tags:?} {registry}");
        }
    }
}
