//! Step validation and ACR's step defaults.

use super::diag::{Diagnostic, Diagnostics, Pos, did_you_mean};
use super::model::StepSpec;
use super::task::{BuildStep, CmdStep, DEFAULT_RETRY_DELAY, PushStep, Step, StepKind, TaskFile, VolumeMount, When};
use super::validate::{ValidateContext, check_env, non_negative, resolve_workdir};
use super::yaml::YNode;
use std::collections::{HashMap, HashSet};

/// The id ACR reserves for the synthetic root of its DAG.
const ROOT_ID: &str = "acb_root";

/// Properties that do something on a push step; ACR ignores the others there.
const PUSH_PROPERTIES: &[&str] = &["id", "push", "env", "ignoreErrors", "startDelay", "timeout", "when"];

/// Validates every step; returns the steps that could be built (errors are in `diags`).
pub fn validate_steps(
    specs: Vec<StepSpec>,
    node: &YNode,
    task: &TaskFile,
    cx: &ValidateContext<'_>,
    diags: &mut Diagnostics,
) -> Vec<Step> {
    // First pass: ids, so that `when` can tell unknown ids from forward references.
    let ids: Vec<String> =
        specs.iter().enumerate().map(|(i, s)| s.id.clone().unwrap_or_else(|| format!("acb_step_{i}"))).collect();
    // First occurrence of every id, so `when` lookups are O(1) on 10,000-step files.
    let mut first_index: HashMap<&str, usize> = HashMap::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        first_index.entry(id.as_str()).or_insert(i);
    }
    let mut index_of: HashMap<&str, usize> = HashMap::new();
    let mut steps = Vec::new();
    for (i, spec) in specs.into_iter().enumerate() {
        let fallback = YNode::null(node.pos);
        let item = node.at(i).unwrap_or(&fallback);
        let at = |key: &str| cx.map.map(item.pos_of(key));
        let step_pos = cx.map.map(item.pos);
        let id = ids[i].clone();
        if id.is_empty() || id.contains(char::is_whitespace) || id == ROOT_ID {
            diags.push(
                Diagnostic::error("invalid-id", format!("invalid step id `{id}`"))
                    .at(at("id"))
                    .help("step ids are non-empty, have no spaces, and `acb_root` is reserved"),
            );
        } else if let Some(first) = index_of.get(id.as_str()) {
            diags.push(
                Diagnostic::error("duplicate-id", format!("step id `{id}` is used twice"))
                    .at(at("id"))
                    .help(format!("step {} already has this id; ids must be unique", first + 1)),
            );
        } else {
            index_of.insert(&ids[i], i);
        }
        let when = validate_when(&spec, i, &ids, &first_index, item, cx, diags);
        if let Some(step) = build_step(spec, i, id, when, step_pos, item, task, cx, diags) {
            steps.push(step);
        }
    }
    steps
}

/// Checks `when` against ACR's rules: `-` alone, no self reference, only earlier steps.
fn validate_when(
    spec: &StepSpec,
    index: usize,
    ids: &[String],
    first_index: &HashMap<&str, usize>,
    item: &YNode,
    cx: &ValidateContext<'_>,
    diags: &mut Diagnostics,
) -> When {
    let Some(list) = &spec.when else { return When::Previous };
    if list.is_empty() {
        return When::Previous;
    }
    let node = item.get("when");
    let pos_of = |j: usize| cx.map.map(node.and_then(|n| n.at(j)).map_or(item.pos_of("when"), |n| n.pos));
    let me = &ids[index];
    if list.iter().any(|w| w == "-") {
        if list.len() > 1 {
            diags.push(
                Diagnostic::error("invalid-when", format!("step `{me}`: `when` mixes `-` with step ids"))
                    .at(cx.map.map(item.pos_of("when")))
                    .help("use `when: [\"-\"]` to start at once, or list the steps to wait for, not both"),
            );
        }
        return When::Immediately;
    }
    let mut deps: Vec<String> = Vec::new();
    for (j, dep) in list.iter().enumerate() {
        let pos = pos_of(j);
        if dep == me {
            diags.push(
                Diagnostic::error("invalid-when", format!("step `{me}` waits for itself"))
                    .at(pos)
                    .help("remove its own id from `when`"),
            );
            continue;
        }
        match first_index.get(dep.as_str()).copied() {
            Some(k) if k < index => {
                if !deps.contains(dep) {
                    deps.push(dep.clone());
                }
            }
            Some(_) => diags.push(
                Diagnostic::error(
                    "invalid-when",
                    format!("step `{me}` waits for `{dep}`, which comes later in the file"),
                )
                .at(pos)
                .help(format!("ACR only lets a step wait for steps defined before it; move `{dep}` above this step")),
            ),
            None => {
                let mut d =
                    Diagnostic::error("invalid-when", format!("step `{me}` waits for unknown step `{dep}`")).at(pos);
                d = match did_you_mean(dep, ids[..index].iter().map(String::as_str)) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help("`when` lists ids of earlier steps, or is `[\"-\"]`"),
                };
                diags.push(d);
            }
        }
    }
    When::After(deps)
}

