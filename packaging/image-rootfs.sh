#!/usr/bin/env bash
# Lays out the build context of drydock's own image (packaging/Dockerfile) from this machine's
# files, so that the image needs no base to pull: the binary (stripped), every shared library
# `ldd` says it loads (at the same paths), the CA bundle for registries over TLS, and a passwd
# entry for the unprivileged user the image runs as.
#   usage: packaging/image-rootfs.sh BINARY OUT_DIR
set -euo pipefail
bin="${1:?usage: image-rootfs.sh BINARY OUT_DIR}"
out="${2:?usage: image-rootfs.sh BINARY OUT_DIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$out/rootfs"
rm -rf "$out"
mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/tmp" "$out/state"
chmod 1777 "$root/tmp"
chmod 0700 "$out/state"
cp "$here/Dockerfile" "$out/Dockerfile"
strip -o "$root/usr/local/bin/drydock" "$bin"
# `ldd` lines: `libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x…)` and `/lib64/ld-linux-x86-64.so.2 (0x…)`.
ldd "$bin" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\ndrydock:x:10001:10001:drydock:/var/lib/drydock:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\ndrydock:x:10001:\n' >"$root/etc/group"
echo "$out: build it with: drydock build --local --no-push -t drydock:latest $out"
