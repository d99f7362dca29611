//! `drydock validate | render | plan` as a user runs them: exit codes, located errors, outputs.

use crate::helper::drydock;

#[test]
fn invalid_file_exits_2_with_file_line_col_and_advice() {
    let out = drydock()
        .args(["validate", "-f", "-"])
        .write_stdin("version: v1.1.0\nsteps:\n  - cmd: busybox echo\n    wehn: [\"-\"]\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("<stdin>:4:5: error[unknown-property]: unknown step property `wehn`"), "{err}");
    assert!(err.contains("did you mean `when`?"), "{err}");
}

#[test]
fn plan_json_is_exactly_the_documented_shape() {
    let out = drydock()
        .args(["plan", "-o", "json", "-f", "-"])
        .write_stdin("steps:\n  - build: -t a .\n    when: [\"-\"]\n  - id: b\n    build: -t b .\n    when: [\"-\"]\n  - push: [a, b]\n    when: [acb_step_0, b]\n  - cmd: a\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"steps\":[{\"id\":\"acb_step_0\",\"kind\":\"build\",\"depends_on\":[]},{\"id\":\"b\",\"kind\":\"build\",\"depends_on\":[]},{\"id\":\"acb_step_2\",\"kind\":\"push\",\"depends_on\":[\"acb_step_0\",\"b\"]},{\"id\":\"acb_step_3\",\"kind\":\"cmd\",\"depends_on\":[\"acb_step_2\"]}]}\n"
    );
}

#[test]
fn missing_task_file_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = drydock().args(["validate"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give one with -f"));
}

#[test]
fn validate_json_reports_diagnostics_for_scripts() {
    let out = drydock()
        .args(["validate", "-o", "json", "-f", "-"])
        .write_stdin("steps:\n  - cmd: x\n    retries: -2\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["diagnostics"][0]["code"], "negative-number");
    assert_eq!(v["diagnostics"][0]["pos"]["line"], 3);
}
