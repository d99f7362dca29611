#!/usr/bin/env bash
# Installs and starts everything drydock and its tests need, idempotently.
#
# CI (.ci/run → scripts/test.sh) and new developers run this same script, so a fresh Debian 12 machine
# with nothing but the Rust toolchain ends up with: a running dockerd, a registry on loopback, a
# `busybox` base image made offline from busybox-static, and the tools the integration tests drive
# (git, htpasswd, PostgreSQL binaries). Every step checks before it acts, so re-running is cheap.
#
# Environment knobs:
#   DRYDOCK_REGISTRY_PORT   loopback port of the shared test registry (default 5000)
#   DRYDOCK_STATE_DIR       where the registry's storage and daemon logs live (default /var/lib/drydock-dev)
set -euo pipefail

REGISTRY_PORT="${DRYDOCK_REGISTRY_PORT:-5000}"
STATE_DIR="${DRYDOCK_STATE_DIR:-/var/lib/drydock-dev}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

log() { printf '[setup] %s\n' "$*" >&2; }

# --- packages ---------------------------------------------------------------------------------
# docker.io gives dockerd 20.10 (API 1.41); docker-registry a real distribution registry;
# busybox-static the offline base image; apache2-utils htpasswd for an authenticated registry;
# openssh-server the sshd a test reaches an engine through (ssh://);
# libssl-dev/pkg-config for git2's https transport; time (GNU time) for the peak memory of CLI runs in
# the memory-bomb tests; chromium and chromium-driver for the
# dashboard's browser tests.
PACKAGES=(docker.io docker-registry busybox-static apache2-utils openssh-server git libssl-dev pkg-config libsqlite3-dev ca-certificates curl time
  chromium chromium-driver)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

# The machine may carry a newer docker CLI in /usr/local/bin that needs buildx; scripts and
# benchmarks use Debian's matching 20.10 client explicitly.
DOCKER=/usr/bin/docker
$SUDO mkdir -p "$STATE_DIR"

# --- dockerd ----------------------------------------------------------------------------------
if ! $DOCKER info >/dev/null 2>&1; then
  log "starting dockerd"
  # Started detached (setsid) so it outlives this script and the CI step that ran it. Every run
  # gets its own network; Docker's default pools hold about 30 bridge networks, too few for
  # several nodes running at once, so runs get /24s out of a /16 of their own (256 networks).
  $SUDO setsid /usr/sbin/dockerd --default-address-pool base=10.213.0.0/16,size=24 \
    >"$STATE_DIR/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    $DOCKER info >/dev/null 2>&1 && break
    sleep 0.5
  done
  $DOCKER info >/dev/null 2>&1 || { log "dockerd did not start; see $STATE_DIR/dockerd.log"; tail -20 "$STATE_DIR/dockerd.log" >&2; exit 1; }
fi

# --- registry on loopback ---------------------------------------------------------------------
if ! curl -fsS "http://127.0.0.1:${REGISTRY_PORT}/v2/" >/dev/null 2>&1; then
  log "starting docker-registry on 127.0.0.1:${REGISTRY_PORT}"
  mkdir -p "$STATE_DIR/registry"
  cat >"$STATE_DIR/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE_DIR/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${REGISTRY_PORT}
EOF
  setsid /usr/bin/docker-registry serve "$STATE_DIR/registry.yml" >"$STATE_DIR/registry.log" 2>&1 < /dev/null &
  for _ in $(seq 1 40); do
    curl -fsS "http://127.0.0.1:${REGISTRY_PORT}/v2/" >/dev/null 2>&1 && break
    sleep 0.25
  done
  curl -fsS "http://127.0.0.1:${REGISTRY_PORT}/v2/" >/dev/null || { log "registry did not start"; cat "$STATE_DIR/registry.log" >&2; exit 1; }
fi

# --- busybox base image, made offline ---------------------------------------------------------
if ! $DOCKER image inspect busybox:latest >/dev/null 2>&1; then
  log "importing busybox:latest from busybox-static"
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" "$root/var/www"
  cp /bin/busybox "$root/bin/busybox"
  # `busybox --list` names busybox itself; linking it would replace the binary with a loop.
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'nobody:x:65534:65534:nobody:/:/bin/false' >>"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  chmod 1777 "$root/tmp"
  tar -C "$root" -c . | $DOCKER import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - busybox:latest >/dev/null
  rm -rf "$root"
