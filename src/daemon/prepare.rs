//! From a claimed run to something the engine can execute: fetch the context (upload, git commit,
//! none), find or write the task file, merge its values; `engine::prepare` (which local runs use
//! too) then renders it with the run's values and secrets into the engine's request.

use super::Service;
use super::spec::RunSpec;
use crate::api::TaskStep;
use crate::context::alias_sources::ContextAliasSources;
use crate::context::archive::{self, ArchiveLimits};
use crate::context::git::{self, GitSpec};
use crate::docker::EngineInfo;
use crate::engine::prepare::{self, RunTarget};
use crate::engine::{Execution, Gate, GitInfo, RunSource};
use crate::registry::keys::{SignatureKey, VerificationKey};
use crate::registry::{Credentials, Login};
use crate::secrets::{Masker, Secret};
use crate::store::RunRow;
use crate::taskfile::{Diagnostics, LoadOptions, LoadRequest, RunVars, synth, values};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A run ready for the engine.
pub struct Prepared {
    /// The engine's request.
    pub request: Execution,
    /// Secrets to mask in the log.
    pub masker: Masker,
    /// Warnings from the task-file pipeline, for the log.
    pub warnings: Diagnostics,
    /// Keeps a fetched or extracted context on disk for the run's duration.
    pub _workdir: Option<tempfile::TempDir>,
    /// What a later resume checks and renders with, recorded in the run's resume point.
    pub rendered: Rendered,
}

/// How the task was rendered, for a later resume to check and repeat.
#[derive(Clone, Debug, Default)]
pub struct Rendered {
    /// SHA-256 of the task file's text.
    pub task_hash: String,
    /// The context's commit.
    pub commit: Option<String>,
    /// `.Run.ID`.
    pub run_id: String,
    /// `.Run.Date`.
    pub date: Option<chrono::DateTime<chrono::Utc>>,
}

/// Why a run could not start; `diagnostics` go to the run log.
pub struct PrepareError {
    /// One line for the run record.
    pub message: String,
    /// Task-file findings, when the task file was the problem.
    pub diagnostics: Diagnostics,
}

impl From<String> for PrepareError {
    fn from(message: String) -> Self {
        PrepareError { message, diagnostics: Diagnostics::default() }
    }
}

/// Where the run's files are on this machine.
struct Fetched {
    source: RunSource,
    /// A directory to read the task file, values file and alias sources from.
    dir: Option<PathBuf>,
    commit: Option<String>,
    branch: Option<String>,
    repository: String,
    temp: Option<tempfile::TempDir>,
}

impl Fetched {
    /// A run without a context.
    fn nothing() -> Self {
        Fetched {
            source: RunSource::None,
            dir: None,
            commit: None,
            branch: None,
            repository: String::new(),
            temp: None,
        }
    }
}

