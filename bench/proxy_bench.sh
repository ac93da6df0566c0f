#!/usr/bin/env bash
# proxy_bench.sh: the runner's host work per decode step, made visible without a GPU (issue 13).
#
# A tiny model (`make-model --params 5M`: 8M parameters, 32k vocabulary) decodes a step in about
# 2 ms on one thread, as a big model does on a GPU, so whatever the runner does on the host per
# step (sampling, detokenizing, events) shows in its ratio to llama-batched-bench. One compute
# thread on both sides; prompt 128, 256 generated; 1 and 16 streams. Goal: runner >= 0.9 x
# batched-bench at both.
#
#   bench/proxy_bench.sh [--repeat K] [--out FILE.json] [any other runner_bench.sh option]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/runner_bench.sh" --params 5M --threads 1 --prompt 128 --gen 256 --goal 0.9 "$@"
