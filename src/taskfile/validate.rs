//! Validation of the parsed task file and ACR's defaults: spec + span tree → [`TaskFile`].
//!
//! Every problem is reported (not just the first) with its position in the original file. Step-level
//! rules live in `validate_step`.

use super::diag::{Diagnostic, Diagnostics, Pos, did_you_mean};
use super::image_alias::ImageAliases;
use super::model::{TaskFileSpec, keys};
use super::parse::SourceMap;
use super::task::{
    DEFAULT_NETWORK, DEFAULT_STEP_TIMEOUT, NetworkDecl, SecretDecl, TaskFile, Version, VolumeDecl, WORKSPACE,
};
use super::validate_step::validate_steps;
use super::version;
use super::yaml::{YKind, YNode};
use base64::Engine as _;
use std::collections::{BTreeMap, HashSet};

/// What validation needs besides the file.
pub struct ValidateContext<'a> {
    /// Maps rendered positions to the original file.
    pub map: &'a SourceMap,
    /// Image aliases for `cmd` (applied for v1.1.0 files).
    pub image_aliases: &'a ImageAliases,
    /// Report unknown properties as warnings instead of errors (ACR silently ignores them).
    pub allow_unknown_properties: bool,
    /// The file rendered to nothing (it held only comments): a task with no steps.
    pub empty_file: bool,
}

/// Validates and applies defaults. Returns `None` when there were errors (all in `diags`).
pub fn validate(
    spec: TaskFileSpec,
    tree: &YNode,
    cx: &ValidateContext<'_>,
    diags: &mut Diagnostics,
) -> Option<TaskFile> {
    let errors_before = diags.errors().count();
    let at = |p: Pos| cx.map.map(p);
    check_unknown_keys(tree, cx, diags);

    let version = match spec.version.as_deref() {
        None => Version::V1_0_0,
        Some(v) => match version::parse(v, Some(at(tree.pos_of("version")))) {
            Ok((ver, warning)) => {
                diags.0.extend(warning);
                ver
            }
            Err(d) => {
                diags.push(d);
                Version::V1_0_0
            }
        },
    };
    if spec.alias.is_some() && !version.has_aliases() {
        diags.push(
            Diagnostic::warning("alias-ignored", "the `alias` block is ignored: aliases need `version: v1.1.0`")
                .at(at(tree.entry("alias").map_or(tree.pos, |(p, _)| p))),
        );
    }

    let step_timeout = match non_negative(spec.step_timeout, "stepTimeout", at(tree.pos_of("stepTimeout")), diags) {
        Some(0) | None => DEFAULT_STEP_TIMEOUT,
        Some(n) => n,
    };
    let total_timeout =
        non_negative(spec.total_timeout, "totalTimeout", at(tree.pos_of("totalTimeout")), diags).filter(|n| *n > 0);
    let working_directory = resolve_workdir(spec.working_directory.as_deref().unwrap_or(WORKSPACE));
    let env = spec.env.unwrap_or_default();
    check_env(&env, tree.get("env"), "task", cx, diags);

    let secrets = validate_secrets(spec.secrets.unwrap_or_default(), tree.get("secrets"), cx, diags);
    let networks = validate_networks(spec.networks.unwrap_or_default(), tree.get("networks"), cx, diags);
    // ACR iterates in reverse to find the default: with several `isDefault`, the last one wins.
    let default_network = if networks.is_empty() {
        Some(DEFAULT_NETWORK.to_string())
    } else {
        networks.iter().rev().find(|n| n.is_default).map(|n| n.name.clone())
    };
    let volumes = validate_volumes(spec.volumes.unwrap_or_default(), tree.get("volumes"), cx, diags);

    let mut task = TaskFile {
        version,
        step_timeout,
        total_timeout,
        working_directory,
        env,
        secrets,
        networks,
        default_network,
        volumes,
        steps: Vec::new(),
    };
    // An empty file (nothing but comments, say) is the one task ACR runs without steps.
    if cx.empty_file {
        return Some(task);
    }
    let Some(steps_spec) = spec.steps else {
        diags.push(
            Diagnostic::error("no-steps", "the task has no `steps`")
                .at(at(tree.pos))
                .help("add a `steps:` list with at least one build, cmd or push step"),
        );
        return None;
    };
    if steps_spec.is_empty() {
        diags.push(Diagnostic::error("no-steps", "`steps` is empty").at(at(tree.pos_of("steps"))));
        return None;
    }
    let empty = YNode { pos: tree.pos, kind: YKind::Seq(Vec::new()) };
    task.steps = validate_steps(steps_spec, tree.get("steps").unwrap_or(&empty), &task, cx, diags);
    (diags.errors().count() == errors_before).then_some(task)
}

