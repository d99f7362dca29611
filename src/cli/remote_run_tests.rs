use super::*;
use crate::cli::{Cli, Command};
use clap::Parser;

fn build_args(args: &[&str]) -> BuildArgs {
    let mut argv = vec!["drydock", "build"];
    argv.extend(args);
    match Cli::try_parse_from(argv).unwrap().command {
        Command::Build(b) => b,
        other => panic!("{other:?}"),
    }
}

fn run_args(args: &[&str]) -> RunArgs {
    let mut argv = vec!["drydock", "run"];
    argv.extend(args);
    match Cli::try_parse_from(argv).unwrap().command {
        Command::Run(r) => r,
        other => panic!("{other:?}"),
    }
}

#[test]
fn build_flags_map_to_a_quick_build() {
    let a = build_args(&[
        "-t",
        "app:{{.Run.ID}}",
        "-t",
        "other.io/x:1",
        "--registry",
        "reg.io",
        "--build-arg",
        "A=1",
        "--secret-build-arg",
        "TOKEN=s",
        "--target",
        "final",
        "--platform",
        "linux/arm64",
        "--no-push",
        "--timeout",
        "600",
    ]);
    let r = build_request(&a).unwrap();
    let b = r.build.unwrap();
    assert_eq!(b.images, ["reg.io/app:{{.Run.ID}}", "other.io/x:1"]);
    assert_eq!(b.build_args["A"], "1");
    assert_eq!(b.secret_build_args["TOKEN"], "s");
    assert_eq!((b.target.as_deref(), b.platform.as_deref(), b.no_push), (Some("final"), Some("linux/arm64"), true));
    assert_eq!(r.timeout, Some(600));
    assert_eq!(build_request(&build_args(&["--timeout", "30"])).unwrap_err().exit_code(), 2);
}

#[test]
fn local_and_server_exclude_each_other_but_an_exported_server_does_not() {
    assert!(Cli::try_parse_from(["drydock", "build", "--local", "--server", "http://h:1", "."]).is_err());
    let a = build_args(&["--local", "."]);
    // DRYDOCK_SERVER is read in code, so `--local` still wins over an exported one.
    assert!(daemon_for(&a.engine, &a.remote).unwrap().is_none());
    let a = build_args(&["--local", "--no-wait", "."]);
    assert_eq!(daemon_for(&a.engine, &a.remote).unwrap_err().exit_code(), 2);
    let a = build_args(&["--server", "http://h:1", "."]);
    assert!(daemon_for(&a.engine, &a.remote).unwrap().is_some());
}

#[test]
fn local_only_flags_are_refused_for_a_daemon() {
    let a = run_args(&["--buildkit", "--run-id", "x1", "--strict", "."]);
    let e = reject_local_only(&a.engine, &a.vars, &[(a.file.strict, "--strict")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "--buildkit, --run-id, --strict only apply to runs on this machine: add --local, or leave them out for the daemon"
    );
}

#[test]
fn run_step_by_context_kind() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("ci")).unwrap();
    std::fs::write(dir.path().join("ci/acb.yaml"), "steps: []\n").unwrap();
    std::fs::write(dir.path().join("values.yaml"), "a: 1\n").unwrap();
    let ctx = dir.path().to_str().unwrap();

    let a = run_args(&["-f", "ci/acb.yaml", "--values", "values.yaml", ctx]);
    let step = run_step(&a, &ContextArg::Dir(dir.path().into())).unwrap();
    assert_eq!(
        step,
        TaskStep::File { path: Some("ci/acb.yaml".into()), content: None, values_file: Some("values.yaml".into()) }
    );

    let file = dir.path().join("ci/acb.yaml");
    let a = run_args(&["-f", file.to_str().unwrap(), "/dev/null"]);
    let step = run_step(&a, &ContextArg::None).unwrap();
    assert_eq!(step, TaskStep::File { path: None, content: Some("steps: []\n".into()), values_file: None });

    let a = run_args(&["-f", "deploy.yaml", "https://h/r.git#main"]);
    let step = run_step(&a, &ContextArg::Remote("https://h/r.git#main".into())).unwrap();
    assert_eq!(step, TaskStep::File { path: Some("deploy.yaml".into()), content: None, values_file: None });

    let a = run_args(&["--cmd", "busybox echo hi"]);
    assert_eq!(run_step(&a, &ContextArg::None).unwrap(), TaskStep::Cmd { cmd: "busybox echo hi".into() });

    let a = run_args(&["-f", "missing.yaml", ctx]);
    assert_eq!(run_step(&a, &ContextArg::Dir(dir.path().into())).unwrap_err().exit_code(), 2);
    let a = run_args(&["--values", "a.yaml", "--values", "b.yaml", ctx]);
    assert!(run_step(&a, &ContextArg::Dir(dir.path().into())).is_err());
}
