#!/usr/bin/env bash
# On the GPU machine, from a checkout that holds bench/gpu_check/pack.tar.xz:
#   bench/gpu_check/run.sh             all sections, results in $OUT (default /tmp/gpu-check)
#   SECTIONS=env,throughput BUDGET_S=300 bench/gpu_check/run.sh
# Unpacks the CUDA build, finds the machine's CUDA libraries, runs check.py.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="${GPU_CHECK_DIR:-/tmp/cohost-gpu}"
export OUT="${OUT:-/tmp/gpu-check}"
mkdir -p "$dest" "$OUT"
t0=$(date +%s.%N)
tar -xJf "$here/pack.tar.xz" -C "$dest"
echo "unpacked $(cat "$dest/VERSION") in $(echo "$(date +%s.%N) - $t0" | bc 2>/dev/null || echo '?') s"
cuda=""
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-13.0/lib64; do
  [[ -f "$d/libcublasLt.so.13" ]] && cuda="$d" && break
done
[[ -z "$cuda" ]] && cuda="$(dirname "$(find / -xdev -name 'libcublasLt.so.13*' 2>/dev/null | head -1)")"
echo "CUDA libraries from: $cuda"
export LD_LIBRARY_PATH="$dest/lib:$cuda:/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}"
export GBIN="$dest/bin"
# The checkout's check.py when it travels with the pack (so the script can change without a repack).
check="$here/check.py"
[[ -f "$check" ]] || check="$dest/check.py"
python3 -u "$check" 2>&1 | tee "$OUT/log.txt"
cp /tmp/gpu-check-logs/*.log "$OUT/" 2>/dev/null
true
