//! The one module that opens secrets. Secret fields of tasks and run specs (secret values, git
//! tokens, registry passwords, webhook secrets, commit-status tokens, run-event secrets, secret
//! build arguments) are sealed here before the store sees them, and opened here only: for a run
//! (the worker), a `--with-secure-properties` read, validation, the triggers that check a webhook
//! signature, poll a private repository or log in to a registry, and the outgoing deliveries
//! (commit statuses and signed run events).

use super::Service;
use super::service::ServiceError;
use super::spec::RunSpec;
use crate::api::{Task, TaskStep};
use crate::secrets::{Cipher, CipherError};

type Result<T> = std::result::Result<T, ServiceError>;
type Opened = std::result::Result<String, CipherError>;

impl Service {
    /// Seals every secret field of a task (values already sealed stay as they are).
    pub(super) fn seal_task(&self, task: &mut Task) -> Result<()> {
        Ok(map_task_secrets(task, &sealer(&self.cipher))?)
    }

    /// Opens every secret field of a stored task.
    pub fn unseal_task(&self, mut task: Task) -> Result<Task> {
        map_task_secrets(&mut task, &opener(&self.cipher))?;
        Ok(task)
    }

    /// Seals every secret field of a run spec before it is queued.
    pub(super) fn seal_spec(&self, spec: &mut RunSpec) -> Result<()> {
        Ok(map_spec_secrets(spec, &sealer(&self.cipher))?)
    }

    /// Opens every secret field of a claimed run's spec.
    pub(super) fn unseal_spec(&self, spec: &mut RunSpec) -> Result<()> {
        Ok(map_spec_secrets(spec, &opener(&self.cipher))?)
    }

    /// Opens one sealed field of a stored task (a webhook secret, a registry password).
    pub fn unseal(&self, sealed: &str) -> Result<String> {
        Ok(opener(&self.cipher)(sealed)?)
    }

    /// Seals one secret (a commit-status token or event secret an outgoing delivery keeps).
    pub(super) fn seal(&self, plain: &str) -> String {
        if Cipher::is_encrypted(plain) { plain.to_string() } else { self.cipher.encrypt(plain) }
    }
}

/// Applies `f` to every secret field of a task.
fn map_task_secrets(task: &mut Task, f: &dyn Fn(&str) -> Opened) -> std::result::Result<(), CipherError> {
    for v in task.secret_values.values_mut() {
        *v = f(v)?;
    }
    if let Some(t) = &mut task.git_token {
        *t = f(t)?;
    }
    if let Some(k) = &mut task.sign_key {
        *k = f(k)?;
    }
    for c in &mut task.credentials {
        c.password = f(&c.password)?;
    }
    if let Some(s) = &mut task.triggers.source.webhook_secret {
        *s = f(s)?;
    }
    if let Some(c) = &mut task.triggers.source.commit_status {
        c.token = f(&c.token)?;
    }
    if let Some(s) = &mut task.notify.secret {
        *s = f(s)?;
    }
    map_step_secrets(&mut task.step, f)
}

/// Applies `f` to every secret field of a run spec.
fn map_spec_secrets(spec: &mut RunSpec, f: &dyn Fn(&str) -> Opened) -> std::result::Result<(), CipherError> {
    for v in spec.secret_values.values_mut() {
        *v = f(v)?;
    }
    if let Some(t) = &mut spec.git_token {
        *t = f(t)?;
    }
    if let Some(k) = &mut spec.sign_key {
        *k = f(k)?;
    }
    for c in &mut spec.credentials {
        c.password = f(&c.password)?;
    }
    map_step_secrets(&mut spec.step, f)
}

fn map_step_secrets(step: &mut TaskStep, f: &dyn Fn(&str) -> Opened) -> std::result::Result<(), CipherError> {
    if let TaskStep::Docker(d) = step {
        for v in d.secret_build_args.values_mut() {
            *v = f(v)?;
        }
    }
    Ok(())
}

/// Encrypts for storage; values that are already sealed are left as they are (so that a patch
/// that keeps a secret does not encrypt the ciphertext again).
fn sealer(cipher: &Cipher) -> impl Fn(&str) -> Opened + '_ {
    move |v: &str| Ok(if Cipher::is_encrypted(v) { v.to_string() } else { cipher.encrypt(v) })
}

/// Decrypts what storage returned.
fn opener(cipher: &Cipher) -> impl Fn(&str) -> Opened + '_ {
    move |v: &str| if Cipher::is_encrypted(v) { cipher.decrypt(v) } else { Ok(v.to_string()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Credential, DockerBuild};
    use std::collections::BTreeMap;

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
            sign_key: Some("key-pem".into()),
            require_signed_base: Vec::new(),
            credentials: vec![Credential { login_server: "r".into(), username: "u".into(), password: "p-3".into() }],
            task_name: None,
            checkout: None,
            triggered_by: "manual".into(),
            untrusted: None,
            approve_before: Vec::new(),
            approval_timeout: None,
            resume: None,
            values_files: Vec::new(),
            platform: None,
        };
        let original = spec.clone();
        map_spec_secrets(&mut spec, &sealer(&cipher)).unwrap();
        let stored = serde_json::to_string(&spec).unwrap();
        for s in ["tok-1", "hunter2", "ghp-2", "key-pem", "p-3"] {
            assert!(!stored.contains(s), "{s} stored in plain text");
        }
        assert!(stored.contains("visible"));
        map_spec_secrets(&mut spec, &sealer(&cipher)).unwrap();
        map_spec_secrets(&mut spec, &opener(&cipher)).unwrap();
        assert_eq!(spec, original);
    }
}