/// Prepares a claimed run.
/// `gate` makes the approver of `--approve-before` steps, given how long it may wait.
pub async fn prepare(
    svc: &Service,
    row: &RunRow,
    engine: &EngineInfo,
    gate: &(dyn Fn(Duration) -> Arc<dyn Gate> + Sync),
) -> Result<Prepared, PrepareError> {
    let mut spec: RunSpec = serde_json::from_value(row.request.clone())
        .map_err(|e| format!("the stored run request is unreadable: {e}"))?;
    svc.unseal_spec(&mut spec).map_err(|e| e.to_string())?;
    let resuming = match spec.resume.clone() {
        Some(of) => Some(super::resume::load(svc, &of, row, &mut spec).await?),
        None => None,
    };
    let quick_build = matches!(spec.step, TaskStep::Docker(_));
    let fetched = fetch(svc, &spec, quick_build).await?;

    let (file_name, source_text, values_file) = task_text(svc, &spec, &fetched)?;
    let mut files = Vec::new();
    if let (Some(vf), Some(dir)) = (&values_file, &fetched.dir) {
        let text = std::fs::read_to_string(inside(dir, vf)?).map_err(|e| format!("values file {vf}: {e}"))?;
        files.push((vf.clone(), text));
    }
    // Given with a rerun or resume (checked then): over the task's own.
    files.extend(spec.values_files.iter().map(|f| (f.name.clone(), f.content.clone())));
    let sets: Vec<String> = spec.values.iter().chain(&spec.secret_values).map(|(k, v)| format!("{k}={v}")).collect();
    // The values' own warnings are not shown: a task's values are checked when it is saved.
    let (merged, _) = values::merge(&files, &sets).map_err(|e| match e {
        values::ValuesError::File(d) => PrepareError {
            message: format!("values file {} is not valid", values_file.clone().unwrap_or_default()),
            diagnostics: Diagnostics(vec![d]),
        },
        values::ValuesError::Set(m) => PrepareError::from(m),
    })?;

    let rendered = Rendered {
        task_hash: super::resume::task_hash(&source_text),
        commit: fetched.commit.clone(),
        run_id: resuming.as_ref().map(|r| r.run_id.clone()).unwrap_or_else(|| row.id.clone()),
        date: Some(resuming.as_ref().and_then(|r| r.date).unwrap_or_else(chrono::Utc::now)),
    };
    let run = RunVars {
        id: rendered.run_id.clone(),
        shared_volume: match &resuming {
            Some(r) => r.workspace.clone(),
            None => format!("drydock_ws_{}", svc.settings.object_key(&row.id)),
        },
        registry: svc.settings.registry.clone(),
        date: rendered.date,
        os: engine.os.clone(),
        architecture: go_arch(&engine.arch),
        commit: fetched.commit.clone().unwrap_or_default(),
        branch: fetched.branch.clone().unwrap_or_default(),
        task_name: spec.task_name.clone().unwrap_or_default(),
        repository: fetched.repository.clone(),
        git_tag: spec.checkout.as_ref().and_then(|c| c.git_tag.clone()).unwrap_or_default(),
        triggered_by: spec.triggered_by.clone(),
    };
    // In a block: the alias loader is not thread-safe and must be gone before the await below.
    let prepared = {
        let aliases = ContextAliasSources::new(fetched.dir.as_deref(), None);
        let secrets = spec.secret_values.clone().into_iter().collect();
        let req = LoadRequest {
            file_name: &file_name,
            source: &source_text,
            values: merged,
            secrets,
            run,
            now: chrono::Utc::now(),
            alias_loader: &aliases,
            options: LoadOptions { image_aliases: svc.settings.image_aliases.clone(), ..LoadOptions::default() },
        };
        let mut credentials = Credentials::new();
        for c in &spec.credentials {
            credentials.insert(&c.login_server, Login::new(c.username.clone(), c.password.clone()));
        }
        let sign_key = spec.sign_key.as_deref().map(SignatureKey::from_pem).transpose().map_err(|e| {
            format!("the task's signing key cannot be used: {e}; replace it with `drydock task update --sign-key FILE`")
        })?;
        let require_signed_base = spec
            .require_signed_base
            .iter()
            .map(|pem| VerificationKey::from_pem(pem))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("a key of the task's --require-signed-base cannot be used: {e}"))?;
        let target = RunTarget {
            run_id: row.id.clone(),
            object_key: svc.settings.object_key(&row.id),
            source: fetched.source,
            timeout: Duration::from_secs(spec.timeout),
            quick_build,
            git: GitInfo { commit: fetched.commit.clone() },
            credentials,
            sign_key,
            require_signed_base,
            untrusted: spec.untrusted.clone(),
            approve_before: spec.approve_before.clone(),
            gate: (!spec.approve_before.is_empty())
                .then(|| gate(Duration::from_secs(spec.approval_timeout.unwrap_or(DEFAULT_APPROVAL_TIMEOUT)))),
            keep_workspace: !svc.settings.keep_failed_workspace.is_zero(),
            resume: resuming.as_ref().map(|r| r.resume.clone()),
            platform: spec.platform.clone(),
        };
        let secrets = spec
            .secret_values
            .values()
            .cloned()
            .chain(spec.git_token.iter().cloned())
            .chain(spec.sign_key.iter().cloned())
            .chain(spec.credentials.iter().map(|c| c.password.clone()));
        prepare::prepare(&req, target, secrets)
            .map_err(|d| PrepareError { message: "the task file is not valid".into(), diagnostics: d })?
    };
    // A gate on a step the file does not have (renamed since?) must not let the run go ungated.
    let steps: Vec<&str> = prepared.request.task.steps.iter().map(|s| s.id.as_str()).collect();
    if let Some(missing) = spec.approve_before.iter().find(|s| !steps.contains(&s.as_str())) {
        return Err(format!(
            "the task waits for approval before step `{missing}` (--approve-before), which the task file does not have \
             (its steps: {}); fix the task with `drydock task update --approve-before STEP`",
            steps.join(", ")
        )
        .into());
    }
    if let Some(r) = &resuming {
        super::resume::confirm(svc, r, fetched.commit.as_deref(), &rendered.task_hash).await?;
    }
    Ok(Prepared {
        request: prepared.request,
        masker: prepared.masker,
        warnings: prepared.warnings,
        _workdir: fetched.temp,
        rendered,
    })
}