/// A relative working directory is under `/workspace`; an absolute one is used as written.
pub fn resolve_workdir(dir: &str) -> String {
    if dir.starts_with('/') || dir.contains(":\\") {
        dir.to_string()
    } else {
        let rel = dir.trim_start_matches("./");
        if rel.is_empty() || rel == "." { WORKSPACE.to_string() } else { format!("{WORKSPACE}/{rel}") }
    }
}

/// Reports a negative number and converts the rest.
pub fn non_negative(value: Option<i64>, name: &str, pos: Pos, diags: &mut Diagnostics) -> Option<u64> {
    match value {
        Some(n) if n < 0 => {
            diags.push(
                Diagnostic::error("negative-number", format!("`{name}` is {n}; it cannot be negative"))
                    .at(pos)
                    .help(format!("use 0 or a positive number of {}", unit_of(name))),
            );
            None
        }
        other => other.map(|n| n as u64),
    }
}

fn unit_of(name: &str) -> &'static str {
    if name.contains("etries") || name == "repeat" { "attempts" } else { "seconds" }
}

/// `env` entries must be `KEY=value` with a non-empty key.
pub fn check_env(env: &[String], node: Option<&YNode>, owner: &str, cx: &ValidateContext<'_>, diags: &mut Diagnostics) {
    for (i, entry) in env.iter().enumerate() {
        let key = entry.split_once('=').map(|(k, _)| k);
        if key.is_none_or(|k| k.trim().is_empty()) {
            let pos = node.and_then(|n| n.at(i)).map_or(Pos::default(), |n| cx.map.map(n.pos));
            diags.push(
                Diagnostic::error("invalid-env", format!("{owner} env entry `{entry}` is not KEY=value"))
                    .at(pos)
                    .help("write entries as `NAME=value`; drydock does not pass the daemon's own environment through"),
            );
        }
    }
}

fn validate_secrets(
    specs: Vec<super::model::SecretSpec>,
    node: Option<&YNode>,
    cx: &ValidateContext<'_>,
    diags: &mut Diagnostics,
) -> Vec<SecretDecl> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, s) in specs.into_iter().enumerate() {
        let item = node.and_then(|n| n.at(i));
        let pos = |key: &str| item.map_or(Pos::default(), |n| cx.map.map(n.pos_of(key)));
        let Some(id) = s.id.filter(|id| !id.trim().is_empty()) else {
            diags.push(Diagnostic::error("invalid-secret", "a secret has no `id`").at(pos("id")));
            continue;
        };
        if id.contains(char::is_whitespace) {
            diags.push(Diagnostic::error("invalid-secret", format!("secret id `{id}` contains spaces")).at(pos("id")));
        }
        if !seen.insert(id.clone()) {
            diags.push(
                Diagnostic::error("duplicate-secret", format!("secret id `{id}` is declared twice")).at(pos("id")),
            );
        }
        if let Some(c) = &s.client_id
            && !is_uuid(c)
        {
            diags.push(
                Diagnostic::error("invalid-secret", format!("`clientID` `{c}` of secret `{id}` is not a UUID"))
                    .at(pos("clientID")),
            );
        }
        out.push(SecretDecl { id, keyvault: s.keyvault, client_id: s.client_id });
    }
    out
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn validate_networks(
    specs: Vec<super::model::NetworkSpec>,
    node: Option<&YNode>,
    cx: &ValidateContext<'_>,
    diags: &mut Diagnostics,
) -> Vec<NetworkDecl> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, n) in specs.into_iter().enumerate() {
        let item = node.and_then(|x| x.at(i));
        let pos = |key: &str| item.map_or(Pos::default(), |x| cx.map.map(x.pos_of(key)));
        let Some(name) = n.name.filter(|s| !s.trim().is_empty()) else {
            diags.push(Diagnostic::error("invalid-network", "a network has no `name`").at(pos("name")));
            continue;
        };
        if !seen.insert(name.clone()) {
            diags.push(
                Diagnostic::error("invalid-network", format!("network `{name}` is declared twice")).at(pos("name")),
            );
        }
        out.push(NetworkDecl {
            name,
            driver: n.driver.unwrap_or_else(|| "bridge".into()),
            ipv6: n.ipv6.unwrap_or(false),
            skip_creation: n.skip_creation.unwrap_or(false),
            is_default: n.is_default.unwrap_or(false),
        });
    }
    out
}

