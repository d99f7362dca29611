//! What a queued run will execute, frozen at queue time, and the sealing of secret fields (in
//! tasks and run specs) before anything reaches the store.

use crate::api::{Credential, Task, TaskStep};
use crate::secrets::{Cipher, CipherError};
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
}

/// Everything a worker needs to run a queued run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Task name, for task runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_name: Option<String>,
    /// A specific commit to check out (triggered runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout: Option<Checkout>,
    /// The trigger, described for `.Run.TriggeredBy`.
    #[serde(default)]
    pub triggered_by: String,
}

/// Applies `f` to every secret field of a task.
pub fn map_task_secrets(task: &mut Task, f: &dyn Fn(&str) -> Result<String, CipherError>) -> Result<(), CipherError> {
    for v in task.secret_values.values_mut() {
        *v = f(v)?;
    }
    if let Some(t) = &mut task.git_token {
        *t = f(t)?;
    }
    for c in &mut task.credentials {
        c.password = f(&c.password)?;
    }
    if let Some(s) = &mut task.triggers.source.webhook_secret {
        *s = f(s)?;
    }
    map_step_secrets(&mut task.step, f)
}

/// Applies `f` to every secret field of a run spec.
pub fn map_spec_secrets(
    spec: &mut RunSpec,
    f: &dyn Fn(&str) -> Result<String, CipherError>,
) -> Result<(), CipherError> {
    for v in spec.secret_values.values_mut() {
        *v = f(v)?;
    }
    if let Some(t) = &mut spec.git_token {
        *t = f(t)?;
    }
    for c in &mut spec.credentials {
        c.password = f(&c.password)?;
    }
    map_step_secrets(&mut spec.step, f)
}

fn map_step_secrets(step: &mut TaskStep, f: &dyn Fn(&str) -> Result<String, CipherError>) -> Result<(), CipherError> {
    if let TaskStep::Docker(d) = step {
        for v in d.secret_build_args.values_mut() {
            *v = f(v)?;
        }
    }
    Ok(())
}

/// Encrypts for storage; values that are already sealed are left as they are (so that a patch
/// that keeps a secret does not encrypt the ciphertext again).
pub fn sealer(cipher: &Cipher) -> impl Fn(&str) -> Result<String, CipherError> + '_ {
    move |v: &str| Ok(if Cipher::is_encrypted(v) { v.to_string() } else { cipher.encrypt(v) })
}

/// Decrypts what storage returned.
pub fn opener(cipher: &Cipher) -> impl Fn(&str) -> Result<String, CipherError> + '_ {
    move |v: &str| if Cipher::is_encrypted(v) { cipher.decrypt(v) } else { Ok(v.to_string()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::DockerBuild;

    #[test]
    fn sealing_covers_every_secret_and_round_trips() {
        let cipher = Cipher::ephemeral();
        let mut spec = RunSpec {
            context: None,
            step: TaskStep::Docker(DockerBuild {
                secret_build_args: BTreeMap::from([("T".into(), "tok-1".into())]),
                ..DockerBuild::default()
            }),
            values: BTreeMap::from([("plain".into(), "visible".into())]),
            secret_values: BTreeMap::from([("pw".into(), "hunter2".into())]),
            timeout: 3600,
            git_token: Some("ghp-2".into()),
            credentials: vec![Credential { login_server: "r".into(), username: "u".into(), password: "p-3".into() }],
            task_name: None,
            checkout: None,
            triggered_by: "manual".into(),
        };
        let original = spec.clone();
        map_spec_secrets(&mut spec, &sealer(&cipher)).unwrap();
        let stored = serde_json::to_string(&spec).unwrap();
        for s in ["tok-1", "hunter2", "ghp-2", "p-3"] {
            assert!(!stored.contains(s), "{s} stored in plain text");
        }
        assert!(stored.contains("visible"));
        map_spec_secrets(&mut spec, &sealer(&cipher)).unwrap();
        map_spec_secrets(&mut spec, &opener(&cipher)).unwrap();
        assert_eq!(spec, original);
    }
}
