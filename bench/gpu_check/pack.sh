#!/usr/bin/env bash
# Packs a CUDA build of cohost for a GPU machine into bench/gpu_check/pack.tar.xz (ignored by git;
# the device tool carries it: see bench/README.md).
#
#   bench/gpu_check/pack.sh            builds what is missing, then packs
#
# 1. llama.cpp with CUDA for sm_90 (COHOST_CUDA_ARCHS), ggml's CPU code for any AVX2 x86-64, as
#    one shared library (lib/libllama-cohost.so) that links the CUDA runtime dynamically:
#    scripts/llama_cpp.sh with COHOST_CUDA=ON COHOST_LLAMA_NATIVE=OFF, cached; about an hour on
#    2 cores the first time.
# 2. cohost and the benchmark tools against it in build-cuda/ (no tests).
# 3. bin/ lib/ (the shared library and the non-system libraries the binaries need) and
#    check.py run.sh, compressed with xz: about 50 MB, under the 64 MiB that travels.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
build_dir="${COHOST_CUDA_BUILD_DIR:-build-cuda}"
out="${PACK_OUT:-$here/pack.tar.xz}"

llama_build="$(COHOST_CUDA=ON COHOST_LLAMA_NATIVE=OFF scripts/llama_cpp.sh)"
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
fi
if [[ ! -f "$build_dir/build.ninja" ]] ||
   ! grep -q "COHOST_LLAMA_BUILD_DIR:PATH=$llama_build\$" "$build_dir/CMakeCache.txt" 2>/dev/null; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOHOST_BUILD_TESTS=OFF \
    -DCOHOST_LLAMA_BUILD_DIR="$llama_build" "${launcher[@]}" >"$build_dir.configure.log" 2>&1 ||
    { tail -40 "$build_dir.configure.log" >&2; exit 1; }
fi
ninja -C "$build_dir" cohost stream_load router_overhead read_bound copy_bound >"$build_dir.ninja.log" 2>&1 ||
  { grep -E "error|FAILED" -A5 "$build_dir.ninja.log" | head -60 >&2; exit 1; }

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib"
for b in cohost stream_load router_overhead read_bound copy_bound; do strip -o "$stage/bin/$b" "$build_dir/bin/$b"; done
strip -o "$stage/bin/llama-batched-bench" "$llama_build/../bin/llama-batched-bench"
strip --strip-unneeded -o "$stage/lib/libllama-cohost.so" "$llama_build/../lib/libllama-cohost.so"
# Libraries beyond glibc, libstdc++, libgomp and the CUDA ones the GPU machine has (its own).
for b in "$stage"/bin/*; do LD_LIBRARY_PATH="$stage/lib:/usr/local/cuda/lib64" ldd "$b"; done |
  awk '/=>/ {print $1, $3}' | sort -u |
  grep -vE "^(libc|libm|libpthread|libdl|librt|libstdc\+\+|libgcc_s|ld-linux-x86-64|libcuda|libcudart|libcublas|libcublasLt|libllama-cohost|libresolv)\.so" |
  while read -r name path; do [[ -f "$path" ]] && cp -L "$path" "$stage/lib/$name"; done
cp "$here/check.py" "$here/run.sh" "$stage/"
echo "$(git describe --always --dirty)" >"$stage/VERSION"
XZ_OPT="-T0" tar -cJf "$out" -C "$stage" .
du -h "$out" | cut -f1 | xargs echo "packed $out:" >&2
echo "$out"