/// Builds one step with defaults, or reports why it cannot.
#[allow(clippy::too_many_arguments)]
fn build_step(
    spec: StepSpec,
    index: usize,
    id: String,
    when: When,
    step_pos: Pos,
    item: &YNode,
    task: &TaskFile,
    cx: &ValidateContext<'_>,
    diags: &mut Diagnostics,
) -> Option<Step> {
    let at = |key: &str| cx.map.map(item.pos_of(key));
    let mut nn = |v: Option<i64>, key: &str| non_negative(v, key, at(key), diags);
    let timeout = nn(spec.timeout, "timeout");
    let start_delay = nn(spec.start_delay, "startDelay").unwrap_or(0);
    let retries = nn(spec.retries, "retries").unwrap_or(0);
    let retry_delay = nn(spec.retry_delay, "retryDelay");
    let repeat = nn(spec.repeat, "repeat").unwrap_or(0);
    let dl_retries = nn(spec.cmd_download_retries, "cmdDownloadRetries").unwrap_or(0);
    let dl_delay = nn(spec.cmd_download_retry_delay, "cmdDownloadRetryDelay").unwrap_or(0);

    let kinds = [spec.build.is_some(), spec.cmd.is_some(), spec.push.is_some()];
    let kind_count = kinds.iter().filter(|k| **k).count();
    if kind_count != 1 {
        let what = if kind_count == 0 { "none" } else { "more than one" };
        diags.push(
            Diagnostic::error("step-kind", format!("step `{id}` has {what} of `build`, `cmd` and `push`"))
                .at(step_pos)
                .help("each step does exactly one thing: give it one of `build:`, `cmd:` or `push:`"),
        );
        return None;
    }
    let kind =
        if let Some(raw) = spec.build.clone() {
            match crate::buildargs::parse(&raw) {
                Ok(spec) => StepKind::Build(Box::new(BuildStep { raw, spec })),
                Err(e) => {
                    diags.push(Diagnostic::error("invalid-build", format!("step `{id}`: {e}")).at(at("build")).help(
                        "`build:` takes `docker build` arguments and one context, e.g. `-t app:1 -f Dockerfile .`",
                    ));
                    return None;
                }
            }
        } else if let Some(raw) = spec.cmd.clone() {
            parse_cmd(&id, raw, at("cmd"), task, cx, diags)?
        } else {
            StepKind::Push(parse_push(&id, spec.push.clone().unwrap_or_default(), item, cx, diags)?)
        };

    check_step_properties(&spec, &id, &kind, item, cx, diags);
    let env = merge_env(&task.env, spec.env.as_deref().unwrap_or_default());
    check_env(spec.env.as_deref().unwrap_or_default(), item.get("env"), &format!("step `{id}`"), cx, diags);
    let cache = match spec.cache.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("disabled") => false,
        Some("enabled") => true,
        Some(other) => {
            diags.push(
                Diagnostic::error("invalid-cache", format!("step `{id}`: invalid cache value `{other}`"))
                    .at(at("cache"))
                    .help("`cache` is `enabled` or `disabled`"),
            );
            false
        }
    };
    let volume_mounts = validate_mounts(&spec, &id, task, item, cx, diags);
    let working_directory = if spec.disable_working_directory_override.unwrap_or(false) {
        None
    } else {
        Some(spec.working_directory.as_deref().map_or_else(|| task.working_directory.clone(), resolve_workdir))
    };
    Some(Step {
        index,
        id,
        line: step_pos.line,
        kind,
        when,
        timeout: timeout.filter(|t| *t > 0).unwrap_or(task.step_timeout),
        start_delay,
        retries: u32::try_from(retries).unwrap_or(u32::MAX),
        retry_delay: retry_delay.filter(|d| *d > 0).unwrap_or(DEFAULT_RETRY_DELAY),
        retry_on_errors: spec.retry_on_errors.unwrap_or_default(),
        repeat: u32::try_from(repeat).unwrap_or(u32::MAX),
        ignore_errors: spec.ignore_errors.unwrap_or(false),
        detach: spec.detach.unwrap_or(false),
        keep: spec.keep.unwrap_or(false),
        entry_point: spec.entry_point,
        env,
        working_directory,
        network: spec.network,
        ports: spec.ports.unwrap_or_default(),
        expose: spec.expose.unwrap_or_default(),
        privileged: spec.privileged.unwrap_or(false),
        user: spec.user,
        isolation: spec.isolation,
        cpus: spec.cpus,
        pull: spec.pull.unwrap_or(false),
        cmd_download_retries: u32::try_from(dl_retries).unwrap_or(u32::MAX),
        cmd_download_retry_delay: dl_delay,
        volume_mounts,
        cache,
    })
}