/// The steps a queued run will have, with their edges, when they are known before its context is
/// fetched (an inline task file without a values file, a command, a quick build), so that its
/// graph can be drawn from the moment it is queued. `None` otherwise, or when the file does not
/// render yet: the worker records the real plan either way.
pub fn planned_steps(svc: &Service, id: &str, spec: &RunSpec) -> Option<Vec<crate::run::StepRecord>> {
    let text = match &spec.step {
        TaskStep::File { content: Some(text), values_file: None, .. } => text.clone(),
        TaskStep::File { .. } => return None,
        _ => task_text(svc, spec, &Fetched::nothing()).ok()?.1,
    };
    let sets: Vec<String> = spec.values.iter().chain(&spec.secret_values).map(|(k, v)| format!("{k}={v}")).collect();
    let files: Vec<(String, String)> = spec.values_files.iter().map(|f| (f.name.clone(), f.content.clone())).collect();
    let (values, _) = values::merge(&files, &sets).ok()?;
    let req = LoadRequest {
        file_name: "task file",
        source: &text,
        values,
        secrets: spec.secret_values.clone().into_iter().collect(),
        run: RunVars {
            id: id.to_string(),
            registry: svc.settings.registry.clone(),
            date: Some(chrono::Utc::now()),
            task_name: spec.task_name.clone().unwrap_or_default(),
            triggered_by: spec.triggered_by.clone(),
            ..RunVars::default()
        },
        now: chrono::Utc::now(),
        alias_loader: &crate::taskfile::alias::NoAliasSources,
        options: LoadOptions { image_aliases: svc.settings.image_aliases.clone(), ..LoadOptions::default() },
    };
    let loaded = crate::taskfile::load(&req).ok()?;
    Some(crate::engine::planned_steps(&loaded.task, &loaded.plan))
}

/// How long a run waits for approval before a step when the task does not say: a day.
pub const DEFAULT_APPROVAL_TIMEOUT: u64 = 86_400;

/// Go's architecture names, which `.Run.Architecture` uses (Docker reports `x86_64`).
fn go_arch(arch: &str) -> String {
    match arch {
        "x86_64" => "amd64".into(),
        "aarch64" => "arm64".into(),
        other => other.to_string(),
    }
}

/// A path inside `dir`, refusing `..` and absolute paths (task files come from repositories).
fn inside(dir: &Path, rel: &str) -> Result<PathBuf, PrepareError> {
    if Path::new(rel).is_absolute() || rel.split('/').any(|c| c == "..") {
        return Err(format!("`{rel}` must be a path inside the context").into());
    }
    Ok(dir.join(rel))
}