fn valid_volume_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn validate_volumes(
    specs: Vec<super::model::VolumeSpec>,
    node: Option<&YNode>,
    cx: &ValidateContext<'_>,
    diags: &mut Diagnostics,
) -> Vec<VolumeDecl> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, v) in specs.into_iter().enumerate() {
        let item = node.and_then(|x| x.at(i));
        let pos = |key: &str| item.map_or(Pos::default(), |x| cx.map.map(x.pos_of(key)));
        let name = v.name.unwrap_or_default();
        if !valid_volume_name(&name) {
            diags.push(
                Diagnostic::error("invalid-volume", format!("invalid volume name `{name}`"))
                    .at(pos("name"))
                    .help("volume names are letters, digits, `-` and `_`"),
            );
            continue;
        }
        if !seen.insert(name.clone()) {
            diags.push(
                Diagnostic::error("invalid-volume", format!("volume `{name}` is declared twice")).at(pos("name")),
            );
        }
        let Some(secret) = v.secret else {
            diags.push(
                Diagnostic::error("invalid-volume", format!("volume `{name}` has no `secret` files"))
                    .at(pos("name"))
                    .help("give `secret:` a map of file name to base64 content, e.g. `f: {{ .Values.x | b64enc }}`"),
            );
            continue;
        };
        let secret_node = item.and_then(|x| x.get("secret"));
        let mut files = BTreeMap::new();
        for (file, b64) in secret {
            let file_pos = secret_node.map_or(pos("secret"), |s| cx.map.map(s.pos_of(&file)));
            if file.is_empty() || file.contains('/') || file == "." || file == ".." {
                diags.push(
                    Diagnostic::error("invalid-volume", format!("invalid file name `{file}` in volume `{name}`"))
                        .at(file_pos)
                        .help("file names are plain names without `/`"),
                );
                continue;
            }
            match base64::engine::general_purpose::STANDARD.decode(b64.unwrap_or_default().trim()) {
                Ok(bytes) => {
                    files.insert(file, bytes);
                }
                Err(_) => diags.push(
                    Diagnostic::error("invalid-volume", format!("file `{file}` of volume `{name}` is not base64"))
                        .at(file_pos)
                        .help("volume secret values must be base64; pipe them through `b64enc`"),
                ),
            }
        }
        out.push(VolumeDecl { name, files });
    }
    out
}

/// Reports keys that are not properties of the mapping they are in, with a suggestion.
fn check_unknown_keys(tree: &YNode, cx: &ValidateContext<'_>, diags: &mut Diagnostics) {
    let mut check = |node: &YNode, known: &[&str], what: &str| {
        for (key, pos, _) in node.entries() {
            if known.contains(&key.as_str()) {
                continue;
            }
            let mut d = if cx.allow_unknown_properties {
                Diagnostic::warning("unknown-property", format!("unknown {what} property `{key}` is ignored"))
            } else {
                Diagnostic::error("unknown-property", format!("unknown {what} property `{key}`"))
            };
            d = d.at(cx.map.map(*pos));
            d = match did_you_mean(key, known.iter().copied()) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("{what} properties are: {}", known.join(", "))),
            };
            diags.push(d);
        }
    };
    check(tree, keys::TASK, "task");
    for (list, known, what) in [
        ("secrets", keys::SECRET, "secret"),
        ("networks", keys::NETWORK, "network"),
        ("volumes", keys::VOLUME, "volume"),
    ] {
        for item in tree.get(list).map(YNode::items).unwrap_or_default() {
            check(item, known, what);
        }
    }
    if let Some(alias) = tree.get("alias") {
        check(alias, keys::ALIAS, "alias");
    }
    for step in tree.get("steps").map(YNode::items).unwrap_or_default() {
        check(step, keys::STEP, "step");
        for m in step.get("volumeMounts").map(YNode::items).unwrap_or_default() {
            check(m, keys::MOUNT, "volume mount");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workdir_resolution_follows_acr() {
        assert_eq!(resolve_workdir("src"), "/workspace/src");
        assert_eq!(resolve_workdir("./src"), "/workspace/src");
        assert_eq!(resolve_workdir("/abs"), "/abs");
        assert_eq!(resolve_workdir("."), "/workspace");
    }

    #[test]
    fn uuid_check() {
        assert!(is_uuid("00000000-1111-2222-3333-444444444444"));
        assert!(!is_uuid("not-a-uuid"));
    }
}
