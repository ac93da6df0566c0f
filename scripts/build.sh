#!/usr/bin/env bash
# Builds cohost into build/ (or $COHOST_BUILD_DIR) against the cached llama.cpp build.
# Quick when nothing changed. Prints nothing but errors and the path of the binary.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir="${COHOST_BUILD_DIR:-build}"
llama_build="$(scripts/llama_cpp.sh)"
mkdir -p "$build_dir"

# ccache (installed by deps.sh) makes rebuilds in fresh clones and worktrees quick; paths under
# the checkout are hashed relative to it, so two clones share cache entries.
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
fi

if [[ ! -f "$build_dir/build.ninja" ]] ||
   ! grep -q "COHOST_LLAMA_BUILD_DIR:PATH=$llama_build\$" "$build_dir/CMakeCache.txt" 2>/dev/null ||
   { ((${#launcher[@]})) && ! grep -q "^CMAKE_CXX_COMPILER_LAUNCHER" "$build_dir/CMakeCache.txt"; }; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCOHOST_LLAMA_BUILD_DIR="$llama_build" "${launcher[@]}" >"$build_dir/configure.log" 2>&1 ||
    { cat "$build_dir/configure.log" >&2; exit 1; }
fi
ninja -C "$build_dir" >"$build_dir/ninja.log" 2>&1 ||
  { grep -E "error|FAILED" -A5 "$build_dir/ninja.log" | head -80 >&2; exit 1; }
echo "$build_dir/bin/cohost"