/// The task file's name for messages, its text, and the values file to read.
fn task_text(
    svc: &Service,
    spec: &RunSpec,
    fetched: &Fetched,
) -> Result<(String, String, Option<String>), PrepareError> {
    match &spec.step {
        TaskStep::File { path, content, values_file } => {
            if let Some(text) = content {
                return Ok(("task file".into(), text.clone(), values_file.clone()));
            }
            let rel = path.clone().unwrap_or_else(|| "acb.yaml".into());
            let dir = fetched
                .dir
                .as_ref()
                .ok_or_else(|| format!("task file {rel}: the run has no context to read it from"))?;
            let text = std::fs::read_to_string(inside(dir, &rel)?)
                .map_err(|e| format!("task file {rel} in the context: {e}"))?;
            Ok((rel, text, values_file.clone()))
        }
        TaskStep::Cmd { cmd } => Ok(("--cmd".into(), synth::cmd_task(cmd), None)),
        TaskStep::Docker(b) => {
            let registry = &svc.settings.registry;
            let tags = b.images.iter().map(|t| crate::reference::prefix_registry(t, registry)).collect();
            let dockerfile = b.dockerfile.clone().unwrap_or_else(|| "Dockerfile".into());
            // A quick build from a directory reads the Dockerfile by host path.
            let dockerfile = match &fetched.dir {
                Some(dir) => inside(dir, &dockerfile)?.display().to_string(),
                None => dockerfile,
            };
            let task = synth::build_task(&synth::BuildTask {
                tags,
                dockerfile,
                build_args: b.build_args.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                secret_build_args: b.secret_build_args.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                target: b.target.clone(),
                platform: b.platform.clone(),
                no_cache: b.no_cache,
                no_push: b.no_push,
                timeout: spec.timeout,
            });
            Ok(("build".into(), task, None))
        }
    }
}

/// Brings the context to this machine.
async fn fetch(svc: &Service, spec: &RunSpec, quick_build: bool) -> Result<Fetched, PrepareError> {
    let Some(ctx) = &spec.context else { return Ok(Fetched::nothing()) };
    if let Some(id) = ctx.strip_prefix("upload:") {
        let (_, path) = svc
            .store
            .get_context(id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the uploaded context `{id}` is gone"))?;
        if quick_build {
            // A quick build streams the archive straight to the build: no copy on disk.
            return Ok(Fetched { source: RunSource::Archive(PathBuf::from(path)), ..Fetched::nothing() });
        }
        let temp = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let dest = temp.path().join("ctx");
        let archive_path = PathBuf::from(path);
        let dest2 = dest.clone();
        tokio::task::spawn_blocking(move || {
            let f = std::fs::File::open(&archive_path)?;
            archive::extract(f, &dest2, &ArchiveLimits::default()).map_err(std::io::Error::other)
        })
        .await
        .map_err(|e| format!("extracting the context stopped: {e}"))?
        .map_err(|e| format!("extracting the uploaded context: {e}"))?;
        return Ok(Fetched {
            source: RunSource::Dir(dest.clone()),
            dir: Some(dest),
            temp: Some(temp),
            ..Fetched::nothing()
        });
    }
    match crate::buildargs::classify(ctx) {
        crate::buildargs::ContextSource::Git { url, reference, subdir } => {
            let temp = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
            let reference = spec.checkout.as_ref().map(|c| c.commit.clone()).or(reference);
            let gspec = GitSpec {
                url: url.clone(),
                reference,
                subdir,
                token: spec.git_token.clone().map(Secret::new),
                pull_ref: spec.checkout.as_ref().and_then(|c| c.pull_ref.clone()),
            };
            let dest = temp.path().join("repo");
            let checkout = tokio::task::spawn_blocking(move || git::fetch(&gspec, &dest))
                .await
                .map_err(|e| format!("git fetch stopped: {e}"))?
                .map_err(|e| format!("fetching {url}: {e}"))?;
            let branch = spec.checkout.as_ref().and_then(|c| c.branch.clone()).or(checkout.branch);
            Ok(Fetched {
                source: RunSource::Dir(checkout.root.clone()),
                dir: Some(checkout.root),
                commit: Some(checkout.commit),
                branch,
                repository: url,
                temp: Some(temp),
            })
        }
        _ => Err(format!("context `{ctx}` is neither an upload nor a git URL").into()),
    }
}
