//! The flags that describe a saved task (`task create` and `task update`) and their mapping to
//! the API: a whole [`Task`] for create, a JSON merge patch (RFC 7386) of only what was given
//! for update. Pure functions; the context upload happens in [`super::task`] before them.

use super::CliError;
use super::pairs::{parse_build_args, parse_labels, parse_map};
use super::trigger_args::TriggerArgs;
use crate::api::{self, DockerBuild, Task, TaskStatus, TaskStep, Timer};
use clap::{Args, ValueEnum};
use serde_json::{Map, Value, json};

/// What a task is: context, step, values, limits and agent selection.
#[derive(Args, Debug, Clone, Default)]
pub struct TaskSpecArgs {
    /// Context: a git URL `https://host/repo.git#branch:folder`, a tarball URL, a local directory
    /// (packed with .dockerignore and uploaded), or /dev/null for none.
    #[arg(short = 'c', long, value_name = "CONTEXT")]
    pub context: Option<String>,
    /// Task file (`.yaml`/`.yml`) or Dockerfile (anything else), as a path in the context; with
    /// `-c /dev/null` a local task file whose content is stored in the task.
    #[arg(short = 'f', long, value_name = "FILE")]
    pub file: Option<String>,
    /// One command `IMAGE ARGS` instead of a task file (ACR's `--cmd`).
    #[arg(long, conflicts_with_all = ["file", "dockerfile", "values"])]
    pub cmd: Option<String>,
    /// Values file of the task file, as a path in the context.
    #[arg(long, value_name = "FILE")]
    pub values: Option<String>,
    /// Dockerfile in the context: makes this a build task (like `-f Dockerfile`).
    #[arg(long, value_name = "FILE", conflicts_with = "file")]
    pub dockerfile: Option<String>,
    /// Build task: image to tag and push, `name:tag`; repeatable; run variables allowed.
    #[arg(short = 't', long = "image", value_name = "IMAGE")]
    pub image: Vec<String>,
    /// Build task: build argument `NAME=VALUE` (a bare NAME takes $NAME); repeatable.
    #[arg(long = "arg", value_name = "NAME[=VALUE]")]
    pub arg: Vec<String>,
    /// Build task: secret build argument (redacted when shown); repeatable.
    #[arg(long = "secret-arg", value_name = "NAME[=VALUE]")]
    pub secret_arg: Vec<String>,
    /// Build task: stage to build.
    #[arg(long)]
    pub target: Option<String>,
    /// Build task: build without pushing (`--no-push false` turns it off again).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub no_push: Option<bool>,
    /// Build task: do not use the layer cache.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub no_cache: Option<bool>,
    /// Platform `os/arch[/variant]`, e.g. linux/arm64: the default of the task's build steps and
    /// what its cmd steps run as; several comma-separated make its builds multi-platform. Its runs
    /// go only to nodes that run every platform named.
    #[arg(long)]
    pub platform: Option<String>,
    /// Value for the task file `NAME=VALUE`; repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Secret value for the task file (redacted when shown); repeatable.
    #[arg(long = "set-secret", value_name = "NAME=VALUE")]
    pub set_secret: Vec<String>,
    /// Run timeout in seconds, 300–28800 (default 3600).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Enabled or Disabled.
    #[arg(long, value_enum, ignore_case = true)]
    pub status: Option<StatusArg>,
    /// Agent label `KEY=VALUE` a node must have to run the task; repeatable.
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Token for a private git context (redacted when shown).
    #[arg(long = "git-access-token", value_name = "TOKEN")]
    pub git_access_token: Option<String>,
    /// Private key file (`cosign.key` from `drydock key generate`) that signs every image the
    /// task's runs push, cosign-style; stored sealed, never shown.
    #[arg(long = "sign-key", value_name = "KEY")]
    pub sign_key: Option<std::path::PathBuf>,
    /// Public key file (`cosign.pub`); repeatable. Every base image the task builds FROM must be
    /// signed by one of them: a base-image trigger for an unsigned digest, or any build from an
    /// unsigned base, fails before it builds, with the refusal in the run's record.
    #[arg(long = "require-signed-base", value_name = "PUB")]
    pub require_signed_base: Vec<std::path::PathBuf>,
    /// A step (by id) that waits for a person's approval before it starts (`drydock runs
    /// approve`); repeatable. The task file stays as ACR runs it.
    #[arg(long = "approve-before", value_name = "STEP")]
    pub approve_before: Vec<String>,
    /// Seconds a run waits for approval before it ends Canceled (default 86400, a day).
    #[arg(long, value_name = "SECONDS")]
    pub approval_timeout: Option<u64>,
    /// A URL that receives a signed JSON event when a run of the task starts and when it ends;
    /// repeatable (update: replaces the list).
    #[arg(long = "notify-url", value_name = "URL")]
    pub notify_url: Vec<String>,
    /// Key of the events' `X-Drydock-Signature: sha256=HMAC` (redacted when shown).
    #[arg(long, value_name = "SECRET")]
    pub notify_secret: Option<String>,
    #[command(flatten)]
    pub triggers: TriggerArgs,
}