fi

# Images the examples and tests use, built FROM busybox. `docker` is what ACR task files call for
# `cmd: docker ...` steps: busybox with the host's static docker CLI would need network, so the
# example image carries Debian's docker client binary (dynamically linked against glibc only).
# Offline stand-ins for the images ACR's samples use (see examples/images/README.md): each
# directory is built FROM busybox and tagged with every name in its `tags` file.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for d in "$here"/examples/images/*/; do
  [ -f "$d/tags" ] || continue
  first=$(head -n1 "$d/tags")
  # Rebuild when the directory changed since the image was built.
  sum=$(cd "$d" && cat Dockerfile * 2>/dev/null | sha256sum | cut -c1-16)
  have=$($DOCKER image inspect -f '{{index .Config.Labels "drydock.example-sum"}}' "$first" 2>/dev/null || true)
  if [ "$have" != "$sum" ]; then
    log "building $(basename "$d") stand-in image"
    DOCKER_BUILDKIT=0 $DOCKER build -q --label "drydock.example-sum=$sum" -t "$first" "$d" >/dev/null
  fi
  while read -r tag; do
    [ -n "$tag" ] && $DOCKER tag "$first" "$tag"
  done <"$d/tags"
done

# `docker:latest` is the image ACR task files name for `cmd: docker …` steps. Debian's docker client
# needs only glibc, so the image is busybox plus that binary and the loader: no pull required.
if ! $DOCKER image inspect docker:latest >/dev/null 2>&1; then
  log "building docker:latest (docker CLI image for cmd steps)"
  ctx=$(mktemp -d)
  mkdir -p "$ctx/lib/x86_64-linux-gnu" "$ctx/lib64"
  cp /usr/bin/docker "$ctx/docker"
  cp /lib/x86_64-linux-gnu/libc.so.6 "$ctx/lib/x86_64-linux-gnu/"
  cp /lib64/ld-linux-x86-64.so.2 "$ctx/lib64/"
  printf 'FROM busybox:latest\nCOPY lib /lib\nCOPY lib64 /lib64\nCOPY docker /bin/docker\nENTRYPOINT ["/bin/docker"]\n' >"$ctx/Dockerfile"
  DOCKER_BUILDKIT=0 $DOCKER build -q -t docker:latest "$ctx" >/dev/null
  rm -rf "$ctx"
fi

# Base image in the local registry, so that builds FROM a registry image have a real digest.
if ! curl -fsS "http://127.0.0.1:${REGISTRY_PORT}/v2/library/busybox/tags/list" 2>/dev/null | grep -q latest; then
  log "pushing busybox to the local registry"
  $DOCKER tag busybox:latest "127.0.0.1:${REGISTRY_PORT}/library/busybox:latest"
  $DOCKER push -q "127.0.0.1:${REGISTRY_PORT}/library/busybox:latest" >/dev/null
fi

# --- other platforms: QEMU through binfmt_misc, and busybox bases for arm64, arm/v7 and 386 ------
# Builds and runs for another architecture need the kernel to hand its binaries to QEMU, and a base
# image of that architecture. Both are made offline: qemu-user-static registers its interpreters
# with the fix-binary flag (so they work inside containers), and each base is busybox-static of that
# Debian architecture, loaded as a hand-made docker-archive whose config names the platform
# (`docker import --platform` does not set it on 20.10).
if ! dpkg-query -W -f='${Status}' qemu-user-static 2>/dev/null | grep -q "install ok installed"; then
  log "installing qemu-user-static and binfmt-support"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-user-static binfmt-support >/dev/null
fi
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  $SUDO mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
for interp in qemu-aarch64 qemu-arm; do
  [ -e "/proc/sys/fs/binfmt_misc/$interp" ] || $SUDO update-binfmts --enable "$interp" >/dev/null 2>&1 || true
  [ -e "/proc/sys/fs/binfmt_misc/$interp" ] || { log "binfmt_misc: $interp could not be registered"; exit 1; }
done

