//! What a queued run will execute, frozen at queue time (its secret fields sealed by
//! `sealing` before it reaches the store).

use crate::api::{Credential, TaskStep, ValuesFile};
use crate::store::task_record::{StoredLogin, StoredStep};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A git checkout a trigger asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkout {
    /// Exact commit to check out.
    pub commit: String,
    /// Branch it was pushed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Tag that was pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_tag: Option<String>,
    /// Where the provider keeps a pull request's head (`refs/pull/7/head`): a fork's commit is
    /// on no branch of the repository, only there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_ref: Option<String>,
}

/// Everything a worker needs to run a queued run. Stored as the JSON of `SpecRecord`, whose
/// step and logins are the store's own types, so a change to the API's types cannot change what a
/// queued run reads back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SpecRecord", into = "SpecRecord")]
pub struct RunSpec {
    /// `upload:<id>`, a git URL, or none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// What to run.
    pub step: TaskStep,
    /// Values.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// Secret values (sealed at rest).
    #[serde(default)]
    pub secret_values: BTreeMap<String, String>,
    /// Run timeout, seconds.
    pub timeout: u64,
    /// Token for a private git context (sealed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_token: Option<String>,
    /// Registry logins (passwords sealed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<Credential>,
    /// Private key PEM that signs every pushed image (sealed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_key: Option<String>,
    /// Public key PEMs one of which must have signed every base image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require_signed_base: Vec<String>,
    /// Task name, for task runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_name: Option<String>,
    /// A specific commit to check out (triggered runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout: Option<Checkout>,
    /// The trigger, described for `.Run.TriggeredBy`.
    #[serde(default)]
    pub triggered_by: String,
    /// Why this run gets no secrets, no registry logins and no engine socket, and may not push
    /// (a fork's pull request under `run-without-secrets`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untrusted: Option<String>,
    /// Steps that wait for a person's approval before they start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approve_before: Vec<String>,
    /// Seconds to wait for that approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_timeout: Option<u64>,
    /// The run this one resumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<ResumeOf>,
    /// Values files given with a rerun or resume, merged over the task's own in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_files: Vec<ValuesFile>,
    /// The run's platform(s) (the task's, or the quick run's `--platform`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

/// What a resume asked for; the rest (workspace, reused steps, run variables) is read from the
/// original run's record when the resume starts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeOf {
    /// The run resumed.
    pub run: String,
    /// Render with this run's own id as `.Run.ID`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub new_id: bool,
}

/// The stored form of a [`RunSpec`] (the `runs.request` JSON).
#[derive(Clone, Serialize, Deserialize)]
struct SpecRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    context: Option<String>,
    step: StoredStep,
    #[serde(default)]
    values: BTreeMap<String, String>,
    #[serde(default)]
    secret_values: BTreeMap<String, String>,
    timeout: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    git_token: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    credentials: Vec<StoredLogin>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sign_key: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    require_signed_base: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    task_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checkout: Option<Checkout>,
    #[serde(default)]
    triggered_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    untrusted: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    approve_before: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    approval_timeout: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resume: Option<ResumeOf>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    values_files: Vec<ValuesFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    platform: Option<String>,
}

impl From<SpecRecord> for RunSpec {
    fn from(r: SpecRecord) -> Self {
        RunSpec {
            context: r.context,
            step: r.step.into(),
            values: r.values,
            secret_values: r.secret_values,
            timeout: r.timeout,
            git_token: r.git_token,
            credentials: r.credentials.into_iter().map(Credential::from).collect(),
            sign_key: r.sign_key,
            require_signed_base: r.require_signed_base,
            task_name: r.task_name,
            checkout: r.checkout,
            triggered_by: r.triggered_by,
            untrusted: r.untrusted,
            approve_before: r.approve_before,
            approval_timeout: r.approval_timeout,
            resume: r.resume,
            values_files: r.values_files,
            platform: r.platform,
        }
    }
}

impl From<RunSpec> for SpecRecord {
    fn from(s: RunSpec) -> Self {
        SpecRecord {
            context: s.context,
            step: StoredStep::from(&s.step),
            values: s.values,
            secret_values: s.secret_values,
            timeout: s.timeout,
            git_token: s.git_token,
            credentials: s.credentials.iter().map(StoredLogin::from).collect(),
            sign_key: s.sign_key,
            require_signed_base: s.require_signed_base,
            task_name: s.task_name,
            checkout: s.checkout,
            triggered_by: s.triggered_by,
            untrusted: s.untrusted,
            approve_before: s.approve_before,
            approval_timeout: s.approval_timeout,
            resume: s.resume,
            values_files: s.values_files,
            platform: s.platform,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_spec_is_pinned() {
        let stored = serde_json::json!({
            "context": "upload:abc", "step": {"kind": "docker", "images": ["app:1"], "secret_build_args": {"T": "s"},
            "no_push": false, "no_cache": false}, "values": {"a": "1"}, "secret_values": {"b": "2"}, "timeout": 600,
            "git_token": "t", "credentials": [{"login_server": "r", "username": "u", "password": "p"}],
            "task_name": "web", "checkout": {"commit": "c", "branch": "main"}, "triggered_by": "commit"
        });
        let spec: RunSpec = serde_json::from_value(stored.clone()).unwrap();
        assert!(matches!(&spec.step, TaskStep::Docker(b) if b.images == ["app:1"]));
        assert_eq!(spec.credentials[0].username, "u");
        assert_eq!(serde_json::to_value(&spec).unwrap(), stored);
    }
}
