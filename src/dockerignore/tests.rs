use proptest::prelude::*;

use super::*;

fn di(text: &str) -> DockerIgnore {
    DockerIgnore::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

#[test]
fn patterns_are_anchored_at_the_root() {
    let d = di("a.txt\n*.md\n");
    assert!(d.excludes("a.txt"));
    assert!(!d.excludes("docs/a.txt"));
    assert!(d.excludes("README.md"));
    assert!(!d.excludes("docs/README.md"));
}

#[test]
fn a_matching_parent_excludes_everything_below() {
    let d = di("a\n");
    assert!(d.excludes("a"));
    assert!(d.excludes("a/b/c"));
    assert!(!d.excludes("ab"));
    assert!(!d.excludes("b/a"));
}

#[test]
fn star_does_not_cross_slashes_but_doublestar_does() {
    let d = di("*/x\n");
    assert!(d.excludes("a/x"));
    assert!(!d.excludes("a/b/x"));
    let d = di("**/x\n");
    assert!(d.excludes("x"));
    assert!(d.excludes("a/b/x"));
    let d = di("a/**/z\n");
    assert!(d.excludes("a/z"));
    assert!(d.excludes("a/b/c/z"));
    assert!(!d.excludes("az"));
}

#[test]
fn glued_doublestar_quirks() {
    // Plain text after a leading `**` is an "ends with" test...
    assert!(di("**.md").excludes("docs/README.md"));
    assert!(di("**md").excludes("xmd"));
    // ...but with another wildcard it becomes `(.*/)?` followed by the rest.
    assert!(!di("**.m?").excludes("b.md"));
    assert!(di("**.m?").excludes("x/.md"));
    // `prefix**` is "starts with", including the prefix itself.
    assert!(di("do**").excludes("docs"));
    assert!(di("do**").excludes("do"));
    assert!(!di("docs/**").excludes("docs"));
    assert!(di("docs/**").excludes("docs/x"));
    assert!(di("**").excludes("anything/at/all"));
}

#[test]
fn character_classes_follow_docker_not_gitignore() {
    let d = di("f[12]\n");
    assert!(d.excludes("f1") && d.excludes("f2") && !d.excludes("f3"));
    let d = di("f[^1]\n");
    assert!(!d.excludes("f1") && d.excludes("f2"));
    // `!` does not negate a class in Go or in Docker: it is a member.
    let d = di("f[!1]\n");
    assert!(d.excludes("f1") && d.excludes("f!") && !d.excludes("f2"));
    let d = di("f[a-c]\n");
    assert!(d.excludes("fb") && !d.excludes("fd"));
    // A negated class matches `/` too.
    assert!(di("a[^x]b").excludes("a/b"));
    assert!(!di("a?b").excludes("a/b"));
    // Escapes inside a class.
    assert!(di("f[\\]]").excludes("f]"));
}

#[test]
fn backslash_escapes_punctuation_and_keeps_regex_classes() {
    assert!(di("\\*star").excludes("*star"));
    assert!(!di("\\*star").excludes("xstar"));
    assert!(di("a\\.b").excludes("a.b"));
    assert!(di("file\\d").excludes("file7"));
    assert!(!di("file\\d").excludes("filed"));
    assert!(di("x\\sy").excludes("x y"));
    assert!(di("x\\Wy").excludes("x-y"));
}

#[test]
fn caret_anchors_only_in_wildcard_patterns() {
    // Plain text is compared literally...
    assert!(di("^a").excludes("^a"));
    // ...while in a wildcard pattern `^` is the start of the path.
    assert!(di("^a*").excludes("abc"));
    assert!(!di("x^a*").excludes("x^abc"));
}

#[test]
fn patterns_are_cleaned() {
    assert!(di("./src").excludes("src/main.rs"));
    assert!(di("/src").excludes("src/main.rs"));
    assert!(di("src/").excludes("src/main.rs"));
    assert!(di("docs/../a.txt").excludes("a.txt"));
    assert!(di("a//b").excludes("a/b"));
    // Patterns that climb out of the context or name the root match nothing.
    assert!(!di("../a").excludes("a"));
    assert!(!di("/").excludes("a"));
    assert!(!di(".").excludes("a"));
}

#[test]
fn query_paths_are_normalised() {
    let d = di("a\n");
    assert!(d.excludes("./a"));
    assert!(d.excludes("a/"));
    assert!(!d.excludes(""));
    assert!(!d.excludes("."));
}

#[test]
fn comments_blank_lines_whitespace_and_bom() {
    let d = di("\u{feff}# comment\n\n  b.md  \r\n\t\n #hash\n!  c\n");
    assert!(d.excludes("b.md"));
    assert!(d.excludes("#hash"));
    assert!(!d.excludes("# comment"));
    assert!(!d.is_empty() && d.has_exceptions());
    assert!(di("# only a comment\n\n").is_empty());
    assert!(!di("").has_exceptions());
}

#[test]
fn last_applicable_pattern_wins() {
    let d = di("*.txt\n!keep.txt\n");
    assert!(d.excludes("a.txt"));
    assert!(!d.excludes("keep.txt"));
    let d = di("!keep.txt\n*.txt\n");
    assert!(d.excludes("keep.txt"));
}

#[test]
fn exception_inside_an_excluded_directory() {
    let d = di("node_modules\n!node_modules/pkg/README.md\n");
    assert!(d.excludes("node_modules"));
    assert!(d.excludes("node_modules/pkg/index.js"));
    assert!(!d.excludes("node_modules/pkg/README.md"));
    // The exception's text starts with `node_modules/`, so the walker must look inside.
    assert!(!d.can_prune_dir("node_modules"));
    assert!(!d.can_prune_dir("node_modules/pkg"));
    assert!(d.in_context("node_modules/pkg/README.md"));
}

#[test]
fn wildcard_exceptions_do_not_stop_pruning() {
    let d = di("build\n!**/k.txt\n");
    // On its own the file would be re-included...
    assert!(!d.excludes("build/keep/k.txt"));
    // ...but Docker skips `build` entirely, so it is never sent.
    assert!(d.can_prune_dir("build"));
    assert!(!d.in_context("build/keep/k.txt"));
}

#[test]
fn can_prune_only_excluded_directories() {
    let d = di("a\n");
    assert!(d.can_prune_dir("a"));
    assert!(d.can_prune_dir("a/b"));
    assert!(!d.can_prune_dir("b"));
    assert!(!di("").can_prune_dir("a"));
    // The exception names something inside `a`, so `a` must be walked.
    let d = di("a\n!a/b/c\n");
    assert!(!d.can_prune_dir("a"));
    assert!(!d.can_prune_dir("a/b"));
    // An exception for a sibling does not count.
    let d = di("a\n!ab/c\n");
    assert!(d.can_prune_dir("a"));
}

#[test]
fn re_excluding_after_an_exception_does_not_reach_children() {
    // Recorded with the real CLI: `src/main.rs` is sent although the last pattern is `src`.
    let d = di("src\n!src/main.rs\nsrc\n");
    assert!(d.excludes("src"));
    assert!(!d.excludes("src/main.rs"));
    assert!(d.excludes("src/lib/util.rs"));
    // The stateless check used for the build files still says "excluded".
    assert!(d.matches_or_parent_matches("src/main.rs"));
}

#[test]
fn incremental_evaluation_matches_excludes() {
    let d = di("src\n!src/lib\n*.md\n");
    let (top, state) = d.evaluate("src", None);
    assert!(top);
    let (lib, lib_state) = d.evaluate("src/lib", Some(&state));
    assert!(!lib);
    let (file, _) = d.evaluate("src/lib/x.md", Some(&lib_state));
    assert_eq!(file, d.excludes("src/lib/x.md"));
    // A stale state from another pattern list is ignored rather than trusted.
    let other = di("x\n");
    let (_, foreign) = other.evaluate("x", None);
    assert!(d.evaluate("src/a", Some(&foreign)).0);
}

#[test]
fn build_files_are_always_sent() {
    let d = di("*\n");
    assert!(d.excludes("Dockerfile") && d.excludes(".dockerignore"));
    let cli = d.clone().with_build_files("Dockerfile");
    assert!(cli.in_context("Dockerfile"));
    assert!(cli.in_context(".dockerignore"));
    assert!(!cli.in_context("src"));
    // A custom Dockerfile inside an excluded directory keeps that directory walkable.
    let cli = di("build\n").with_build_files("./build/Dockerfile.custom");
    assert!(!cli.can_prune_dir("build"));
    assert!(cli.in_context("build/Dockerfile.custom"));
    assert!(!cli.in_context("build/out.bin"));
    // Nothing is added when nothing excludes them.
    let cli = di("a\n").with_build_files("Dockerfile");
    assert!(!cli.has_exceptions());
}

#[test]
fn always_included_names_the_build_files() {
    assert!(always_included(".dockerignore", "Dockerfile"));
    assert!(always_included("Dockerfile", "Dockerfile"));
    assert!(always_included("build/Dockerfile.custom", "./build//Dockerfile.custom"));
    assert!(!always_included("Dockerfile", "build/Dockerfile"));
    assert!(!always_included("sub/.dockerignore", "Dockerfile"));
}

#[test]
fn invalid_patterns_report_their_line() {
    let cases: [(&str, usize, PatternProblem); 8] = [
        ("ok\n# c\nfile[1\n", 3, PatternProblem::UnterminatedClass),
        ("a[]b", 1, PatternProblem::EmptyClass),
        ("a[^]", 1, PatternProblem::EmptyClass),
        ("a[-z]", 1, PatternProblem::BadClassMember('-')),
        ("a[z-a]", 1, PatternProblem::ReversedRange('z', 'a')),
        ("x\nfile\\", 2, PatternProblem::TrailingBackslash),
        ("src\\test", 1, PatternProblem::UnsupportedEscape('t')),
        ("a[*]", 1, PatternProblem::WildcardInClass('*')),
    ];
    for (text, want_line, want_problem) in cases {
        match DockerIgnore::parse(text) {
            Err(DockerIgnoreError::BadPattern { line, problem, .. }) => {
                assert_eq!((line, problem), (want_line, want_problem), "{text:?}")
            }
            other => panic!("{text:?}: expected a bad pattern, got {other:?}"),
        }
    }
}

#[test]
fn a_bare_exclamation_mark_is_an_error() {
    for text in ["!", "a\n!  \n", "!/"] {
        assert!(matches!(DockerIgnore::parse(text), Err(DockerIgnoreError::BareExclamation { .. })), "{text:?}");
    }
    let msg = DockerIgnore::parse("a\n!\n").unwrap_err().to_string();
    assert!(msg.contains("line 2") && msg.contains("!path"), "{msg}");
}

#[test]
fn error_messages_say_where_and_what_to_do() {
    let msg = DockerIgnore::parse("x\n  file[1  \n").unwrap_err().to_string();
    assert_eq!(
        msg,
        ".dockerignore line 2: pattern `file[1` is invalid: `[` starts a character class that is never closed with `]`"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_and_match_never_panic(text in "(?s).{0,200}", path in "[a-z/.!*\\[\\]\\\\^-]{0,30}") {
        if let Ok(d) = DockerIgnore::parse(&text) {
            let _ = d.excludes(&path);
            let _ = d.can_prune_dir(&path);
            let _ = d.in_context(&path);
            let _ = d.clone().with_build_files(&path);
        }
    }

    #[test]
    fn glob_like_text_never_panics(text in "[a-z*?\\[\\]\\\\^!/.\\n -]{0,60}", path in "[a-z/]{0,20}") {
        if let Ok(d) = DockerIgnore::parse(&text) {
            let _ = d.excludes(&path);
        }
    }
}
