use super::*;

fn parts(text: &str) -> (String, String, Option<String>, Option<String>) {
    let r = ImageRef::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    (r.registry, r.repository, r.tag, r.digest)
}

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn docker_hub_official_image_gets_library_and_latest() {
    assert_eq!(parts("busybox"), ("docker.io".into(), "library/busybox".into(), Some("latest".into()), None));
}

#[test]
fn docker_hub_user_repository_keeps_its_namespace() {
    assert_eq!(parts("user/app:1.0"), ("docker.io".into(), "user/app".into(), Some("1.0".into()), None));
}

#[test]
fn registry_recognised_by_dot_colon_or_localhost() {
    assert_eq!(parts("myreg.azurecr.io/app").0, "myreg.azurecr.io");
    assert_eq!(parts("reg.local:5000/team/app:2").0, "reg.local:5000");
    assert_eq!(parts("localhost/app").0, "localhost");
    assert_eq!(parts("localhost:5000/app").1, "app");
    // `host` without dot or port is a Docker Hub namespace, not a registry.
    assert_eq!(parts("host/app").0, "docker.io");
    assert_eq!(parts("host/app").1, "host/app");
}

#[test]
fn index_docker_io_is_normalised_to_docker_io() {
    assert_eq!(parts("index.docker.io/busybox").0, "docker.io");
    assert_eq!(parts("index.docker.io/busybox").1, "library/busybox");
    assert_eq!(parts("docker.io/busybox").1, "library/busybox");
}

#[test]
fn port_colon_is_not_a_tag() {
    let (reg, repo, tag, _) = parts("localhost:5000/app");
    assert_eq!((reg.as_str(), repo.as_str(), tag.as_deref()), ("localhost:5000", "app", Some("latest")));
}

#[test]
fn digest_only_has_no_default_tag() {
    let r = ImageRef::parse(&format!("alpine@{DIGEST}")).unwrap();
    assert_eq!(r.tag, None);
    assert_eq!(r.digest.as_deref(), Some(DIGEST));
    assert_eq!(r.to_string(), format!("docker.io/library/alpine@{DIGEST}"));
}

#[test]
fn tag_and_digest_together() {
    let r = ImageRef::parse(&format!("alpine:3.20@{DIGEST}")).unwrap();
    assert_eq!(r.tag.as_deref(), Some("3.20"));
    assert_eq!(r.familiar(), format!("alpine:3.20@{DIGEST}"));
}

#[test]
fn display_is_fully_qualified_and_familiar_is_short() {
    let r = ImageRef::parse("busybox").unwrap();
    assert_eq!(r.to_string(), "docker.io/library/busybox:latest");
    assert_eq!(r.familiar(), "busybox:latest");
    assert_eq!(ImageRef::parse("user/app:1").unwrap().familiar(), "user/app:1");
    assert_eq!(ImageRef::parse("reg.io/library/app").unwrap().familiar(), "reg.io/library/app:latest");
    // Found by fuzzing: a Hub repository whose first component looks like a host keeps `docker.io/`,
    // or its short form would name an image on that host.
    let hub = ImageRef::parse("docker.io/lr.io/library/node:20").unwrap();
    assert_eq!(hub.familiar(), "docker.io/lr.io/library/node:20");
    assert_eq!(ImageRef::parse(&hub.familiar()).unwrap(), hub);
    // Also found by fuzzing: the limit is on the normalised name, as Docker counts it.
    let long = "a".repeat(240);
    assert!(ImageRef::parse(&long).is_err(), "docker.io/library/ + 240 characters is over 255");
    assert!(ImageRef::parse(&"a".repeat(200)).is_ok());
    assert_eq!(ImageRef::parse("docker.io/library/a/b").unwrap().familiar(), "library/a/b:latest");
}

#[test]
fn equality_ignores_spelling() {
    assert_eq!(ImageRef::parse("busybox").unwrap(), ImageRef::parse("docker.io/library/busybox:latest").unwrap());
    assert_ne!(ImageRef::parse("busybox:1").unwrap(), ImageRef::parse("busybox").unwrap());
    assert_eq!(ImageRef::parse("busybox").unwrap().reference(), "busybox");
}

#[test]
fn scratch_is_recognised() {
    assert!(ImageRef::parse("scratch").unwrap().is_scratch());
    assert!(!ImageRef::parse("scratch:1").unwrap().is_scratch());
    assert!(!ImageRef::parse("reg.io/scratch").unwrap().is_scratch());
}

#[test]
fn uppercase_repository_is_rejected_with_suggestion() {
    let err = ImageRef::parse("MyApp:1").unwrap_err();
    assert!(matches!(err, ReferenceError::Uppercase { ref suggestion, .. } if suggestion == "myapp"));
    assert!(err.to_string().contains("use `myapp`"));
    // An upper-case first component is read as a registry, as Docker does.
    assert_eq!(parts("Reg/app").0, "Reg");
}