/// `--status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    /// Runs when asked or triggered.
    #[value(name = "Enabled")]
    Enabled,
    /// Refuses runs and ignores triggers.
    #[value(name = "Disabled")]
    Disabled,
}

impl From<StatusArg> for TaskStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Enabled => TaskStatus::Enabled,
            StatusArg::Disabled => TaskStatus::Disabled,
        }
    }
}

/// Which kind of step the flags ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepChoice {
    /// No step flag (update: keep the step; create: `acb.yaml` in the context).
    Unchanged,
    /// `--cmd`.
    Cmd(String),
    /// A task file; `None` keeps the path (update) or means `acb.yaml` (create).
    File(Option<String>),
    /// A Dockerfile build; `None` keeps the Dockerfile (update) or means `Dockerfile`.
    Docker(Option<String>),
}

impl StepChoice {
    /// Reads the step flags, rejecting mixes such as `--arg` with a task file.
    pub fn from_args(spec: &TaskSpecArgs) -> Result<StepChoice, CliError> {
        let docker_flag = [
            (!spec.image.is_empty(), "-t/--image"),
            (!spec.arg.is_empty(), "--arg"),
            (!spec.secret_arg.is_empty(), "--secret-arg"),
            (spec.target.is_some(), "--target"),
            (spec.no_push.is_some(), "--no-push"),
            (spec.no_cache.is_some(), "--no-cache"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag));
        let choice = if let Some(cmd) = &spec.cmd {
            StepChoice::Cmd(cmd.clone())
        } else if let Some(df) = &spec.dockerfile {
            StepChoice::Docker(Some(df.clone()))
        } else if let Some(f) = &spec.file {
            if is_task_file(f) { StepChoice::File(Some(f.clone())) } else { StepChoice::Docker(Some(f.clone())) }
        } else if spec.values.is_some() {
            StepChoice::File(None)
        } else if docker_flag.is_some() {
            StepChoice::Docker(None)
        } else {
            StepChoice::Unchanged
        };
        if let (Some(flag), StepChoice::Cmd(_) | StepChoice::File(_)) = (docker_flag, &choice) {
            return Err(CliError::Invalid(format!(
                "{flag} is for Dockerfile builds; give the Dockerfile with --dockerfile or -f (a -f ending in .yaml/.yml is a task file)"
            )));
        }
        if spec.values.is_some() && matches!(choice, StepChoice::Docker(_)) {
            return Err(CliError::Invalid("--values is for task files, not Dockerfile builds".into()));
        }
        Ok(choice)
    }
}

/// ACR's rule: a YAML-looking extension is a task file, anything else a Dockerfile.
pub fn is_task_file(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".yaml") || lower.ends_with(".yml")
}

