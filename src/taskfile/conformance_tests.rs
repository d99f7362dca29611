//! The template conformance table: cases whose expected output ACR's own runner (`acb`, with
//! Sprig v2.22 and go-yaml v2) produced, replayed through the same pipeline `drydock render` uses.
//!
//! Each line of `tests/data/template-conformance/*.jsonl` is one case: `template`, optional
//! `values` (the text of a values file) and `sets` (`--set` arguments), and what ACR answered:
//! `ok` with the rendered `out`, or a failure (`err` keeps ACR's message for the reader; only the
//! fact of failing is compared, since drydock words its errors for people, with positions).
//!
//! `DRYDOCK_CONFORMANCE=path.jsonl` replays another table (one being built) and prints every
//! difference instead of stopping at the first.

use std::path::{Path, PathBuf};

use chrono::TimeZone;
use serde::Deserialize;

use super::alias::NoAliasSources;
use super::{LoadOptions, LoadRequest, RunVars, values};

#[derive(Deserialize)]
struct Case {
    name: String,
    template: String,
    #[serde(default)]
    values: String,
    #[serde(default)]
    sets: Vec<String>,
    ok: bool,
    #[serde(default)]
    out: String,
    #[serde(default)]
    err: String,
}

/// The run variables the table was recorded with.
fn run_vars() -> RunVars {
    RunVars {
        id: "dd1".into(),
        shared_volume: String::new(),
        registry: "reg.example.io".into(),
        date: Some(chrono::Utc.with_ymd_and_hms(2024, 3, 5, 14, 7, 9).unwrap()),
        os: "linux".into(),
        architecture: "amd64".into(),
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
        branch: "main".into(),
        task_name: String::new(),
        repository: "https://example.com/org/repo.git".into(),
        git_tag: String::new(),
        triggered_by: "manual".into(),
    }
}

/// What drydock renders for a case: the text, or the error as printed.
fn render_case(case: &Case) -> Result<String, String> {
    let files = if case.values.is_empty() { vec![] } else { vec![("values.yaml".to_string(), case.values.clone())] };
    let (values, _) = values::merge(&files, &case.sets).map_err(|e| format!("{e:?}"))?;
    let req = LoadRequest {
        file_name: "acb.yaml",
        source: &case.template,
        values,
        secrets: Default::default(),
        run: run_vars(),
        now: chrono::Utc.with_ymd_and_hms(2024, 3, 5, 14, 7, 9).unwrap(),
        alias_loader: &NoAliasSources,
        options: LoadOptions::default(),
    };
    super::render(&req).map(|r| r.text).map_err(|d| d.to_string())
}

/// Why a case differs, or `None` when drydock agrees with ACR.
fn difference(case: &Case) -> Option<String> {
    compare(case, |got| got == case.out, &format!("{:?}", case.out))
}

/// Compares drydock's render of `case` with ACR's answer: `matches` says whether a render is the
/// one ACR produced, shown in messages as `acr_out`.
fn compare(case: &Case, matches: impl Fn(&str) -> bool, acr_out: &str) -> Option<String> {
    match (render_case(case), case.ok) {
        (Ok(got), true) if matches(&got) => None,
        (Ok(got), true) => Some(format!("ACR rendered {acr_out}\n  drydock rendered {got:?}")),
        (Ok(got), false) => Some(format!("ACR failed ({})\n  drydock rendered {got:?}", case.err)),
        (Err(_), false) => None,
        (Err(e), true) => Some(format!("ACR rendered {acr_out}\n  drydock failed: {e}")),
    }
}

fn load(path: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1)))
        .collect()
}