#[test]
fn invalid_components_are_rejected() {
    for bad in ["a//b", "a/", "-a", "a-", "a..b", "a___b", "a b", "ä", "a/.b"] {
        assert!(
            matches!(ImageRef::parse(bad), Err(ReferenceError::InvalidComponent { .. })),
            "{bad} should be invalid"
        );
    }
    for good in ["a.b", "a_b", "a__b", "a---b", "a0/b-c.d_e"] {
        assert!(ImageRef::parse(good).is_ok(), "{good} should be valid");
    }
}

#[test]
fn tag_grammar() {
    assert!(ImageRef::parse("a:v1.2-rc_3").is_ok());
    assert!(ImageRef::parse("a:_x").is_ok());
    assert!(matches!(ImageRef::parse("a:.x"), Err(ReferenceError::InvalidTag { .. })));
    assert!(matches!(ImageRef::parse("a:-x"), Err(ReferenceError::InvalidTag { .. })));
    assert!(matches!(ImageRef::parse("a:"), Err(ReferenceError::InvalidTag { .. })));
    assert!(ImageRef::parse(&format!("a:{}", "x".repeat(128))).is_ok());
    assert!(ImageRef::parse(&format!("a:{}", "x".repeat(129))).is_err());
}

#[test]
fn digest_grammar() {
    assert!(ImageRef::parse("a@sha256:abc").is_err());
    assert!(ImageRef::parse(&format!("a@{}", DIGEST.to_uppercase())).is_err());
    assert!(ImageRef::parse("a@md5").is_err());
    assert!(ImageRef::parse(&format!("a@md5:{}", "a".repeat(32))).is_err());
    assert!(ImageRef::parse(&format!("a@sha512:{}", "a".repeat(128))).is_ok());
}

#[test]
fn registry_grammar() {
    assert!(ImageRef::parse("[::1]:5000/app").is_ok());
    assert!(matches!(ImageRef::parse("reg.io:port/app"), Err(ReferenceError::InvalidRegistry { .. })));
    assert!(matches!(ImageRef::parse("-reg.io/app"), Err(ReferenceError::InvalidRegistry { .. })));
}

#[test]
fn empty_and_overlong() {
    assert_eq!(ImageRef::parse(""), Err(ReferenceError::Empty));
    assert!(ImageRef::parse(":tag").is_err());
    assert!(ImageRef::parse("@sha256:00").is_err());
    let long = "a".repeat(256);
    assert!(matches!(ImageRef::parse(&long), Err(ReferenceError::NameTooLong { len: 256, .. })));
}

#[test]
fn registry_prefix_rule_for_quick_builds() {
    let p = |n: &str| ImageRef::with_registry_prefix(n, "reg.local:5000").unwrap().to_string();
    assert_eq!(p("app:1"), "reg.local:5000/app:1");
    assert_eq!(p("team/app"), "reg.local:5000/team/app:latest");
    assert_eq!(p("docker.io/x/y"), "docker.io/x/y:latest");
    assert_eq!(p("other.io/y"), "other.io/y:latest");
    assert_eq!(p("localhost/y:2"), "localhost/y:2");
    let r = ImageRef::with_registry_prefix("app:1", "reg.local:5000/").unwrap();
    assert_eq!(r.reference(), "reg.local:5000/app:1");
    assert_eq!(r.familiar(), "reg.local:5000/app:1");
}

#[test]
fn serialises_to_acr_dependency_shape() {
    let r = ImageRef::parse("golang:1.22").unwrap();
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        serde_json::json!({
            "registry": "docker.io",
            "repository": "library/golang",
            "tag": "1.22",
            "digest": null,
            "reference": "golang:1.22",
        })
    );
}

#[test]
fn registry_prefix_follows_acr() {
    use crate::reference::prefix_registry;
    assert_eq!(prefix_registry("app:1", "reg.io"), "reg.io/app:1");
    assert_eq!(prefix_registry("team/app:1", "reg.io"), "reg.io/team/app:1");
    assert_eq!(prefix_registry("other.io/app:1", "reg.io"), "other.io/app:1");
    assert_eq!(prefix_registry("localhost:5000/app", "reg.io"), "localhost:5000/app");
    // Docker's rule, which the daemon already followed and local builds now do too: upper case
    // marks a registry.
    assert_eq!(prefix_registry("MyHost/app", "reg.io"), "MyHost/app");
    assert_eq!(prefix_registry("app:{{.Run.ID}}", ""), "app:{{.Run.ID}}");
}