/// Where the step's files ended up once the context was resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedSource {
    /// The context to send: `None` leaves it alone (update), `Some(None)` means no context.
    pub context: Option<Option<String>>,
    /// The task file's text, sent inline because there is no context.
    pub content: Option<String>,
    /// The Dockerfile as named inside an uploaded context (may differ from what was given).
    pub dockerfile: Option<String>,
}

/// Checks a task name against ACR's rule (exit code 2 when it breaks it).
pub fn check_name(name: &str) -> Result<(), CliError> {
    if api::valid_task_name(name) {
        Ok(())
    } else {
        Err(CliError::Invalid(format!("task name `{name}` must be 5–50 characters of letters, digits, `-` and `_`")))
    }
}

/// Checks a run timeout against ACR's bounds.
pub fn check_timeout(seconds: u64) -> Result<u64, CliError> {
    if (api::MIN_TIMEOUT..=api::MAX_TIMEOUT).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(CliError::Invalid(format!(
            "--timeout {seconds} is out of range: give {}–{} seconds",
            api::MIN_TIMEOUT,
            api::MAX_TIMEOUT
        )))
    }
}

/// Parses `--schedule "[name:]cron"` flags; unnamed timers get `t1`, `t2`, … (skipping names
/// already taken), as ACR does.
pub fn parse_schedules(args: &[String]) -> Result<Vec<Timer>, CliError> {
    let mut named: Vec<(Option<String>, String)> = Vec::new();
    for a in args {
        // Cron fields never contain `:`, so a colon always ends a name.
        let (name, cron) = match a.split_once(':') {
            Some((n, c)) if is_timer_name(n.trim()) => (Some(n.trim().to_string()), c.trim()),
            Some((n, _)) => {
                return Err(CliError::Invalid(format!(
                    "timer name `{n}` in --schedule `{a}` must be letters, digits, `-` and `_`"
                )));
            }
            None => (None, a.trim()),
        };
        check_cron(cron)?;
        named.push((name, cron.split_whitespace().collect::<Vec<_>>().join(" ")));
    }
    let mut timers: Vec<Timer> = Vec::new();
    let mut next = 1;
    let taken: Vec<String> = named.iter().filter_map(|(n, _)| n.clone()).collect();
    for (name, schedule) in named {
        let name = name.unwrap_or_else(|| {
            loop {
                let candidate = format!("t{next}");
                next += 1;
                if !taken.contains(&candidate) {
                    break candidate;
                }
            }
        });
        if timers.iter().any(|t| t.name == name) {
            return Err(CliError::Invalid(format!("two schedules are named `{name}`")));
        }
        if timers.iter().any(|t| t.schedule == schedule) {
            return Err(CliError::Invalid(format!("the schedule `{schedule}` is given twice")));
        }
        timers.push(Timer { name, schedule, enabled: true, missed: Default::default(), next_fire: None });
    }
    Ok(timers)
}

/// Timer names are like task names but may be short (`t1`).
pub fn is_timer_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 50 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A cron expression has 5 fields (6 with seconds); the daemon checks the fields themselves.
pub fn check_cron(cron: &str) -> Result<(), CliError> {
    match cron.split_whitespace().count() {
        5 | 6 => Ok(()),
        n => Err(CliError::Invalid(format!(
            "schedule `{cron}` has {n} fields; give 5 (minute hour day month weekday, UTC), e.g. \"0 3 * * *\""
        ))),
    }
}

