use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;

use super::*;

fn scan_ok(text: &str) -> Dependencies {
    scan(text, &ScanOptions::default()).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn with(args: &[(&str, &str)], target: Option<&str>) -> ScanOptions {
    ScanOptions {
        build_args: args.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
        target: target.map(str::to_string),
    }
}

fn runtime(d: &Dependencies) -> Option<String> {
    d.runtime.as_ref().map(ToString::to_string)
}

fn buildtime(d: &Dependencies) -> Vec<String> {
    d.buildtime.iter().map(ToString::to_string).collect()
}

#[test]
fn single_stage() {
    let d = scan_ok("FROM alpine:3.20\nRUN echo hi\n");
    assert_eq!(runtime(&d).as_deref(), Some("docker.io/library/alpine:3.20"));
    assert!(d.buildtime.is_empty());
    assert_eq!(d.stages.len(), 1);
    assert_eq!(d.stages[0].line, 1);
}

#[test]
fn utf8_bom_is_ignored() {
    // ACR's WithBOM case: the final stage is scratch, so there is no runtime image.
    let text = "\u{feff}FROM golang:1.10-alpine AS gobuild-base\nRUN apk add --no-cache \\\n\tgit \\\n\tmake\n\n\
                FROM gobuild-base AS base\nCOPY . .\n\nFROM scratch\nCOPY --from=base /usr/bin/x /usr/bin/x\n";
    let d = scan_ok(text);
    assert_eq!(d.runtime, None);
    assert_eq!(buildtime(&d), ["docker.io/library/golang:1.10-alpine"]);
    assert_eq!(d.stages[2].base, StageBase::Scratch);
}

#[test]
fn parser_directives_comments_and_blank_lines() {
    let text = "# syntax=docker/dockerfile:1.7\n# escape=`\n\n# a comment\n  # indented comment\n\nFROM `\n  mcr.microsoft.com/windows/servercore:ltsc2022 `\n  AS base\nRUN dir c:\\\n";
    let d = scan_ok(text);
    assert_eq!(runtime(&d).as_deref(), Some("mcr.microsoft.com/windows/servercore:ltsc2022"));
    assert_eq!(d.stages[0].name.as_deref(), Some("base"));
    assert_eq!(d.stages[0].line, 7);
}

#[test]
fn backslash_is_not_a_continuation_after_escape_directive() {
    // With `# escape=\``, a trailing `\` is an ordinary character (Windows paths).
    let text = "# escape=`\nFROM alpine\nRUN echo c:\\\nFROM busybox\n";
    let d = scan_ok(text);
    assert_eq!(d.stages.len(), 2);
}

#[test]
fn continuations_skip_comment_lines() {
    let text = "FROM \\\n# the base image\n   node:20 \\\n\n   AS build\nFROM build\n";
    let d = scan_ok(text);
    assert_eq!(d.stages[0].name.as_deref(), Some("build"));
    assert_eq!(runtime(&d).as_deref(), Some("docker.io/library/node:20"));
    assert_eq!(d.stages[1].base, StageBase::Stage(0));
    assert_eq!(d.stages[1].line, 6);
}

#[test]
fn instructions_and_as_are_case_insensitive() {
    let d = scan_ok("from alpine As Builder\nFrOm BUILDER\n");
    assert_eq!(d.stages[0].name.as_deref(), Some("builder"));
    assert_eq!(d.stages[1].base, StageBase::Stage(0));
}

#[test]
fn heredoc_bodies_are_not_instructions() {
    let text = "FROM alpine\nRUN <<EOF\nFROM evil:1\nEOF\n\
                COPY <<-\"A\" <<'B' /dst/\n\tFROM evil:2\n\tA\nFROM evil:3\nB\n\
                RUN python3 <<PY\nFROM evil:4\nPY\nFROM busybox\n";
    let d = scan_ok(text);
    assert_eq!(d.stages.len(), 2);
    assert_eq!(runtime(&d).as_deref(), Some("docker.io/library/busybox:latest"));
    assert_eq!(buildtime(&d), ["docker.io/library/alpine:latest"]);
}

#[test]
fn unterminated_heredoc_is_an_error() {
    let err = scan("FROM alpine\nRUN <<EOF\necho\n", &ScanOptions::default()).unwrap_err();
    assert_eq!(err, ScanError::UnterminatedHeredoc { line: 2, delimiter: "EOF".into() });
    assert!(err.to_string().contains("only `EOF`"), "{err}");
}

#[test]
fn global_arg_defaults_and_build_arg_overrides() {
    let text = "ARG BASE=alpine\nARG TAG=3.19\nFROM ${BASE}:$TAG\n";
    assert_eq!(runtime(&scan_ok(text)).as_deref(), Some("docker.io/library/alpine:3.19"));
    let d = scan(text, &with(&[("TAG", "3.20")], None)).unwrap();
    assert_eq!(runtime(&d).as_deref(), Some("docker.io/library/alpine:3.20"));
}

#[test]
fn several_args_on_one_line_with_quotes() {
    let text = "ARG REG=\"myreg.azurecr.io\" REPO='team/app' TAG=1.0\nFROM $REG/$REPO:$TAG\n";
    assert_eq!(runtime(&scan_ok(text)).as_deref(), Some("myreg.azurecr.io/team/app:1.0"));
}

#[test]
fn arg_defaults_can_use_earlier_args() {
    let text = "ARG V=20\nARG IMG=node:${V}-alpine\nFROM $IMG\n";
    assert_eq!(runtime(&scan_ok(text)).as_deref(), Some("docker.io/library/node:20-alpine"));
}

#[test]
fn default_and_alternative_expansions() {
    let text = "ARG VARIANT\nARG SLIM=yes\nFROM python:${PYVER:-3.12}${SLIM:+-slim}${VARIANT:+-$VARIANT}\n";
    assert_eq!(runtime(&scan_ok(text)).as_deref(), Some("docker.io/library/python:3.12-slim"));
    let d = scan(text, &with(&[("VARIANT", "bookworm")], None)).unwrap();
    assert_eq!(runtime(&d).as_deref(), Some("docker.io/library/python:3.12-slim-bookworm"));
}

#[test]
fn later_arg_declaration_wins_like_docker() {
    // ACR's scanner keeps the first declaration; Docker (verified with the classic
    // builder on dockerd 20.10) uses the last one, and drydock builds with Docker.
    let text = "ARG TAG=1\nARG TAG=2\nFROM app:$TAG\n";
    assert_eq!(runtime(&scan_ok(text)).as_deref(), Some("docker.io/library/app:2"));
    // A build arg still beats both.
    let d = scan(text, &with(&[("TAG", "3")], None)).unwrap();
    assert_eq!(runtime(&d).as_deref(), Some("docker.io/library/app:3"));
}

#[test]
fn build_args_only_apply_to_declared_args() {
    let err = scan("FROM alpine:$TAG\n", &with(&[("TAG", "3.20")], None)).unwrap_err();
    assert!(matches!(err, ScanError::InvalidImage { .. }), "{err}");
}

#[test]
fn args_declared_inside_a_stage_do_not_reach_later_froms() {
    // Docker rejects this (verified: "invalid reference format"); ACR's scanner accepted it.
    let text = "FROM alpine AS a\nARG TAG=3.20\nFROM busybox:$TAG\n";
    assert!(matches!(scan(text, &ScanOptions::default()), Err(ScanError::InvalidImage { line: 3, .. })));
}

#[test]
fn acr_multi_stage_example_with_args_moved_to_the_top() {
    // ACR's main dependency test, with its ARGs before the first FROM so that Docker
    // would accept it: stage references, `COPY --from=<stage>` and `--from=<index>`.
    let text = r#"# test resource
ARG runtime_version="2.0.6"
ARG build_image
ARG build_version=2.0
FROM microsoft/aspnetcore:${runtime_version} AS base
WORKDIR /app

FROM base AS secondary
RUN nothing

FROM microsoft/$build_image:$build_version AS builder
COPY . .

FROM builder AS publish
RUN dotnet publish -c Release -o /app

FROM imaginary/cert-generator:1.0

FROM secondary AS production
COPY --from=publish /app .
COPY --from=3 /cert /app
"#;
    let opts = with(&[("build_image", "aspnetcore-build"), ("build_version", "2.0.6")], None);
    let d = scan(text, &opts).unwrap();
    assert_eq!(d.runtime.as_ref().map(ImageRef::familiar).as_deref(), Some("microsoft/aspnetcore:2.0.6"));
    let familiar: Vec<String> = d.buildtime.iter().map(ImageRef::familiar).collect();
    assert_eq!(familiar, ["microsoft/aspnetcore-build:2.0.6", "imaginary/cert-generator:1.0"]);
    assert_eq!(d.stages[5].base, StageBase::Stage(1));
}

#[test]
fn platform_flag_is_recorded_not_expanded() {
    // Azure/acr#697: ACR's scanner failed on this line.
    let text = "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nFROM --platform=linux/arm64 alpine\n";
    let d = scan_ok(text);
    assert_eq!(d.stages[0].platform.as_deref(), Some("$BUILDPLATFORM"));
    assert_eq!(d.stages[0].name.as_deref(), Some("build"));
    assert_eq!(d.stages[1].platform.as_deref(), Some("linux/arm64"));
    assert_eq!(buildtime(&d), ["docker.io/library/golang:1.22"]);
}

#[test]
fn platform_args_may_be_supplied_for_image_names() {
    let text = "FROM --platform=$TARGETPLATFORM ${TARGETARCH}/alpine\n";
    let d = scan(text, &with(&[("TARGETARCH", "arm64v8")], None)).unwrap();
    assert_eq!(runtime(&d).as_deref(), Some("docker.io/arm64v8/alpine:latest"));
}

#[test]
fn unknown_flags_before_the_image_are_skipped() {
    let d = scan_ok("FROM --foo=bar --platform linux/amd64 alpine AS x\n");
    assert_eq!(d.stages[0].platform.as_deref(), Some("linux/amd64"));
    assert_eq!(runtime(&d).as_deref(), Some("docker.io/library/alpine:latest"));
}

#[test]
fn scratch_and_digests() {
    let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let d = scan_ok(&format!("FROM node@{digest} AS b\nFROM scratch\nCOPY --from=b / /\n"));
    assert_eq!(d.runtime, None);
    assert_eq!(d.buildtime[0].digest.as_deref(), Some(digest));
    assert_eq!(d.buildtime[0].tag, None);
}

#[test]
fn stage_name_used_before_it_is_defined_is_an_image() {
    let d = scan_ok("FROM later\nFROM alpine AS later\n");
    assert_eq!(buildtime(&d), ["docker.io/library/later:latest"]);
}

#[test]
fn target_limits_the_relevant_stages() {
    // ACR's WithTarget case.
    let text = "FROM scratch AS base\nRUN ls\nFROM node:lts AS build\nRUN ls\nFROM nginx:stable AS final\nRUN ls\n";
    let d = scan(text, &with(&[], Some("build"))).unwrap();
    assert_eq!(runtime(&d).as_deref(), Some("docker.io/library/node:lts"));
    assert!(d.buildtime.is_empty());
    assert_eq!(d.stages.len(), 2);
    let d = scan(text, &with(&[], Some("BUILD"))).unwrap();
    assert_eq!(d.stages.len(), 2);
    let d = scan_ok(text);
    assert_eq!(runtime(&d).as_deref(), Some("docker.io/library/nginx:stable"));
    assert_eq!(buildtime(&d), ["docker.io/library/node:lts"]);
}

#[test]
fn target_follows_stage_references() {
    let text = "FROM golang:1.22 AS build\nFROM build AS test\nFROM alpine AS final\n";
    let d = scan(text, &with(&[], Some("test"))).unwrap();
    assert_eq!(runtime(&d).as_deref(), Some("docker.io/library/golang:1.22"));
    assert!(d.buildtime.is_empty());
}

#[test]
fn stages_after_the_target_are_not_evaluated() {
    let text = "FROM alpine AS ok\nFROM $UNDEFINED\n";
    assert!(scan(text, &with(&[], Some("ok"))).is_ok());
    assert!(scan(text, &ScanOptions::default()).is_err());
}

#[test]
fn unknown_target_lists_stage_names() {
    let err = scan("FROM a AS one\nFROM b AS Two\nFROM c\n", &with(&[], Some("three"))).unwrap_err();
    assert_eq!(err, ScanError::UnknownTarget { target: "three".into(), available: vec!["one".into(), "two".into()] });
    assert!(err.to_string().contains("one, two"), "{err}");
    let err = scan("FROM a\n", &with(&[], Some("x"))).unwrap_err();
    assert!(err.to_string().contains("no named stages"), "{err}");
}

#[test]
fn buildtime_is_distinct_in_file_order_without_runtime() {
    let text = "FROM golang:1.22 AS a\nFROM node:20 AS b\nFROM golang:1.22 AS c\nFROM docker.io/library/node:20\nFROM alpine\nFROM node:20\n";
    let d = scan_ok(text);
    assert_eq!(runtime(&d).as_deref(), Some("docker.io/library/node:20"));
    assert_eq!(buildtime(&d), ["docker.io/library/golang:1.22", "docker.io/library/alpine:latest"]);
}

#[test]
fn copy_from_and_mount_from_images_are_buildtime() {
    let text = "ARG HELPER=busybox:1.36\nFROM golang:1.22 AS build\n\
                COPY --from=nginx:1.27 /etc/nginx /etc/nginx\n\
                COPY --chown=1:1 --from=build /a /b\n\
                COPY --from=0 /a /b\n\
                RUN --mount=type=bind,from=ghcr.io/acme/tools:2,source=/bin,target=/t make\n\
                RUN --mount=type=cache,target=/root/.cache --mount=type=bind,from=build,target=/x true\n\
                ARG HELPER\nCOPY --from=$HELPER /bin/sh /sh\n\
                FROM alpine\nCOPY --from=BUILD /out /out\n";
    let d = scan_ok(text);
    assert_eq!(
        buildtime(&d),
        [
            "docker.io/library/golang:1.22",
            "docker.io/library/nginx:1.27",
            "ghcr.io/acme/tools:2",
            "docker.io/library/busybox:1.36"
        ]
    );
}

#[test]
fn copy_from_in_stages_after_target_is_ignored() {
    let text = "FROM alpine AS a\nFROM busybox AS b\nCOPY --from=nginx / /\n";
    let d = scan(text, &with(&[], Some("a"))).unwrap();
    assert!(d.buildtime.is_empty());
}

#[test]
fn no_from_is_an_error() {
    for text in ["", "# just a comment\n", "ARG A=1\nRUN echo\n", "RUN <<EOF\nFROM x\nEOF\n"] {
        let err = scan(text, &ScanOptions::default()).unwrap_err();
        assert_eq!(err, ScanError::NoFrom, "{text:?}");
    }
    assert!(ScanError::NoFrom.to_string().contains("must start its first stage with FROM"));
}

#[test]
fn empty_image_names_the_arg_and_suggests_build_arg() {
    let err = scan("ARG BASE\nFROM $BASE AS x\n", &ScanOptions::default()).unwrap_err();
    assert_eq!(err, ScanError::EmptyImage { line: 2, text: "$BASE".into(), missing: vec!["BASE".into()] });
    let msg = err.to_string();
    assert!(msg.contains("line 2") && msg.contains("ARG BASE") && msg.contains("--build-arg BASE="), "{msg}");
    let err = scan("FROM\n", &ScanOptions::default()).unwrap_err();
    assert!(matches!(err, ScanError::EmptyImage { line: 1, .. }), "{err}");
}

#[test]
fn partially_empty_image_names_the_missing_arg() {
    let err = scan("ARG REGISTRY\nFROM ${REGISTRY}/app:1\n", &ScanOptions::default()).unwrap_err();
    assert!(matches!(err, ScanError::InvalidImage { line: 2, ref missing, .. } if missing == &["REGISTRY"]));
    assert!(err.to_string().contains("--build-arg REGISTRY="), "{err}");
}

#[test]
fn crlf_heredoc_terminators() {
    let d = scan_ok("FROM alpine\r\nRUN <<EOF\r\nFROM evil\r\nEOF\r\nFROM busybox\r\n");
    assert_eq!(d.stages.len(), 2);
    let d = scan_ok("FROM alpine\nRUN <<EOF\nx\nEOF\r");
    assert_eq!(d.stages.len(), 1);
}

#[test]
fn invalid_image_reports_line_and_reason() {
    let err = scan("FROM alpine\nFROM MyImage:1\n", &ScanOptions::default()).unwrap_err();
    assert!(matches!(err, ScanError::InvalidImage { line: 2, .. }), "{err}");
    assert!(err.to_string().contains("lowercase"), "{err}");
}

#[test]
fn instructions_before_the_first_from_are_tolerated() {
    let d = scan_ok("RUN echo odd\nARG X=1\nFROM alpine\n");
    assert_eq!(d.stages.len(), 1);
}

#[test]
fn dependency_json_has_acr_shape() {
    let d = scan_ok("FROM golang:1.22 AS build\nFROM hello-world\n");
    let image = ImageRef::parse("myreg.azurecr.io/hello-world:latest").unwrap();
    let v = dependency_json(Some(&image), &d, Some("68cdf2a"));
    assert_eq!(
        v,
        json!({
            "image": {"registry": "myreg.azurecr.io", "repository": "hello-world", "tag": "latest",
                      "digest": null, "reference": "myreg.azurecr.io/hello-world:latest"},
            "runtime-dependency": {"registry": "docker.io", "repository": "library/hello-world",
                                   "tag": "latest", "digest": null, "reference": "hello-world"},
            "buildtime-dependency": [{"registry": "docker.io", "repository": "library/golang",
                                      "tag": "1.22", "digest": null, "reference": "golang:1.22"}],
            "git": {"git-head-revision": "68cdf2a"}
        })
    );
    let scratch = scan_ok("FROM scratch\n");
    assert_eq!(dependency_json(None, &scratch, None), json!({"buildtime-dependency": []}));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn scan_never_panics(text in "(?s).{0,300}") {
        let _ = scan(&text, &ScanOptions::default());
    }

    #[test]
    fn dockerfile_like_text_never_panics(
        lines in proptest::collection::vec(
            "(FROM|from|ARG|RUN|COPY|# escape=`|#)? ?[-a-z$:{}=\"'`<\\\\ ./@]{0,24}",
            0..12,
        ),
        target in proptest::option::of("[a-z]{1,3}"),
    ) {
        let opts = ScanOptions { build_args: BTreeMap::new(), target };
        let _ = scan(&lines.join("\n"), &opts);
    }
}
