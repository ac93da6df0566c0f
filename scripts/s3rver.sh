#!/usr/bin/env bash
# Runs s3rver (an S3-compatible server from npm, used by the loader tests and bench) in the
# foreground: scripts/s3rver.sh DATA_DIR PORT [BUCKET...]
# Installs it once into a cache outside the repository (like llama.cpp): $COHOST_CACHE/s3rver-<v>.
# `scripts/s3rver.sh --install` only installs and prints the binary's path.
# Credentials: S3RVER / S3RVER. s3rver checks the access key id and the presence of SigV4 headers,
# not the signature value (SigV4Test checks that against AWS's published example).
set -euo pipefail

version=3.7.1
cache="${COHOST_CACHE:-$HOME/.cache/cohost}/s3rver-$version"
bin="$cache/node_modules/.bin/s3rver"
if [[ ! -x "$bin" ]]; then
  command -v npm >/dev/null || { echo "s3rver.sh: npm not found; run scripts/deps.sh" >&2; exit 1; }
  mkdir -p "$cache"
  npm install --no-audit --no-fund --silent --prefix "$cache" "s3rver@$version" >&2
fi
if [[ "${1:-}" == "--install" ]]; then echo "$bin"; exit 0; fi
if (($# < 2)); then
  echo "usage: scripts/s3rver.sh DATA_DIR PORT [BUCKET...]" >&2
  exit 2
fi
dir="$1"; port="$2"; shift 2
buckets=()
for b in "$@"; do buckets+=(--configure-bucket "$b"); done
mkdir -p "$dir"
exec "$bin" --directory "$dir" --address 127.0.0.1 --port "$port" --no-vhost-buckets "${buckets[@]}"
