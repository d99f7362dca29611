use super::*;
use crate::cli::{Cli, Command};
use clap::Parser;

/// The spec flags of `drydock task create -n name-x <args>`, as clap parses them.
fn spec(args: &[&str]) -> TaskSpecArgs {
    let mut argv = vec!["drydock", "task", "update", "-n", "name-x"];
    argv.extend(args);
    match Cli::try_parse_from(argv).unwrap().command {
        Command::Task { command } => match *command {
            crate::cli::task::TaskCommand::Update(u) => u.spec,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

fn git() -> ResolvedSource {
    ResolvedSource { context: Some(Some("https://host/r.git#main".into())), ..ResolvedSource::default() }
}

#[test]
fn step_kind_follows_acr_rules() {
    assert_eq!(
        StepChoice::from_args(&spec(&["-f", "ci/build.YML"])).unwrap(),
        StepChoice::File(Some("ci/build.YML".into()))
    );
    assert_eq!(
        StepChoice::from_args(&spec(&["-f", "Dockerfile.prod"])).unwrap(),
        StepChoice::Docker(Some("Dockerfile.prod".into()))
    );
    assert_eq!(StepChoice::from_args(&spec(&["-t", "app:1"])).unwrap(), StepChoice::Docker(None));
    assert_eq!(
        StepChoice::from_args(&spec(&["--cmd", "busybox echo hi"])).unwrap(),
        StepChoice::Cmd("busybox echo hi".into())
    );
    assert_eq!(StepChoice::from_args(&spec(&["--timeout", "600"])).unwrap(), StepChoice::Unchanged);
    let e = StepChoice::from_args(&spec(&["-f", "acb.yaml", "--arg", "A=1"])).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(StepChoice::from_args(&spec(&["--dockerfile", "D", "--values", "v.yaml"])).is_err());
    assert!(Cli::try_parse_from(["drydock", "task", "update", "-n", "abcde", "--cmd", "x", "-f", "a.yaml"]).is_err());
}

#[test]
fn create_maps_every_flag() {
    let s = spec(&[
        "-f",
        "Dockerfile",
        "-t",
        "app:{{.Run.ID}}",
        "-t",
        "app:latest",
        "--arg",
        "A=1",
        "--secret-arg",
        "TOKEN=s",
        "--target",
        "final",
        "--no-push",
        "--platform",
        "linux/arm64",
        "--set",
        "x=1",
        "--set-secret",
        "pw=2",
        "--timeout",
        "7200",
        "--status",
        "disabled",
        "--label",
        "gpu=true",
        "--git-access-token",
        "ghp",
        "--pull-request-trigger-enabled",
        "true",
        "--branch",
        "main",
        "--branch",
        "release/*",
        "--path",
        "src/**",
        "--webhook-secret",
        "whs",
        "--poll-interval",
        "300",
        "--base-image-trigger-type",
        "all",
    ]);
    let choice = StepChoice::from_args(&s).unwrap();
    let timers = parse_schedules(&["0 3 * * *".into()]).unwrap();
    let task = task_for_create("build-app", &s, &choice, &git(), timers).unwrap();
    let v = serde_json::to_value(&task).unwrap();
    assert_eq!(
        v,
        json!({
            "name": "build-app", "context": "https://host/r.git#main",
            "step": {"kind": "docker", "dockerfile": "Dockerfile", "images": ["app:{{.Run.ID}}", "app:latest"],
                     "build_args": {"A": "1"}, "secret_build_args": {"TOKEN": "s"}, "target": "final",
                     "no_push": true, "no_cache": false},
            "values": {"x": "1"}, "secret_values": {"pw": "2"}, "timeout": 7200, "status": "Disabled",
            "agent_labels": {"gpu": "true"}, "platform": "linux/arm64", "git_token": "ghp",
            "timers": [{"name": "t1", "schedule": "0 3 * * *", "enabled": true}],
            "triggers": {
                "source": {"enabled": true, "events": ["commit", "pullrequest"], "branches": ["main", "release/*"],
                           "paths": ["src/**"], "webhook_secret": "whs", "poll_interval": 300},
                "base_image": {"enabled": true, "trigger_type": "All", "quiet_period": 10}
            }
        })
    );
}

#[test]
fn create_defaults_and_inline_content() {
    let s = spec(&["-f", "nightly.yaml"]);
    let inline = ResolvedSource { context: Some(None), content: Some("steps: []\n".into()), dockerfile: None };
    let task = task_for_create("job", &s, &StepChoice::from_args(&s).unwrap(), &inline, vec![]).unwrap_err();
    assert_eq!(task.exit_code(), 2, "`job` is too short for a task name");
    let task = task_for_create("nightly-maint", &s, &StepChoice::from_args(&s).unwrap(), &inline, vec![]).unwrap();
    assert_eq!(task.context, None);
    assert_eq!(task.timeout, 3600);
    assert_eq!(task.step, TaskStep::File { path: None, content: Some("steps: []\n".into()), values_file: None });
}

#[test]
fn timeout_bounds_are_checked_client_side() {
    assert!(check_timeout(300).is_ok() && check_timeout(28_800).is_ok());
    for bad in [0, 299, 28_801] {
        assert_eq!(check_timeout(bad).unwrap_err().exit_code(), 2);
    }
    let s = spec(&["--timeout", "60"]);
    assert!(task_patch(&s, &StepChoice::Unchanged, &ResolvedSource::default(), &[]).is_err());
}

#[test]
fn schedules_take_names_or_get_t_numbers() {
    let t = parse_schedules(&[
        "purge:0 3 * * *".into(),
        "*/5 * * * *".into(),
        "t1: 0  9 * * 1-5".into(),
        "0 0 1 * *".into(),
    ])
    .unwrap();
    let got: Vec<(&str, &str)> = t.iter().map(|t| (t.name.as_str(), t.schedule.as_str())).collect();
    assert_eq!(got, [("purge", "0 3 * * *"), ("t2", "*/5 * * * *"), ("t1", "0 9 * * 1-5"), ("t3", "0 0 1 * *")]);
    assert!(parse_schedules(&["0 3 * *".into()]).is_err(), "4 fields");
    assert!(parse_schedules(&["my timer:0 3 * * *".into()]).is_err(), "bad name");
    assert!(parse_schedules(&["a:0 3 * * *".into(), "a:0 4 * * *".into()]).is_err(), "duplicate name");
    assert!(parse_schedules(&["0 3 * * *".into(), "x:0 3 * * *".into()]).is_err(), "duplicate schedule");
    assert_eq!(parse_schedules(&["30 9 * * * 2024".into()]).unwrap()[0].name, "t1", "6 fields");
}

#[test]
fn update_patches_only_what_was_given() {
    let s = spec(&["--set", "a=1", "--label", "os=linux", "--status", "Enabled"]);
    let p = task_patch(&s, &StepChoice::from_args(&s).unwrap(), &ResolvedSource::default(), &[]).unwrap();
    assert_eq!(p, json!({"values": {"a": "1"}, "agent_labels": {"os": "linux"}, "status": "Enabled"}));
    let empty = spec(&[]);
    assert_eq!(task_patch(&empty, &StepChoice::Unchanged, &ResolvedSource::default(), &[]).unwrap_err().exit_code(), 2);
}

#[test]
fn notify_and_status_flags_patch_only_their_keys() {
    let s = spec(&["--notify-url", "https://a/x", "--notify-url", "https://b/y", "--status-token", "tok"]);
    let p = task_patch(&s, &StepChoice::from_args(&s).unwrap(), &ResolvedSource::default(), &[]).unwrap();
    assert_eq!(
        p,
        json!({"notify": {"urls": ["https://a/x", "https://b/y"]},
               "triggers": {"source": {"commit_status": {"token": "tok"}}}})
    );
    let s = spec(&["--notify-secret", "k"]);
    let p = task_patch(&s, &StepChoice::from_args(&s).unwrap(), &ResolvedSource::default(), &[]).unwrap();
    assert_eq!(p, json!({"notify": {"secret": "k"}}));
}

#[test]
fn update_switching_step_kind_clears_the_old_kind() {
    let s = spec(&["--cmd", "busybox date"]);
    let p = task_patch(&s, &StepChoice::from_args(&s).unwrap(), &ResolvedSource::default(), &[]).unwrap();
    let step = &p["step"];
    assert_eq!(step["kind"], "cmd");
    assert_eq!(step["cmd"], "busybox date");
    for k in FILE_KEYS.iter().chain(&DOCKER_KEYS) {
        assert_eq!(step[*k], Value::Null, "{k}");
        assert!(step.as_object().unwrap().contains_key(*k), "{k} must be nulled, not left out");
    }
    let s = spec(&["--arg", "B=2", "--no-cache"]);
    let p = task_patch(&s, &StepChoice::from_args(&s).unwrap(), &ResolvedSource::default(), &[]).unwrap();
    assert_eq!(p["step"]["kind"], "docker");
    assert_eq!(p["step"]["build_args"], json!({"B": "2"}));
    assert_eq!(p["step"]["no_cache"], true);
    assert!(!p["step"].as_object().unwrap().contains_key("images"), "images untouched");
}

#[test]
fn update_context_to_dev_null_sends_null_and_inline_content() {
    let s = spec(&["-c", "/dev/null", "-f", "job.yaml"]);
    let src = ResolvedSource { context: Some(None), content: Some("steps: []".into()), dockerfile: None };
    let p = task_patch(&s, &StepChoice::from_args(&s).unwrap(), &src, &[]).unwrap();
    assert_eq!(p["context"], Value::Null);
    assert!(p.as_object().unwrap().contains_key("context"));
    assert_eq!(p["step"]["content"], "steps: []");
    assert_eq!(p["step"]["path"], Value::Null);
}