/// Splits a `cmd` string with shell rules and expands the image alias (v1.1.0).
fn parse_cmd(
    id: &str,
    raw: String,
    pos: Pos,
    task: &TaskFile,
    cx: &ValidateContext<'_>,
    diags: &mut Diagnostics,
) -> Option<StepKind> {
    let words = match crate::shellwords::split(&raw) {
        Ok(w) => w,
        Err(e) => {
            diags.push(
                Diagnostic::error("invalid-cmd", format!("step `{id}`: {e}"))
                    .at(pos)
                    .help("close the quote, or escape it with a backslash"),
            );
            return None;
        }
    };
    let Some((first, args)) = words.split_first() else {
        diags.push(
            Diagnostic::error("invalid-cmd", format!("step `{id}`: `cmd` is empty"))
                .at(pos)
                .help("`cmd:` is an image followed by its arguments, e.g. `busybox echo hi`"),
        );
        return None;
    };
    let ops = crate::shellwords::shell_operators(&raw);
    if !ops.is_empty() {
        diags.push(
            Diagnostic::warning(
                "shell-operator",
                format!("step `{id}`: `{}` in `cmd` is passed to the container as an argument", ops.join("`, `")),
            )
            .at(pos)
            .help(
                "ACR's agent shell interpreted these before the container started; drydock passes them on unchanged. \
                 For a shell in the container to run them, write `IMAGE sh -c '…'` with single quotes \
                 (inside double quotes ACR's agent would still expand `$(…)` and backticks)",
            ),
        );
    }
    let image = if task.version.has_aliases() {
        cx.image_aliases.expand(first).unwrap_or(first).to_string()
    } else {
        first.clone()
    };
    Some(StepKind::Cmd(CmdStep { raw, image, args: args.to_vec() }))
}

/// Normalises push targets: `:latest` where untagged, duplicates dropped (as ACR's runner does).
fn parse_push(
    id: &str,
    images: Vec<String>,
    item: &YNode,
    cx: &ValidateContext<'_>,
    diags: &mut Diagnostics,
) -> Option<PushStep> {
    let node = item.get("push");
    if images.is_empty() {
        diags.push(
            Diagnostic::error("invalid-push", format!("step `{id}`: `push` lists no images"))
                .at(cx.map.map(item.pos_of("push")))
                .help("list the images to push, e.g. `push: [\"$Registry/app:$ID\"]`"),
        );
        return None;
    }
    let mut out: Vec<String> = Vec::new();
    let mut ok = true;
    for (j, img) in images.iter().enumerate() {
        let pos = cx.map.map(node.and_then(|n| n.at(j)).map_or(item.pos_of("push"), |n| n.pos));
        match crate::reference::ImageRef::parse(img.trim()) {
            Ok(r) => {
                let normal = r.to_string();
                if !out.contains(&normal) {
                    out.push(normal);
                }
            }
            Err(e) => {
                ok = false;
                let help = if img.trim().starts_with('/') {
                    "the registry part is empty, as when `$Registry` is not set: pass --registry (or set \
                     DRYDOCK_REGISTRY), e.g. --registry 127.0.0.1:5000"
                } else {
                    "push targets are image references like `registry.example.com/app:1.0`"
                };
                diags.push(
                    Diagnostic::error("invalid-push", format!("step `{id}`: cannot push `{img}`: {e}"))
                        .at(pos)
                        .help(help),
                );
            }
        }
    }
    ok.then_some(PushStep { images: out })
}

