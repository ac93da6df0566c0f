#!/usr/bin/env bash
# Fetches llama.cpp as DESIGN.md describes and builds it once into a cache outside the repository.
#
#   scripts/llama_cpp.sh            prints the build directory (building it first if needed)
#
# The source comes from the npm package node-llama-cpp (a git bundle inside it); the tarball's
# sha256 is verified before anything is unpacked. The build directory is keyed by the package
# version and the build options, so changing an option builds a new tree beside the old one.
#
# Environment:
#   COHOST_CACHE_DIR   cache root (default: $XDG_CACHE_HOME/cohost or ~/.cache/cohost)
#   COHOST_CUDA=ON     build ggml with CUDA (architectures from COHOST_CUDA_ARCHS, default 90);
#                      the cache then also holds lib/libllama-cohost.so: llama.cpp + ggml as one
#                      shared library that links the CUDA runtime libraries dynamically
#   COHOST_LLAMA_NATIVE=OFF  build ggml's CPU code for any x86-64 with AVX2 instead of this CPU
#                      (for a build that travels to another machine)
#   COHOST_LLAMA_SOURCE  use this llama.cpp checkout instead of the npm bundle
set -euo pipefail

readonly NPM_PKG="node-llama-cpp"
readonly NPM_VERSION="3.22.1"
readonly NPM_SHA256="a0d9dd80eacd2ab1cfe71aee57ac8a806487fd70b3d2a38fbec637752d9e5c5f"
readonly TARGETS=(llama ggml llama-batched-bench llama-simple llama-bench)

cache_root="${COHOST_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cohost}"
cuda="${COHOST_CUDA:-OFF}"
cuda_archs="${COHOST_CUDA_ARCHS:-90}"
native="${COHOST_LLAMA_NATIVE:-ON}"

options=(
  -DCMAKE_BUILD_TYPE=Release
  -DBUILD_SHARED_LIBS=OFF
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON
  -DLLAMA_BUILD_TESTS=OFF
  -DLLAMA_BUILD_SERVER=OFF
  -DLLAMA_BUILD_APP=OFF
  -DLLAMA_BUILD_TOOLS=ON
  -DLLAMA_BUILD_EXAMPLES=ON
  -DLLAMA_OPENSSL=OFF
  -DGGML_NATIVE="$native"
  -DGGML_CUDA="$cuda"
)
# ggml's AMX kernels (used for quantized weights when -march=native finds AMX) crash with SIGSEGV
# on the virtual Sapphire Rapids CPUs of our development machines; COHOST_LLAMA_AMX=ON keeps them.
if [[ "${COHOST_LLAMA_AMX:-OFF}" != "ON" ]]; then
  options+=("-DCMAKE_C_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
            "-DCMAKE_CXX_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16")
fi
if [[ "$cuda" == "ON" ]]; then
  options+=(-DCMAKE_CUDA_ARCHITECTURES="$cuda_archs" -DGGML_CUDA_NCCL=OFF)
  # CUDA's default install puts nvcc outside PATH.
  [[ -x /usr/local/cuda/bin/nvcc ]] && export PATH="$PATH:/usr/local/cuda/bin"
fi

log() { echo "llama_cpp.sh: $*" >&2; }

if [[ -n "${COHOST_LLAMA_SOURCE:-}" ]]; then
  src="$(realpath "$COHOST_LLAMA_SOURCE")"
  version="user-$(echo "$src" | sha256sum | cut -c1-8)"
else
  version="$NPM_VERSION"
fi
key="$version-$(printf '%s\n' "${options[@]}" "${TARGETS[@]}" | sha256sum | cut -c1-12)"
base="$cache_root/llama.cpp/$key"
build="$base/build"

if [[ -f "$base/built.ok" ]]; then
  echo "$build"
  exit 0
fi

mkdir -p "$base"
if [[ -z "${COHOST_LLAMA_SOURCE:-}" ]]; then
  src="$base/src"
  if [[ ! -f "$src/CMakeLists.txt" ]]; then
    dl="$cache_root/downloads"
    mkdir -p "$dl"
    tarball="$dl/$NPM_PKG-$NPM_VERSION.tgz"
    if [[ ! -f "$tarball" ]]; then
      log "fetching $NPM_PKG@$NPM_VERSION from npm"
      (cd "$dl" && npm pack --silent "$NPM_PKG@$NPM_VERSION" >/dev/null)
    fi
    actual="$(sha256sum "$tarball" | cut -d' ' -f1)"
    if [[ "$actual" != "$NPM_SHA256" ]]; then
      log "checksum mismatch for $tarball: got $actual, want $NPM_SHA256"
      rm -f "$tarball"
      exit 1
    fi
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    tar -xzf "$tarball" -C "$tmp" package/llama/gitRelease.bundle
    rm -rf "$src"
    git clone --quiet "$tmp/package/llama/gitRelease.bundle" "$src" 2>/dev/null
  fi
fi

log "building llama.cpp ($key) in $build; this takes a few minutes once"
cmake -S "$src" -B "$build" -G Ninja "${options[@]}" >"$base/configure.log" 2>&1 ||
  { tail -30 "$base/configure.log" >&2; exit 1; }
cmake --build "$build" --target "${TARGETS[@]}" -j"$(nproc)" >"$base/build.log" 2>&1 ||
  { tail -30 "$base/build.log" >&2; exit 1; }
# A CUDA build is also packed as one shared library (llama.cpp + ggml, the CUDA kernels once) that
# links the CUDA runtime libraries dynamically, with llama-batched-bench relinked against it: the
# binaries stay small enough to copy to a GPU machine, and they load the CUDA libraries found there.
if [[ "$cuda" == "ON" ]]; then
  log "packing $base/lib/libllama-cohost.so"
  mkdir -p "$base/lib" "$base/bin"
  cuda_lib="$(dirname "$(command -v nvcc)")/../lib64"
  cuda_libs=(-L"$cuda_lib" -L"$cuda_lib/stubs" -lcudart -lcublas -lcublasLt -lcuda)
  b="$build"
  g++ -shared -o "$base/lib/libllama-cohost.so" -Wl,-soname,libllama-cohost.so \
    -Wl,--whole-archive "$b/src/libllama.a" "$b/ggml/src/libggml.a" "$b/ggml/src/libggml-cpu.a" \
    "$b/ggml/src/ggml-cuda/libggml-cuda.a" "$b/ggml/src/libggml-base.a" -Wl,--no-whole-archive \
    "${cuda_libs[@]}" -fopenmp -lpthread -ldl
  g++ -o "$base/bin/llama-batched-bench" \
    "$b/tools/batched-bench/CMakeFiles/llama-batched-bench.dir/main.cpp.o" \
    "$b/tools/batched-bench/libllama-batched-bench-impl.a" "$b/common/libllama-common.a" \
    "$b/common/libllama-common-base.a" "$b/vendor/cpp-httplib/libcpp-httplib.a" \
    -L"$base/lib" -lllama-cohost -Wl,-rpath,'$ORIGIN/../lib' "${cuda_libs[@]}" -fopenmp -lpthread -ldl
fi
echo "$src" >"$base/source_dir"
touch "$base/built.ok"
echo "$build"