/// The task to create.
pub fn task_for_create(
    name: &str,
    spec: &TaskSpecArgs,
    choice: &StepChoice,
    source: &ResolvedSource,
    timers: Vec<Timer>,
) -> Result<Task, CliError> {
    check_name(name)?;
    let step = match choice {
        StepChoice::Cmd(cmd) => TaskStep::Cmd { cmd: cmd.clone() },
        StepChoice::Unchanged | StepChoice::File(_) => TaskStep::File {
            path: match (choice, &source.content) {
                (_, Some(_)) => None,
                (StepChoice::File(p), None) => p.clone(),
                _ => None,
            },
            content: source.content.clone(),
            values_file: spec.values.clone(),
        },
        StepChoice::Docker(given) => TaskStep::Docker(DockerBuild {
            dockerfile: source.dockerfile.clone().or_else(|| given.clone()),
            images: spec.image.clone(),
            build_args: parse_build_args(&spec.arg, "--arg", env_var)?,
            secret_build_args: parse_build_args(&spec.secret_arg, "--secret-arg", env_var)?,
            target: spec.target.clone(),
            // The platform lives on the task (one place to change it); see `platform` below.
            platform: None,
            no_push: spec.no_push.unwrap_or(false),
            no_cache: spec.no_cache.unwrap_or(false),
        }),
    };
    let mut triggers = api::TaskTriggers::default();
    spec.triggers.apply(&mut triggers)?;
    Ok(Task {
        name: name.to_string(),
        context: source.context.clone().flatten(),
        step,
        values: parse_map(&spec.set, "--set")?,
        secret_values: parse_map(&spec.set_secret, "--set-secret")?,
        timeout: check_timeout(spec.timeout.unwrap_or(api::DEFAULT_TIMEOUT))?,
        status: spec.status.map(TaskStatus::from).unwrap_or_default(),
        agent_labels: parse_labels(&spec.label)?,
        platform: spec.platform.clone(),
        git_token: spec.git_access_token.clone(),
        credentials: Vec::new(),
        sign_key: spec.sign_key.as_deref().map(super::signing::read_private_key).transpose()?.map(|(pem, _)| pem),
        require_signed_base: super::signing::read_public_key_pems(&spec.require_signed_base)?,
        approve_before: spec.approve_before.iter().filter(|s| !s.is_empty()).cloned().collect(),
        approval_timeout: spec.approval_timeout,
        timers,
        triggers,
        notify: api::RunNotify { urls: spec.notify_url.clone(), secret: spec.notify_secret.clone() },
        created_at: None,
        updated_at: None,
        last_run: None,
    })
}

/// Step keys of each kind: switching kinds nulls the others' keys so that nothing stale stays.
const FILE_KEYS: [&str; 3] = ["path", "content", "values_file"];
const CMD_KEYS: [&str; 1] = ["cmd"];
const DOCKER_KEYS: [&str; 8] =
    ["dockerfile", "images", "build_args", "secret_build_args", "target", "platform", "no_push", "no_cache"];

/// The merge patch for `task update`: only what was given. Maps (`--set`, `--label`, `--arg`)
/// merge key by key on the daemon; `-t` replaces the image list; event flags change only the
/// events they name in `current_events` (the task's list, fetched when an event flag is given).
pub fn task_patch(
    spec: &TaskSpecArgs,
    choice: &StepChoice,
    source: &ResolvedSource,
    current_events: &[api::SourceEvent],
) -> Result<Value, CliError> {
    let mut patch = Map::new();
    if let Some(t) = spec.triggers.patch(current_events)? {
        patch.insert("triggers".into(), t);
    }
    let mut notify = Map::new();
    if !spec.notify_url.is_empty() {
        notify.insert("urls".into(), json!(spec.notify_url));
    }
    if let Some(s) = &spec.notify_secret {
        notify.insert("secret".into(), json!(s));
    }
    if !notify.is_empty() {
        patch.insert("notify".into(), Value::Object(notify));
    }
    if let Some(context) = &source.context {
        patch.insert("context".into(), context.clone().map_or(Value::Null, Value::String));
    }
    if let Some(step) = step_patch(spec, choice, source)? {
        patch.insert("step".into(), step);
    }
    let mut put_map = |key: &str, map: std::collections::BTreeMap<String, String>| {
        if !map.is_empty() {
            patch.insert(key.into(), json!(map));
        }
    };
    put_map("values", parse_map(&spec.set, "--set")?);
    put_map("secret_values", parse_map(&spec.set_secret, "--set-secret")?);
    put_map("agent_labels", parse_labels(&spec.label)?);
    if let Some(t) = spec.timeout {
        patch.insert("timeout".into(), json!(check_timeout(t)?));
    }
    if let Some(s) = spec.status {
        patch.insert("status".into(), json!(TaskStatus::from(s)));
    }
    if let Some(p) = &spec.platform {
        patch.insert("platform".into(), json!(p));
    }
    if let Some(t) = &spec.git_access_token {
        patch.insert("git_token".into(), json!(t));
    }
    if !spec.require_signed_base.is_empty() {
        patch.insert(
            "require_signed_base".into(),
            json!(super::signing::read_public_key_pems(&spec.require_signed_base)?),
        );
    }
    if let Some(path) = &spec.sign_key {
        patch.insert("sign_key".into(), json!(super::signing::read_private_key(path)?.0));
    }
    if !spec.approve_before.is_empty() {
        // `--approve-before ''` clears the list.
        let steps: Vec<&String> = spec.approve_before.iter().filter(|s| !s.is_empty()).collect();
        patch.insert("approve_before".into(), json!(steps));
    }
    if let Some(t) = spec.approval_timeout {
        patch.insert("approval_timeout".into(), json!(t));
    }
    if patch.is_empty() {
        return Err(CliError::Invalid("nothing to update: give the flags to change (see --help)".into()));
    }
    Ok(Value::Object(patch))
}

