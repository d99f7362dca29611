#!/usr/bin/env bash
# Records what the real Docker CLI + classic builder do with .dockerignore and
# prints the results as Rust literal data (src/dockerignore/golden_data.rs).
#
# Every case builds the same small context twice with DOCKER_BUILDKIT=0:
#   1. against scripts/fake-dockerd.py, which saves the context tar the CLI
#      sends ("sent": the CLI's own filtering, which drydock must reproduce);
#   2. against the real daemon with `COPY . /ctx` + `RUN find /ctx | sort`
#      ("image": what the build sees after the daemon's own removal of an
#      excluded Dockerfile/.dockerignore).
# Results are stored as differences from the tree listing of the first case
# (empty .dockerignore), which is stored in full.
# Needs: docker CLI + running dockerd, local image busybox:latest, python3, tar.
# Usage: scripts/record-dockerignore-golden.sh > src/dockerignore/golden_data.rs && cargo fmt
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d)"
FAKE_SOCK="$WORK/fake.sock"
mkdir -p "$WORK/captured" "$WORK/results"
python3 "$HERE/fake-dockerd.py" "$FAKE_SOCK" "$WORK/captured" &
FAKE_PID=$!
trap 'kill "$FAKE_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do [ -S "$FAKE_SOCK" ] && break; sleep 0.1; done

export DOCKER_BUILDKIT=0
DOCKERFILE_TEXT=$'FROM busybox\nCOPY . /ctx\nRUN find /ctx | sort\n'

make_tree() {
  local d="$1" f
  for f in a.txt b.md README.md '#hash' '*star' file1 file2 fileA \
    'dir with space/f.txt' src/main.rs src/lib/util.rs src/lib/keep.txt \
    docs/a.txt docs/sub/deep.txt docs/sub/README.md foo/bar/foo/x x/foo \
    node_modules/pkg/index.js node_modules/pkg/README.md build/out.bin \
    build/keep/k.txt .git/HEAD; do
    mkdir -p "$d/$(dirname "$f")"
    printf 'x' > "$d/$f"
  done
  mkdir -p "$d/empty"
  printf '%s' "$DOCKERFILE_TEXT" > "$d/Dockerfile"
  printf '%s' "$DOCKERFILE_TEXT" > "$d/build/Dockerfile.custom"
}

