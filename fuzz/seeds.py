#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz targets (run by scripts/fuzz.sh; idempotent).

    seeds.py OUT_DIR REPO_ROOT SHARED_DIR

Writes OUT_DIR/<target>/seed-<sha1> files. Nothing is copied into the repository: seeds are
read from ../shared/acr-corpus, the repository's tests, examples and docs, or generated here.
"""

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import sys
import tarfile

OUT, ROOT, SHARED = sys.argv[1], sys.argv[2], sys.argv[3]
CORPUS = os.path.join(SHARED, "acr-corpus")
counts = {}


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "seed-" + hashlib.sha1(data).hexdigest())
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
    counts[target] = counts.get(target, 0) + 1


def read(path):
    with open(path, "rb") as f:
        return f.read()


# ---------------------------------------------------------------- Rust string literals

ESC = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}


def unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        n = s[i + 1] if i + 1 < len(s) else ""
        if n == "\n":  # line continuation: skip the newline and the next line's indentation
            i += 2
            while i < len(s) and s[i] in " \t\n\r":
                i += 1
        elif n == "u":
            m = re.match(r"u\{([0-9a-fA-F]+)\}", s[i + 1:])
            out.append(chr(int(m.group(1), 16)) if m else "")
            i += 1 + (m.end() if m else 1)
        elif n == "x":
            out.append(chr(int(s[i + 2:i + 4], 16)))
            i += 4
        else:
            out.append(ESC.get(n, n))
            i += 2
    return "".join(out)


def rust_strings(path):
    text = read(path).decode("utf-8", "replace")
    found = [m.group(2) for m in re.finditer(r'r(#+)"(.*?)"\1', text, re.S)]
    text = re.sub(r'r(#+)".*?"\1', "", text, flags=re.S)
    found += [unescape(m.group(1)) for m in re.finditer(r'(?<![\w\'])"((?:[^"\\]|\\.)*)"', text, re.S)]
    return found


def files_under(top, pred):
    for dirpath, _, names in os.walk(top):
        for n in sorted(names):
            p = os.path.join(dirpath, n)
            if pred(p):
                yield p


def md_blocks(path, langs):
    text = read(path).decode("utf-8", "replace")
    for m in re.finditer(r"```(\w*)\n(.*?)```", text, re.S):
        if m.group(1).lower() in langs:
            yield m.group(2)


# ---------------------------------------------------------------- taskfile and template

PAIRS = [  # task file, values file (from INDEX.md and tests/corpus.rs)
    ("Azure_acr-builder_templating_testdata_thames_thames.yaml", "Azure_acr-builder_templating_testdata_thames_values.yaml"),
    ("Azure_acr-builder_templating_testdata_curie_curie.yaml", "Azure_acr-builder_templating_testdata_curie_values.yaml"),
    ("Azure_acr-builder_templating_testdata_caching_cache.yaml", "Azure_acr-builder_templating_testdata_caching_values.yaml"),
    ("Azure_acr-builder_templating_testdata_helloworld_context-build.yaml", "Azure_acr-builder_templating_testdata_helloworld_values.yaml"),
    ("Azure_acr-builder_templating_testdata_helloworld_git-build.yaml", "Azure_acr-builder_templating_testdata_helloworld_values.yaml"),
    ("Azure_acr-builder_templating_testdata_helloworld_tar-build.yaml", "Azure_acr-builder_templating_testdata_helloworld_values.yaml"),
    ("Azure_acr-builder_templating_testdata_helloworld_manifest.yaml", "Azure_acr-builder_templating_testdata_helloworld_values.yaml"),
]

task_texts = []
if os.path.isdir(CORPUS):
    for p in files_under(CORPUS, lambda p: p.endswith((".yaml", ".yml"))):
        task_texts.append(read(p))
    for task, values in PAIRS:
        t, v = os.path.join(CORPUS, task), os.path.join(CORPUS, values)
        if os.path.exists(t) and os.path.exists(v):
            put("taskfile", read(t) + b"\0" + read(v))
    swv = os.path.join(CORPUS, "sajayantony_task-sample-with-values_acb.yaml")
    if os.path.exists(swv):
        put("taskfile", read(swv) + b"\0REGISTRY: myreg.azurecr.io\nTEST: x\n")
for p in files_under(os.path.join(ROOT, "tests", "data"), lambda p: p.endswith(".yaml")):
    task_texts.append(read(p))
ex2, ex2v = os.path.join(ROOT, "tests/data/ex2.yaml"), os.path.join(ROOT, "tests/data/ex2-values.yaml")
if os.path.exists(ex2) and os.path.exists(ex2v):
    put("taskfile", read(ex2) + b"\0" + read(ex2v))
for p in files_under(os.path.join(ROOT, "examples"), lambda p: p.endswith((".yaml", ".yml"))):
    task_texts.append(read(p))
for p in files_under(os.path.join(SHARED, "docs"), lambda p: p.endswith(".md")):
    for block in md_blocks(p, {"yaml", "yml"}):
        task_texts.append(block.encode())
for t in task_texts:
    put("taskfile", t)
    put("template", t)

# Template snippets from the engine's own unit tests.
tdir = os.path.join(ROOT, "src/taskfile/template/tests")
for p in files_under(tdir, lambda p: p.endswith(".rs")):
    for s in rust_strings(p):
        if "{{" in s and len(s) < 4096:
            put("template", s)
            if "steps" in s or "version" in s:
                put("taskfile", s)
for s in [
    '{{ define "t" }}x{{ .a }}{{ end }}{{ template "t" .Values.map }}',
    '{{ range $i, $v := .Values.list }}{{ $i }}={{ $v | upper | quote }}\n{{ end }}',
    '{{ with .Values.deep.a }}{{ .b.c }}{{ else }}none{{ end }}',
    '{{ printf "%05.2f|%-4s|%x|%q" .Values.f "ab" 255 "q" }}',
    '{{ .Values.tag | default "latest" | trunc 3 | replace "." "-" }}',
    '{{ if and (eq .Run.OS "linux") (gt (len .Values.list) 2) }}yes{{ end }}',
    '{{- /* comment */ -}}\n{{ now | date "2006-01-02" }} {{ .Run.Date }}',
    '{{ $x := dict "a" 1 "b" (list 1 2 3) }}{{ toJson $x }}{{ $x.b | last }}',
    '{{ required "need tag" .Values.tag }} {{ b64enc "x" | b64dec }} {{ sha256sum "a" }}',
    '{{ until 5 | join "," }} {{ repeat 3 "ab" }} {{ regexReplaceAll "a(b)" "abab" "$1" }}',
]:
    put("template", s)

# Alias-block task files (v1.1.0) so the alias stage is reached without mutation luck.
put("taskfile", "version: v1.1.0\nalias:\n  src:\n    - aliases.yaml\n  values:\n    d: $docker\n    msg: hi {{.Values.tag}}\nsteps:\n  - cmd: $d run $singleAlias $msg\n  - build: -t $Registry/app:$ID .\n")
put("taskfile", "version: v1.1.0\nalias:\n  values:\n    '#': '%'\nsteps:\n  - cmd: %Registry/x:%ID\n")
put("taskfile", "version: v1.1.0\nsecrets:\n  - id: test\n    keyvault: https://kv.vault.azure.net/secrets/x\nsteps:\n  - cmd: bash echo {{.Secrets.test}}\n    when: [\"-\"]\n  - id: b\n    build: -t x .\n    when: [\"-\"]\n  - push: [x]\n    when: [b]\n")

# ---------------------------------------------------------------- dockerfile

docker = []
for p in files_under(ROOT, lambda p: os.path.basename(p).lower().endswith("dockerfile") and "/target/" not in p and "/.git/" not in p and "/fuzz/" not in p):
    docker.append(read(p).decode("utf-8", "replace"))
for top in [os.path.join(ROOT, "tests"), os.path.join(ROOT, "src/dockerfile")]:
    for p in files_under(top, lambda p: p.endswith(".rs")):
        for s in rust_strings(p):
            if re.search(r"(?i)\bfrom\b", s) and "\n" in s:
                docker.append(s)
for p in files_under(SHARED, lambda p: p.endswith(".md")):
    for block in md_blocks(p, {"dockerfile", "docker"}):
        docker.append(block)
for t in task_texts:  # task files with inline Dockerfiles (`build: ... -f - <<EOF`) are rare, but cheap
    if b"FROM " in t:
        docker.append(t.decode("utf-8", "replace"))
docker += [
    "# syntax=docker/dockerfile:1\nARG BASE=alpine\nARG TAG=3.20\nFROM ${BASE}:${TAG} AS build\nRUN --mount=type=cache,from=busybox:1,target=/c make\nCOPY --from=golang:1.22 /usr/local/go /go\nFROM build AS final\nCOPY --from=build /out /out\n",
    "FROM --platform=$BUILDPLATFORM myreg.azurecr.io/team/app@sha256:" + "a" * 64 + "\nFROM scratch\n",
    "ARG V\nFROM python:${V:-3.12}${SLIM:+-slim}\nRUN <<EOF\nFROM evil\nEOF\n",
]
for d in docker:
    put("dockerfile", d)

# ---------------------------------------------------------------- archive


def tar_bytes(members, fmt=tarfile.PAX_FORMAT, trim=True):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for m in members:
            kind, name = m[0], m[1]
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            ti.mode = 0o644
            data = None
            if kind == "file":
                data = m[2].encode() if isinstance(m[2], str) else m[2]
                ti.size = len(data)
            elif kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            elif kind == "symlink":
                ti.type, ti.linkname = tarfile.SYMTYPE, m[2]
            elif kind == "hardlink":
                ti.type, ti.linkname = tarfile.LNKTYPE, m[2]
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
            elif kind == "chr":
                ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, 1, 3
            elif kind == "setuid":
                data = b"#!/bin/sh\n"
                ti.size, ti.mode = len(data), 0o4755
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    raw = buf.getvalue()
    if trim:  # drop the record padding after the two-block end marker: smaller seeds
        end = len(raw.rstrip(b"\0"))
        end = ((end + 511) // 512) * 512 + 1024
        raw = raw[:end]
    return raw


good = [
    ("dir", "src"),
    ("file", "Dockerfile", "FROM busybox\nCOPY src /src\n"),
    ("file", "src/main.rs", "fn main() {}\n"),
    ("symlink", "src/link.rs", "main.rs"),
    ("hardlink", "src/hard.rs", "src/main.rs"),
    ("file", ".dockerignore", "target\n"),
]
archives = {
    "good-pax": tar_bytes(good),
    "good-gnu": tar_bytes(good, tarfile.GNU_FORMAT),
    "good-ustar": tar_bytes(good, tarfile.USTAR_FORMAT),
    "longname-gnu": tar_bytes([("file", "d/" + "n" * 150 + "/f.txt", "x")], tarfile.GNU_FORMAT),
    "longname-pax": tar_bytes([("file", "d/" + "p" * 200, "x"), ("symlink", "l", "d/" + "p" * 200)]),
    "ustar-prefix": tar_bytes([("file", "a" * 90 + "/" + "b" * 60, "x")], tarfile.USTAR_FORMAT),
    "empty": tar_bytes([]),
    "parent": tar_bytes([("file", "../escape", "x")]),
    "absolute": tar_bytes([("file", "/etc/x", "x")]),
    "symlink-escape": tar_bytes([("symlink", "up", "../.."), ("file", "up/x", "y")]),
    "symlink-chain": tar_bytes([("dir", "a"), ("symlink", "a/b", ".."), ("symlink", "c", "a/b/..")]),
    "symlink-abs": tar_bytes([("symlink", "etc", "/etc")]),
    "hardlink-bad": tar_bytes([("hardlink", "h", "missing")]),
    "hardlink-to-link": tar_bytes([("symlink", "s", "x"), ("hardlink", "h", "s")]),
    "fifo": tar_bytes([("fifo", "p")]),
    "device": tar_bytes([("chr", "null")]),
    "setuid": tar_bytes([("setuid", "bin/s")]),
    "conflict": tar_bytes([("dir", "x"), ("file", "x", "y")]),
    "under-file": tar_bytes([("file", "f", "y"), ("file", "f/g", "z")]),
    "dup": tar_bytes([("file", "a", "1"), ("file", "a", "22")]),
}
for name, raw in list(archives.items()):
    put("archive", raw)
    if name in ("good-pax", "good-gnu", "symlink-chain", "longname-pax", "parent"):
        put("archive", gzip.compress(raw, mtime=0))
    if name in ("good-pax", "longname-gnu"):
        put("archive", bz2.compress(raw))
        put("archive", lzma.compress(raw, format=lzma.FORMAT_XZ))
put("archive", gzip.compress(archives["good-ustar"][:1024], mtime=0) + gzip.compress(archives["good-ustar"][1024:], mtime=0))
put("archive", archives["good-pax"] + b"trailing garbage after the end marker")
put("archive", archives["good-gnu"][:700])  # cut short

# ---------------------------------------------------------------- webhook

EVENTS = ["push", "pull_request", "ping", "Push Hook", "Tag Push Hook", "Merge Request Hook", "issues", "", "create", "Issue Hook"]
PROVIDERS = {"github": 0, "gitlab": 1, "gitea": 2, "generic": 3}


def hook(provider, event, body):
    sel = PROVIDERS[provider] | (EVENTS.index(event) << 2)
    put("webhook", bytes([sel]) + json.dumps(body).encode())


sha = "0123456789abcdef0123456789abcdef01234567"
gh_repo = {"clone_url": "https://github.com/o/r.git", "ssh_url": "git@github.com:o/r.git", "html_url": "https://github.com/o/r", "default_branch": "main"}
hook("github", "push", {"ref": "refs/heads/dev", "before": "1" * 40, "after": sha, "deleted": False, "head_commit": {"id": sha}, "repository": gh_repo,
                        "commits": [{"id": sha, "added": ["src/x.rs"], "modified": ["README.md"], "removed": ["old.md"]}]})
hook("github", "push", {"ref": "refs/tags/v1", "after": "tagobj", "head_commit": {"id": "c0ffee"}, "repository": gh_repo})
hook("github", "push", {"ref": "refs/heads/old", "deleted": True, "after": "0" * 40, "head_commit": None, "repository": gh_repo})
for action in ["opened", "synchronize", "reopened", "closed"]:
    hook("github", "pull_request", {"action": action, "number": 12, "repository": gh_repo,
                                    "pull_request": {"number": 12, "head": {"sha": "feed", "ref": "topic"}, "base": {"ref": "main"}}})
hook("github", "ping", {"zen": "hi", "hook_id": 1, "repository": gh_repo})
hook("github", "issues", {"action": "opened", "repository": gh_repo})
project = {"git_http_url": "https://gitlab.example.com/g/p.git", "git_ssh_url": "git@gitlab.example.com:g/p.git", "web_url": "https://gitlab.example.com/g/p", "default_branch": "main"}
hook("gitlab", "Push Hook", {"object_kind": "push", "ref": "refs/heads/main", "after": "b2", "checkout_sha": "b2", "project": project, "total_commits_count": 1,
                             "commits": [{"id": "b2", "added": [], "modified": ["a"], "removed": []}]})
hook("gitlab", "Tag Push Hook", {"object_kind": "tag_push", "ref": "refs/tags/v2", "after": "tagobj", "checkout_sha": "c3", "project": project})
hook("gitlab", "Push Hook", {"ref": "refs/heads/x", "checkout_sha": None, "after": "0" * 40, "project": project})
for action, oldrev in [("open", None), ("update", "c3"), ("update", None), ("merge", None), ("reopen", None)]:
    hook("gitlab", "Merge Request Hook", {"object_kind": "merge_request", "project": project, "object_attributes": {
        "iid": 4, "action": action, "oldrev": oldrev, "source_branch": "topic", "target_branch": "main", "last_commit": {"id": "d4"}}})
hook("gitlab", "Issue Hook", {"project": project})
gt_repo = {"clone_url": "https://gitea.example.com/o/r.git", "ssh_url": "git@gitea.example.com:o/r.git", "default_branch": "main"}
hook("gitea", "push", {"ref": "refs/heads/main", "after": "e5", "repository": gt_repo, "commits": [{"id": "e5", "added": ["a"], "modified": [], "removed": []}]})
hook("gitea", "pull_request", {"action": "synchronized", "number": 3, "repository": gt_repo,
                               "pull_request": {"head": {"sha": "f6", "ref": "topic"}, "base": {"ref": "main"}}})
hook("gitea", "pull_request", {"action": "closed", "number": 3, "repository": gt_repo})
hook("generic", "", {"ref": "refs/heads/main", "commit": sha, "repository": "https://github.com/o/r.git", "event": "commit", "changed_files": ["src/a.rs", "docs/ab/x"]})
hook("generic", "", {"ref": "refs/tags/v1.2", "commit": sha})
hook("generic", "", {"ref": "refs/heads/main", "commit": sha, "event": "pullrequest", "pull_request": 9})
hook("generic", "", {"ref": "refs/heads/main", "commit": "main"})
put("webhook", b"\x00not json")

print(" ".join(f"{t}={n}" for t, n in sorted(counts.items())))
