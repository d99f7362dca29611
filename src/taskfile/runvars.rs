//! Run variables: `{{.Run.*}}` in templates and the predefined `$` aliases.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What a run knows about itself, as exposed to task files.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RunVars {
    /// Run id: short, lowercase, tag-safe.
    pub id: String,
    /// Name of the run's shared workspace volume.
    pub shared_volume: String,
    /// Login server of the run's registry, e.g. `registry.local:5000`.
    pub registry: String,
    /// Start time of the run.
    pub date: Option<DateTime<Utc>>,
    /// OS of the engine (`linux`).
    pub os: String,
    /// Architecture of the engine in Go's spelling (`amd64`, `arm64`).
    pub architecture: String,
    /// Triggering commit, or HEAD of the context repository.
    pub commit: String,
    /// Triggering or checked-out branch.
    pub branch: String,
    /// Saved task name; empty for quick runs.
    pub task_name: String,
    /// Repository the run was triggered against.
    pub repository: String,
    /// Git tag that triggered the run.
    pub git_tag: String,
    /// Description of the trigger.
    pub triggered_by: String,
}

impl RunVars {
    /// First DNS label of the registry, as ACR derives it (substring before the first `.`).
    pub fn registry_name(&self) -> String {
        self.registry.split('.').next().unwrap_or_default().to_string()
    }

    /// `Run.Date` in ACR's format: Go layout `20060102-150405z`, with a literal `z`.
    pub fn date_string(&self) -> String {
        self.date.map(|d| d.format("%Y%m%d-%H%M%Sz").to_string()).unwrap_or_default()
    }

    /// The `.Run` map of the template context.
    pub fn to_template_value(&self) -> Value {
        let mut m = Map::new();
        let mut put = |k: &str, v: String| {
            m.insert(k.to_string(), Value::String(v));
        };
        put("ID", self.id.clone());
        put("SharedVolume", self.shared_volume.clone());
        put("Registry", self.registry.clone());
        put("RegistryName", self.registry_name());
        put("Date", self.date_string());
        put("OS", self.os.clone());
        // ACR's runner has it (the Windows build number there); drydock runs Linux engines only.
        put("OSVersion", String::new());
        put("Architecture", self.architecture.clone());
        put("Commit", self.commit.clone());
        put("Branch", self.branch.clone());
        put("TaskName", self.task_name.clone());
        put("Repository", self.repository.clone());
        put("GitTag", self.git_tag.clone());
        put("TriggeredBy", self.triggered_by.clone());
        Value::Object(m)
    }

    /// ACR's predefined aliases (there is no `$TaskName`), for v1.1.0 files.
    pub fn predefined_aliases(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ID", self.id.clone()),
            ("SharedVolume", self.shared_volume.clone()),
            ("Registry", self.registry.clone()),
            ("RegistryName", self.registry_name()),
            ("Date", self.date_string()),
            ("OS", self.os.clone()),
            ("Architecture", self.architecture.clone()),
            ("Commit", self.commit.clone()),
            ("Branch", self.branch.clone()),
        ]
    }
}

/// The OS and architecture of this machine in Go's spelling, used when no engine says otherwise.
pub fn host_platform() -> (String, String) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        other => other,
    };
    (std::env::consts::OS.to_string(), arch.to_string())
}

/// Quotes `s` for a POSIX shell as ACR's runner does: ACR exposes `ValuesJSON`/`RunJSON` quoted so
/// that `cmd: app --config {{.ValuesJSON}}` passes the JSON as one argument. Text made only of
/// word characters and `^@=+%,:./-` is left bare, and a `'` becomes `'"'"'`.
pub fn shell_quote(s: &str) -> String {
    if s.is_empty() {
        return "''".to_string();
    }
    let safe = |c: char| c.is_ascii_alphanumeric() || "_^@=+%,:./-".contains(c);
    if s.chars().all(safe) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

/// Largest `.ValuesJSON` accepted; the values files themselves are capped well below this.
const MAX_VALUES_JSON: usize = 16 << 20;

/// The whole template context: `.Run`, `.Build` (legacy alias of `.Run.ID`), `.Values`,
/// `.Secrets`, `.ValuesJSON` and `.RunJSON`. The JSON is Go's `json.Marshal`, and fails where Go
/// fails (a NaN or an infinity in the values), as ACR does.
pub fn template_context(run: &RunVars, values: &Value, secrets: &Map<String, Value>) -> Result<Value, String> {
    let run_value = run.to_template_value();
    let values_json = super::template::go_json(values, MAX_VALUES_JSON).ok_or(
        "the values cannot be written as JSON for .ValuesJSON (an infinity or NaN, which JSON has no form for)",
    )?;
    let run_json = super::template::go_json(&run_value, MAX_VALUES_JSON).unwrap_or_default();
    let mut root = Map::new();
    root.insert("ValuesJSON".into(), Value::String(shell_quote(&values_json)));
    root.insert("RunJSON".into(), Value::String(shell_quote(&run_json)));
    let mut build = Map::new();
    build.insert("ID".into(), Value::String(run.id.clone()));
    root.insert("Build".into(), Value::Object(build));
    root.insert("Run".into(), run_value);
    root.insert("Values".into(), values.clone());
    root.insert("Secrets".into(), Value::Object(secrets.clone()));
    Ok(Value::Object(root))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn date_and_registry_name_follow_acr() {
        let run = RunVars {
            registry: "myreg.azurecr.io".into(),
            date: Some(Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap()),
            ..RunVars::default()
        };
        assert_eq!(run.registry_name(), "myreg");
        assert_eq!(run.date_string(), "20260304-050607z");
    }

    #[test]
    fn shell_quote_escapes_single_quotes() {
        assert_eq!(shell_quote(r#"{"a":"it's"}"#), r#"'{"a":"it'"'"'s"}'"#);
        assert_eq!(shell_quote("plain-1.2:x/y"), "plain-1.2:x/y");
        assert_eq!(shell_quote(""), "''");
    }
}