SEQ=0
# run_case NAME DOCKERFILE_REL IGNORE_TEXT -> files in $WORK/results/NNN.*
run_case() {
  local name="$1" dockerfile="$2" ignore="$3"
  SEQ=$((SEQ + 1))
  local ctx="$WORK/ctx" out="$WORK/results/$(printf '%03d' "$SEQ")"
  rm -rf "$ctx" && mkdir -p "$ctx" && make_tree "$ctx"
  printf '%s' "$ignore" > "$ctx/.dockerignore"
  printf '%s' "$name" > "$out.name"
  printf '%s' "$dockerfile" > "$out.dockerfile"
  printf '%s' "$ignore" > "$out.ignore"

  rm -f "$WORK/captured"/*.tar
  if DOCKER_HOST="unix://$FAKE_SOCK" docker build -f "$ctx/$dockerfile" "$ctx" \
    > /dev/null 2> "$out.stderr"; then
    tar tf "$WORK/captured"/*.tar > "$out.sent"
  fi
  local log
  if log=$(docker build --no-cache --iidfile "$WORK/iid" -f "$ctx/$dockerfile" "$ctx" 2>&1); then
    docker rmi "$(cat "$WORK/iid")" > /dev/null
    printf '%s\n' "$log" | sed -n '/Running in/,/Removing intermediate/p' \
      | grep '^/ctx/' | sed 's#^/ctx/##' > "$out.image" || true
  fi
  echo "recorded $name" >&2
}

run_case no_patterns Dockerfile ''
run_case anchored_name Dockerfile $'a.txt\n'
run_case star_matches_root_only Dockerfile $'*.txt\n'
run_case doublestar_any_depth Dockerfile $'**/*.txt\n'
run_case star_slash_name Dockerfile $'*/a.txt\n'
run_case parent_dir_excludes_children Dockerfile $'src\n'
run_case nested_dir Dockerfile $'src/lib\n'
run_case doublestar_dir_name Dockerfile $'**/foo\n'
run_case doublestar_middle Dockerfile $'src/**/*.rs\n'
run_case doublestar_alone Dockerfile $'**\n'
run_case trailing_doublestar Dockerfile $'docs/**\n'
run_case doublestar_glued_suffix Dockerfile $'**.md\n'
run_case doublestar_glued_wildcard Dockerfile $'**.m?\n'
run_case glued_trailing_doublestar Dockerfile $'do**\n'
run_case glued_middle_doublestar Dockerfile $'do**sub\n'
run_case exception_file_in_excluded_dir Dockerfile $'node_modules\n!node_modules/pkg/README.md\n'
run_case exception_glob_under_excluded_dir Dockerfile $'src\n!src/lib/*.rs\n'
run_case wildcard_exception_does_not_stop_pruning Dockerfile $'build\n!**/k.txt\n'
run_case exception_subdir_of_excluded_dir Dockerfile $'build\n!build/keep\n'
run_case star_contents_with_exception Dockerfile $'build/*\n!build/keep\n'
run_case everything_but Dockerfile $'*\n!src\n!README.md\n'
run_case exception_then_exclusion Dockerfile $'!a.txt\na.txt\n'
run_case exclusion_then_exception Dockerfile $'a.txt\n!a.txt\n'
run_case reexclude_after_exception Dockerfile $'src\n!src/main.rs\nsrc\n'
run_case all_md_but_readmes Dockerfile $'**/*.md\n!**/README.md\n'
run_case exception_only Dockerfile $'!a.txt\n'
run_case bang_space Dockerfile $'a.txt\n! a.txt\n'
run_case class_list Dockerfile $'file[12]\n'
run_case class_range Dockerfile $'file[A-Z]\n'
run_case class_caret_negation Dockerfile $'file[^1]\n'
run_case class_bang_is_literal Dockerfile $'file[!1]\n'
run_case negated_class_matches_slash Dockerfile $'docs[^x]a.txt\n'
run_case question_mark Dockerfile $'file?\n'
run_case question_mark_not_slash Dockerfile $'docs?a.txt\n'
run_case backslash_letter Dockerfile $'file\\d\n'
run_case case_sensitive Dockerfile $'*.TXT\nREADME.MD\n'
run_case leading_slash Dockerfile $'/a.txt\n/docs/sub\n'
run_case dot_slash Dockerfile $'./src\n'
run_case trailing_slash Dockerfile $'src/\ndocs/sub/\n'
run_case dotdot_cleaned Dockerfile $'docs/../a.txt\n'
run_case comments_blank_and_spaces Dockerfile $'# comment\n\n   b.md   \n\t\n #hash\n'
run_case escaped_star Dockerfile $'\\*star\n'
run_case space_in_name Dockerfile $'dir with space\n'
run_case star_slash_star Dockerfile $'*/*\n'
run_case dot_git Dockerfile $'.git\n'
run_case excluded_build_files Dockerfile $'Dockerfile\n.dockerignore\n'
run_case star_excludes_build_files Dockerfile $'*\n'
run_case custom_dockerfile_in_excluded_dir build/Dockerfile.custom $'build\n'
run_case bom Dockerfile $'\xef\xbb\xbfa.txt\n'
run_case unterminated_class Dockerfile $'file[1\n'
run_case bare_bang Dockerfile $'!\n'
run_case trailing_backslash Dockerfile $'file\\\n'

VERSIONS="$(docker version --format 'client {{.Client.Version}}, daemon {{.Server.Version}}')"
python3 - "$WORK/results" "$VERSIONS" <<'PY'
import os, sys
res, versions = sys.argv[1], sys.argv[2]

def lit(s):
    m = {"\n": "\\n", "\t": "\\t", "\\": "\\\\", "\"": "\\\""}
    return "\"" + "".join(m.get(c, c if c.isprintable() and c != "\ufeff" else "\\u{%x}" % ord(c)) for c in s) + "\""

def lst(items):
    return "&[" + ", ".join(lit(i) for i in sorted(items)) + "]"

def read(path):
    return open(path, encoding="utf-8").read() if os.path.exists(path) else None

cases = sorted({f.split(".")[0] for f in os.listdir(res)})
tree = None
print("// @generated by scripts/record-dockerignore-golden.sh against " + versions + ".")
print("// Do not edit by hand: re-record instead.")
print("use super::golden::{GoldenCase, Outcome};\n")
body = []
for c in cases:
    p = os.path.join(res, c)
    sent, image = read(p + ".sent"), read(p + ".image")
    name = read(p + ".name")
    if sent is None:
        err = [l for l in read(p + ".stderr").splitlines()
               if l.strip() and "DEPRECATED" not in l and "BuildKit" not in l and "environment-variable" not in l]
        outcome = "Outcome::CliError(%s)" % lit(err[-1] if err else "")
    else:
        sent = set(sent.splitlines())
        if tree is None:
            tree = sent
        assert sent <= tree, (name, sent - tree)
        # find(1) prints directories without the tar's trailing slash.
        img = {i + "/" if i + "/" in tree else i for i in (image or "").splitlines()}
        assert img <= tree, (name, img - tree)
        outcome = "Outcome::Sent {\n            not_sent: %s,\n            not_in_image: %s,\n        }" % (
            lst(tree - sent), lst(tree - img))
    body.append("    GoldenCase {\n        name: %s,\n        dockerignore: %s,\n        dockerfile: %s,\n        outcome: %s,\n    },"
                % (lit(name), lit(read(p + ".ignore")), lit(read(p + ".dockerfile")), outcome))
print("/// Every path of the recorded context, as the CLI put it in the tar (directories end in `/`).")
print("pub(super) const TREE: %s = %s;\n" % ("&[&str]", lst(tree)))
print("/// One recorded `docker build` per .dockerignore.")
print("pub(super) const CASES: &[GoldenCase] = &[")
print("\n".join(body))
print("];")
PY