# foreign_busybox DEBIAN_ARCH OCI_ARCH VARIANT TAG: loads busybox-static:DEBIAN_ARCH as TAG.
foreign_busybox() {
  local debarch=$1 arch=$2 variant=$3 tag=$4
  $DOCKER image inspect "$tag" >/dev/null 2>&1 && return 0
  log "loading $tag (busybox-static:$debarch)"
  if ! dpkg --print-foreign-architectures | grep -qx "$debarch"; then
    $SUDO dpkg --add-architecture "$debarch"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  fi
  local work root
  work=$(mktemp -d)
  root="$work/root"
  (cd "$work" && apt-get download -q "busybox-static:$debarch" >/dev/null 2>&1) || {
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    (cd "$work" && apt-get download -q "busybox-static:$debarch" >/dev/null)
  }
  dpkg-deb -x "$work"/busybox-static_*.deb "$work/deb"
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root"
  cp "$work/deb/bin/busybox" "$root/bin/busybox"
  # Same busybox version as the host's, so the host's applet list is this one's too.
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  printf 'root:x:0:\n' >"$root/etc/group"
  chmod 1777 "$root/tmp"
  mkdir -p "$work/archive/layer"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf "$work/archive/layer/layer.tar" .
  local diff config_sum variant_field=""
  diff=$(sha256sum "$work/archive/layer/layer.tar" | cut -d' ' -f1)
  [ -n "$variant" ] && variant_field="\"variant\":\"$variant\","
  printf '{"architecture":"%s",%s"os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"busybox-static:%s"}]}' \
    "$arch" "$variant_field" "$diff" "$debarch" >"$work/archive/config.json"
  config_sum=$(sha256sum "$work/archive/config.json" | cut -d' ' -f1)
  mv "$work/archive/config.json" "$work/archive/$config_sum.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer/layer.tar"]}]' "$config_sum" "$tag" >"$work/archive/manifest.json"
  tar -C "$work/archive" -c . | $DOCKER load -q >/dev/null
  rm -rf "$work"
}
foreign_busybox arm64 arm64 "" busybox:linux-arm64
foreign_busybox armhf arm v7 busybox:linux-arm-v7
foreign_busybox i386 386 "" busybox:linux-386
$DOCKER tag busybox:latest busybox:linux-amd64

# One multi-platform base in the registry (an OCI index over the four), for builds of several
# platforms from one FROM name: the local image store keeps one platform per name.
REG="127.0.0.1:${REGISTRY_PORT}"
ACCEPT_INDEX='application/vnd.oci.image.index.v1+json'
if [ "$(curl -fsS -o /dev/null -w '%{content_type}' -H "Accept: $ACCEPT_INDEX" "http://$REG/v2/library/busybox-multi/manifests/latest" 2>/dev/null)" != "$ACCEPT_INDEX" ]; then
  log "pushing the multi-platform busybox-multi index to the local registry"
  entries=()
  for p in linux-amd64:amd64: linux-arm64:arm64: linux-arm-v7:arm:v7 linux-386:386:; do
    IFS=: read -r tag arch variant <<<"$p"
    $DOCKER tag "busybox:$tag" "$REG/library/busybox-multi:$tag"
    $DOCKER push -q "$REG/library/busybox-multi:$tag" >/dev/null
    headers=$(curl -fsS -I -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$REG/v2/library/busybox-multi/manifests/$tag")
    digest=$(printf '%s' "$headers" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')
    size=$(printf '%s' "$headers" | tr -d '\r' | awk -F': ' 'tolower($1)=="content-length"{print $2}')
    vfield=""
    [ -n "$variant" ] && vfield=",\"variant\":\"$variant\""
    entries+=("{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"$digest\",\"size\":$size,\"platform\":{\"architecture\":\"$arch\",\"os\":\"linux\"$vfield}}")
  done
  index="{\"schemaVersion\":2,\"mediaType\":\"$ACCEPT_INDEX\",\"manifests\":[$(IFS=,; echo "${entries[*]}")]}"
  curl -fsS -X PUT -H "Content-Type: $ACCEPT_INDEX" --data-binary "$index" "http://$REG/v2/library/busybox-multi/manifests/latest" >/dev/null
fi

# --- PostgreSQL binaries ----------------------------------------------------------------------
# Tests start their own throwaway server with initdb/pg_ctl in a temp dir; only the binaries are needed.
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  log "installing postgresql"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
fi

log "ready: dockerd $($DOCKER version -f '{{.Server.Version}}'), registry 127.0.0.1:${REGISTRY_PORT}"