fn tables() -> Vec<PathBuf> {
    if let Ok(p) = std::env::var("DRYDOCK_CONFORMANCE") {
        return vec![PathBuf::from(p)];
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/template-conformance");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
}

#[test]
fn templates_render_as_acr_renders_them() {
    let mut total = 0;
    let mut failures = Vec::new();
    for path in tables() {
        let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        for case in load(&path) {
            total += 1;
            if let Some(why) = difference(&case) {
                failures.push(format!("{file} {}: {:?}\n  {why}", case.name, case.template));
            }
        }
    }
    eprintln!("template conformance: {} of {total} cases agree with ACR", total - failures.len());
    assert!(failures.is_empty(), "{} cases differ from ACR:\n{}", failures.len(), failures.join("\n"));
}

/// One line of `tests/data/template-conformance-corpus.jsonl`: what ACR rendered for a file of the
/// ACR corpus (`../shared/acr-corpus`). The table names the files and keeps ACR's answers; the
/// task files themselves are only read from the corpus folder, never copied into the project.
#[derive(Deserialize)]
struct CorpusRow {
    file: String,
    values: Option<String>,
    #[serde(default)]
    sets: Vec<String>,
    ok: bool,
    /// The SHA-256 of ACR's rendered text: the corpus stays in ../shared, so its (nearly verbatim)
    /// renders are not copied into this repository either.
    #[serde(default)]
    out_sha256: String,
    #[serde(default)]
    err: String,
}

/// The corpus folder beside the checkout, if it is there. The checkout is found through `tests/`
/// rather than the manifest directory, because scratch crates that compile this module link the
/// checkout's `tests/` folder without living beside it.
fn corpus_dir() -> Option<PathBuf> {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").canonicalize().ok()?;
    let dir = tests.parent()?.join("../shared/acr-corpus");
    dir.is_dir().then_some(dir)
}

/// Why drydock's render of a corpus file (read with its values file from `dir`) differs from ACR's.
fn corpus_difference(dir: &Path, row: &CorpusRow) -> Option<String> {
    use sha2::{Digest, Sha256};
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let case = Case {
        name: row.file.clone(),
        template: read(&row.file),
        values: row.values.as_deref().map(read).unwrap_or_default(),
        sets: row.sets.clone(),
        ok: row.ok,
        out: String::new(),
        err: row.err.clone(),
    };
    let sha256 = |text: &str| hex::encode(Sha256::digest(text.as_bytes()));
    compare(&case, |got| sha256(got) == row.out_sha256, &format!("the text of SHA-256 {}", row.out_sha256))
}

#[test]
fn acr_corpus_renders_as_acr_renders_it() {
    let Some(dir) = corpus_dir() else {
        eprintln!("../shared/acr-corpus not found; corpus conformance test skipped");
        return;
    };
    let table = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/template-conformance-corpus.jsonl");
    let text = std::fs::read_to_string(&table).unwrap_or_else(|e| panic!("{}: {e}", table.display()));
    let rows: Vec<CorpusRow> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}:{}: {e}", table.display(), i + 1)))
        .collect();
    // Every YAML file of the folder has a row, so a file added to the corpus is not silently skipped.
    let mut missing: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| (n.ends_with(".yaml") || n.ends_with(".yml")) && !rows.iter().any(|r| &r.file == n))
        .collect();
    missing.sort();
    assert!(missing.is_empty(), "corpus files without a row in the table: {missing:?}");

    let failures: Vec<String> = rows
        .iter()
        .filter_map(|row| corpus_difference(&dir, row).map(|why| format!("{}:\n  {why}", row.file)))
        .collect();
    eprintln!("ACR corpus: {} of {} files render as ACR renders them", rows.len() - failures.len(), rows.len());
    assert!(failures.is_empty(), "{} corpus files differ from ACR:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn an_empty_file_is_a_task_with_no_steps_but_an_empty_render_is_an_error() {
    let req = |source: &'static str| LoadRequest {
        file_name: "acb.yaml",
        source,
        values: serde_json::json!({}),
        secrets: Default::default(),
        run: run_vars(),
        now: chrono::Utc::now(),
        alias_loader: &NoAliasSources,
        options: LoadOptions::default(),
    };
    for source in ["", "# only comments\n#  {{ fail \"never runs\" }}\n"] {
        let loaded = super::load(&req(source)).unwrap_or_else(|d| panic!("{source:?}: {d}"));
        assert!(loaded.task.steps.is_empty(), "{source:?}");
    }
    let d = super::load(&req("{{ if false }}steps: []{{ end }}")).unwrap_err();
    assert_eq!(d.0[0].code, "empty-render", "{d}");
}