fn step_patch(spec: &TaskSpecArgs, choice: &StepChoice, source: &ResolvedSource) -> Result<Option<Value>, CliError> {
    let mut step = Map::new();
    let clear = |step: &mut Map<String, Value>, keys: &[&str]| {
        for k in keys {
            step.insert((*k).into(), Value::Null);
        }
    };
    match choice {
        StepChoice::Unchanged => return Ok(None),
        StepChoice::Cmd(cmd) => {
            clear(&mut step, &FILE_KEYS);
            clear(&mut step, &DOCKER_KEYS);
            step.insert("kind".into(), json!("cmd"));
            step.insert("cmd".into(), json!(cmd));
        }
        StepChoice::File(path) => {
            clear(&mut step, &CMD_KEYS);
            clear(&mut step, &DOCKER_KEYS);
            step.insert("kind".into(), json!("file"));
            // A path and inline content exclude each other.
            if let Some(text) = &source.content {
                step.insert("content".into(), json!(text));
                step.insert("path".into(), Value::Null);
            } else if let Some(p) = path {
                step.insert("path".into(), json!(p));
                step.insert("content".into(), Value::Null);
            }
            if let Some(v) = &spec.values {
                step.insert("values_file".into(), json!(v));
            }
        }
        StepChoice::Docker(given) => {
            clear(&mut step, &CMD_KEYS);
            clear(&mut step, &FILE_KEYS);
            step.insert("kind".into(), json!("docker"));
            if let Some(df) = source.dockerfile.clone().or_else(|| given.clone()) {
                step.insert("dockerfile".into(), json!(df));
            }
            if !spec.image.is_empty() {
                step.insert("images".into(), json!(spec.image));
            }
            let args = parse_build_args(&spec.arg, "--arg", env_var)?;
            if !args.is_empty() {
                step.insert("build_args".into(), json!(args));
            }
            let secret = parse_build_args(&spec.secret_arg, "--secret-arg", env_var)?;
            if !secret.is_empty() {
                step.insert("secret_build_args".into(), json!(secret));
            }
            for (key, value) in [
                ("target", spec.target.as_ref().map(|t| json!(t))),
                ("no_push", spec.no_push.map(|b| json!(b))),
                ("no_cache", spec.no_cache.map(|b| json!(b))),
            ] {
                if let Some(v) = value {
                    step.insert(key.into(), v);
                }
            }
        }
    }
    Ok(Some(Value::Object(step)))
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(test)]
#[path = "task_spec_tests.rs"]
mod tests;
