use proptest::prelude::*;

use super::*;

fn ok(s: &str) -> BuildSpec {
    parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

#[test]
fn acr_sample_build_step() {
    // From Azure-Samples/acr-tasks build-push-hello-world.yaml (after templating).
    let spec = ok("-t myreg.azurecr.io/hello-world:cf1 -f hello-world.dockerfile .");
    assert_eq!(spec.tags, ["myreg.azurecr.io/hello-world:cf1"]);
    assert_eq!(spec.dockerfile.as_deref(), Some("hello-world.dockerfile"));
    assert_eq!(spec.context, ".");
}

#[test]
fn every_supported_flag() {
    let spec = ok("--tag a:1 -t b:2 --file=x/Dockerfile --build-arg A=1 --build-arg B \
         --secret-build-arg S=s3cr3t --target final --platform linux/arm64 --label k=v --label bare \
         --no-cache --pull --isolation hyperv --cache-from c:1 --cache-from=c:2 --network host ./src");
    assert_eq!(
        spec,
        BuildSpec {
            tags: vec!["a:1".into(), "b:2".into()],
            dockerfile: Some("x/Dockerfile".into()),
            build_args: vec![("A".into(), Some("1".into())), ("B".into(), None)],
            secret_build_args: vec![("S".into(), Some("s3cr3t".into()))],
            target: Some("final".into()),
            platform: Some("linux/arm64".into()),
            labels: vec![("k".into(), "v".into()), ("bare".into(), String::new())],
            no_cache: true,
            pull: true,
            isolation: Some("hyperv".into()),
            cache_from: vec!["c:1".into(), "c:2".into()],
            network: Some("host".into()),
            context: "./src".into(),
        }
    );
}

#[test]
fn short_flag_forms() {
    assert_eq!(ok("-t=x:1 .").tags, ["x:1"]);
    assert_eq!(ok("-tx:1 .").tags, ["x:1"]);
    assert_eq!(ok("-fDockerfile.dev .").dockerfile.as_deref(), Some("Dockerfile.dev"));
}

#[test]
fn values_keep_equals_signs_and_quotes() {
    let spec = ok(r#"--build-arg "GREETING=hello world" --build-arg=URL=http://x/?a=b --label 'a=b=c' ."#);
    assert_eq!(
        spec.build_args,
        [
            ("GREETING".to_string(), Some("hello world".to_string())),
            ("URL".to_string(), Some("http://x/?a=b".to_string()))
        ]
    );
    assert_eq!(spec.labels, [("a".to_string(), "b=c".to_string())]);
    assert_eq!(ok("--build-arg EMPTY= .").build_args, [("EMPTY".to_string(), Some(String::new()))]);
}

#[test]
fn context_can_come_first_or_after_double_dash() {
    assert_eq!(ok(". -t a").context, ".");
    assert_eq!(ok("-t a -- -weird-dir").context, "-weird-dir");
    assert_eq!(ok("-").context, "-");
}

#[test]
fn value_flag_takes_next_word_even_if_it_looks_like_a_flag() {
    let spec = ok("-t --pull .");
    assert_eq!(spec.tags, ["--pull"]);
    assert!(!spec.pull);
}

#[test]
fn bool_flags_accept_explicit_values() {
    assert!(!ok("--no-cache=false .").no_cache);
    assert!(ok("--pull=true .").pull);
    assert!(ok("--pull=1 .").pull);
    assert_eq!(parse("--pull=yes ."), Err(BuildArgsError::InvalidBool { flag: "--pull".into(), value: "yes".into() }));
}

#[test]
fn multi_line_folded_yaml_arguments() {
    let spec = ok("-t app:1\n  --build-arg A=1\n  .\n");
    assert_eq!((spec.tags.len(), spec.context.as_str()), (1, "."));
}

#[test]
fn unknown_flags_are_named_with_a_suggestion() {
    let err = parse("--tags x .").unwrap_err();
    assert_eq!(err, BuildArgsError::UnknownFlag { flag: "--tags".into(), suggestion: Some("--tag".into()) });
    let msg = err.to_string();
    assert!(msg.contains("`--tags`") && msg.contains("did you mean `--tag`"), "{msg}");
    assert!(msg.contains("-t/--tag") && msg.contains("--network"), "{msg}");
    let msg = parse("--squash .").unwrap_err().to_string();
    assert!(msg.contains("`--squash`") && !msg.contains("did you mean"), "{msg}");
    assert!(matches!(parse("-q ."), Err(BuildArgsError::UnknownFlag { .. })));
    assert!(matches!(parse("--rm=true ."), Err(BuildArgsError::UnknownFlag { ref flag, .. }) if flag == "--rm"));
}

#[test]
fn positional_errors_say_what_was_found() {
    assert_eq!(parse("-t a"), Err(BuildArgsError::MissingContext));
    assert_eq!(parse(""), Err(BuildArgsError::MissingContext));
    let err = parse("-t a b c").unwrap_err();
    assert_eq!(err, BuildArgsError::ExtraPositional { found: vec!["b".into(), "c".into()] });
    assert!(err.to_string().contains("found 2: `b`, `c`"), "{err}");
}

#[test]
fn value_errors() {
    assert_eq!(parse(". -t"), Err(BuildArgsError::MissingValue { flag: "-t".into() }));
    assert_eq!(parse("--tag= ."), Err(BuildArgsError::EmptyValue { flag: "--tag".into() }));
    assert_eq!(parse("-t '' ."), Err(BuildArgsError::EmptyValue { flag: "-t".into() }));
    assert!(matches!(parse("--build-arg =x ."), Err(BuildArgsError::MissingName { .. })));
    assert!(matches!(parse("--label =x ."), Err(BuildArgsError::MissingName { .. })));
    assert!(matches!(parse("-t 'unterminated ."), Err(BuildArgsError::Quoting(_))));
}

#[test]
fn classify_local_paths() {
    for c in [".", "./src", "src/app", "/dev/null", "C:\\src", "dir with space"] {
        assert_eq!(classify(c), ContextSource::Local(c.into()), "{c}");
    }
}

#[test]
fn classify_git_urls_and_fragments() {
    let git = |url: &str, r: Option<&str>, s: Option<&str>| ContextSource::Git {
        url: url.into(),
        reference: r.map(Into::into),
        subdir: s.map(Into::into),
    };
    let repo = "https://github.com/org/repo.git";
    assert_eq!(classify(repo), git(repo, None, None));
    assert_eq!(classify(&format!("{repo}#main")), git(repo, Some("main"), None));
    assert_eq!(classify(&format!("{repo}#main:app/web")), git(repo, Some("main"), Some("app/web")));
    assert_eq!(classify(&format!("{repo}#:folder")), git(repo, None, Some("folder")));
    assert_eq!(classify(&format!("{repo}#")), git(repo, None, None));
    assert_eq!(classify("git@github.com:org/repo.git#v1"), git("git@github.com:org/repo.git", Some("v1"), None));
    assert_eq!(classify("git://host/repo"), git("git://host/repo", None, None));
    let ado = "https://dev.azure.com/org/proj/_git/repo";
    assert_eq!(classify(&format!("{ado}#dev:src")), git(ado, Some("dev"), Some("src")));
    let ado_user = "https://org@dev.azure.com/org/proj/_git/repo";
    assert_eq!(classify(ado_user), git(ado_user, None, None));
    let vso = "https://org.visualstudio.com/proj/_git/repo";
    assert_eq!(classify(vso), git(vso, None, None));
}

#[test]
fn classify_tarballs_and_oci() {
    assert_eq!(
        classify("https://example.com/ctx.tar.gz"),
        ContextSource::Tarball("https://example.com/ctx.tar.gz".into())
    );
    // GitHub URLs must end in `.git` to be treated as repositories.
    assert_eq!(classify("https://github.com/org/repo"), ContextSource::Tarball("https://github.com/org/repo".into()));
    // Azure DevOps host without `/_git/` is not a repository.
    assert!(matches!(classify("https://dev.azure.com/org/proj/archive.tar"), ContextSource::Tarball(_)));
    assert_eq!(
        classify("oci://myreg.azurecr.io/artifact:tag"),
        ContextSource::Oci("myreg.azurecr.io/artifact:tag".into())
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_never_panics(s in "(?s).{0,200}") {
        let _ = parse(&s);
        let _ = classify(&s);
    }

    #[test]
    fn flag_like_text_never_panics(s in "(-{1,2}[a-z-]{0,12}(=[a-z=]{0,4})? |[a-z.'\"]{1,5} ){0,10}") {
        let _ = parse(&s);
    }
}
