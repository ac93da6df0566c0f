#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds llama.cpp (cached) and cohost, runs ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh >/dev/null
build_dir="${COHOST_BUILD_DIR:-build}"
cd "$build_dir"
ctest --output-on-failure --timeout 600 "$@"
