#!/bin/sh
# A tiny curl: `curl [-s] [-f] [--retry N] [--url] URL` prints the body, exits non-zero on failure.
url=""; retries=0
while [ $# -gt 0 ]; do
  case "$1" in
    --url) url="$2"; shift 2 ;;
    --retry) retries="$2"; shift 2 ;;
    --retry-delay|--max-time|-m) shift 2 ;;
    -*) shift ;;
    *) url="$1"; shift ;;
  esac
done
[ -n "$url" ] || { echo "curl: no URL" >&2; exit 2; }
i=0
while :; do
  wget -q -O - "$url" && exit 0
  i=$((i + 1)); [ "$i" -gt "$retries" ] && exit 7
  sleep 1
done