/// Warnings for properties that do nothing where they are used, and for reserved ones.
fn check_step_properties(
    spec: &StepSpec,
    id: &str,
    kind: &StepKind,
    item: &YNode,
    cx: &ValidateContext<'_>,
    diags: &mut Diagnostics,
) {
    let mut warn = |key: &str, msg: String, help: &str| {
        diags.push(Diagnostic::warning("ignored-property", msg).at(cx.map.map(item.pos_of(key))).help(help));
    };
    for (key, _, _) in item.entries() {
        if matches!(kind, StepKind::Push(_))
            && !PUSH_PROPERTIES.contains(&key.as_str())
            && super::model::keys::STEP.contains(&key.as_str())
        {
            warn(
                key,
                format!("step `{id}`: `{key}` has no effect on a push step"),
                "push steps use only id, env, ignoreErrors, startDelay, timeout and when",
            );
        }
    }
    for key in ["secret", "exitedWith", "exitedWithout"] {
        if item.get(key).is_some() {
            warn(
                key,
                format!("step `{id}`: `{key}` is reserved by ACR and has no effect"),
                "remove it; ACR's runner never acted on it either",
            );
        }
    }
    if spec.isolation.is_some() {
        warn(
            "isolation",
            format!("step `{id}`: `isolation` is ignored on Linux engines"),
            "it only selects Windows isolation modes",
        );
    }
    if spec.entry_point.is_some() && matches!(kind, StepKind::Build(_)) {
        warn(
            "entryPoint",
            format!("step `{id}`: `entryPoint` is ignored on build steps"),
            "set ENTRYPOINT in the Dockerfile instead",
        );
    }
    if spec.cache.is_some() && !matches!(kind, StepKind::Build(_)) {
        warn("cache", format!("step `{id}`: `cache` only applies to build steps"), "remove it");
    }
}

/// Task env first, then the step's entries: a step entry with the same key replaces the task's
/// value in place; new keys are appended (ACR's per-key merge).
pub fn merge_env(task_env: &[String], step_env: &[String]) -> Vec<String> {
    let key = |e: &str| e.split_once('=').map_or(e, |(k, _)| k).to_string();
    let mut out: Vec<String> = task_env.to_vec();
    for e in step_env {
        let k = key(e);
        match out.iter_mut().find(|x| key(x) == k) {
            Some(slot) => *slot = e.clone(),
            None => out.push(e.clone()),
        }
    }
    out
}

fn validate_mounts(
    spec: &StepSpec,
    id: &str,
    task: &TaskFile,
    item: &YNode,
    cx: &ValidateContext<'_>,
    diags: &mut Diagnostics,
) -> Vec<VolumeMount> {
    let Some(mounts) = &spec.volume_mounts else { return Vec::new() };
    let node = item.get("volumeMounts");
    if spec.push.is_some() {
        diags.push(
            Diagnostic::error("invalid-mount", format!("step `{id}`: push steps cannot mount volumes"))
                .at(cx.map.map(item.pos_of("volumeMounts"))),
        );
        return Vec::new();
    }
    let mut paths = HashSet::new();
    let mut out = Vec::new();
    for (j, m) in mounts.iter().enumerate() {
        let mnode = node.and_then(|n| n.at(j));
        let pos = |key: &str| cx.map.map(mnode.map_or(item.pos_of("volumeMounts"), |n| n.pos_of(key)));
        let name = m.name.clone().unwrap_or_default();
        if !task.volumes.iter().any(|v| v.name == name) {
            let known: Vec<&str> = task.volumes.iter().map(|v| v.name.as_str()).collect();
            let mut d = Diagnostic::error("invalid-mount", format!("step `{id}` mounts unknown volume `{name}`"))
                .at(pos("name"));
            d = match did_you_mean(&name, known.iter().copied()) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help("declare it under the task's `volumes:` first"),
            };
            diags.push(d);
            continue;
        }
        let path = m.mount_path.clone().unwrap_or_default();
        if !path.starts_with('/') {
            diags.push(
                Diagnostic::error("invalid-mount", format!("step `{id}`: mountPath `{path}` is not an absolute path"))
                    .at(pos("mountPath"))
                    .help("mount paths start with `/`, e.g. `/run/secrets`"),
            );
            continue;
        }
        if !paths.insert(path.clone()) {
            diags.push(
                Diagnostic::error("invalid-mount", format!("step `{id}` mounts two volumes at `{path}`"))
                    .at(pos("mountPath")),
            );
            continue;
        }
        out.push(VolumeMount { name, mount_path: path });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_merges_per_key() {
        let merged = merge_env(&["A=1".into(), "B=2".into()], &["B=3".into(), "C=4".into()]);
        assert_eq!(merged, vec!["A=1", "B=3", "C=4"]);
    }
}
