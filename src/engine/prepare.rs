//! The one way a run is prepared for the engine, shared by `drydock run`/`build --local` and the
//! daemon's workers: the task file loaded with the run's values, a masker for every secret the run
//! knows, and the engine's request. What differs between them (where the task file, values and
//! context come from; the engine's own configuration) stays with the caller.

use super::{Execution, GitInfo, RunSource};
use crate::registry::Credentials;
use crate::secrets::Masker;
use crate::taskfile::{self, Diagnostics, LoadRequest};
use std::time::Duration;

/// Where and how a loaded task file runs.
pub struct RunTarget {
    /// Run id, as people see it.
    pub run_id: String,
    /// Key of the run's Docker objects (unique on the engine).
    pub object_key: String,
    /// The context.
    pub source: RunSource,
    /// Run timeout.
    pub timeout: Duration,
    /// Quick build: the build step reads its context straight from `source`.
    pub quick_build: bool,
    /// Facts about the source repository.
    pub git: GitInfo,
    /// Registry logins of this run, over the engine's own.
    pub credentials: Credentials,
    /// Signs every image the run pushes (see [`Execution::sign_key`]).
    pub sign_key: Option<crate::registry::keys::SignatureKey>,
    /// Keys base images must be signed with (see [`Execution::require_signed_base`]).
    pub require_signed_base: Vec<crate::registry::keys::VerificationKey>,
    /// Why the run is not trusted with secrets, if it is not (see [`Execution::untrusted`]).
    pub untrusted: Option<String>,
    /// Steps that wait for `gate` (see [`Execution::approve_before`]).
    pub approve_before: Vec<String>,
    /// Who approves them.
    pub gate: Option<std::sync::Arc<dyn super::Gate>>,
    /// Keep the workspace of a run that does not succeed (see [`Execution::keep_workspace`]).
    pub keep_workspace: bool,
    /// The run this one resumes (see [`Execution::resume`]).
    pub resume: Option<super::resume::Resume>,
    /// The run's platform(s) (see [`Execution::platform`]).
    pub platform: Option<String>,
}

/// A run ready for the engine.
pub struct Prepared {
    /// The engine's request.
    pub request: Execution,
    /// Masks every secret of the run in its log.
    pub masker: Masker,
    /// Warnings from the task-file pipeline.
    pub warnings: Diagnostics,
}

/// Loads the task file of `load` and turns it into the engine's request for `target`. The masker
/// covers the task file's secrets, the values marked secret, and `secrets` (tokens, registry
/// passwords, secret values the caller knows of). The workspace volume is the one `.Run`'s
/// `SharedVolume` names, so templates and the engine agree on it.
pub fn prepare(
    load: &LoadRequest<'_>,
    target: RunTarget,
    secrets: impl IntoIterator<Item = String>,
) -> Result<Prepared, Diagnostics> {
    let loaded = taskfile::load(load)?;
    let masker = super::masker_for(&loaded.task, secrets.into_iter().chain(loaded.secret_values.iter().cloned()));
    let request = Execution {
        run_id: target.run_id,
        object_key: target.object_key,
        workspace_volume: load.run.shared_volume.clone(),
        task: loaded.task,
        plan: loaded.plan,
        source: target.source,
        timeout: target.timeout,
        quick_build: target.quick_build,
        git: target.git,
        credentials: target.credentials,
        registry: load.run.registry.clone(),
        sign_key: target.sign_key,
        require_signed_base: target.require_signed_base,
        untrusted: target.untrusted,
        approve_before: target.approve_before,
        gate: target.gate,
        keep_workspace: target.keep_workspace,
        resume: target.resume,
        platform: target.platform,
    };
    Ok(Prepared { request, masker, warnings: loaded.warnings })
}
