#!/usr/bin/env bash
# runner_bench.sh: decode throughput of `cohost runner` against llama.cpp's llama-batched-bench,
# on the same generated model and thread count, in one invocation. See bench/README.md.
#
#   bench/runner_bench.sh [--threads N] [--prompt P] [--gen G] [--repeat K] [--params 60M]
#                         [--model FILE] [--build-dir DIR] [--out FILE.json] [--keep-logs]
#                         [--quiet-wait S] [--no-build] [--flash-attn off|on|auto]
#                         [--runner-arg ARG]... [--goal R] [--cohost BIN]
#
# Steps:
#   1. builds `cohost` and `stream_load` in --build-dir (default build-bench/) against the
#      llama.cpp tree that scripts/llama_cpp.sh prints (building that first if needed);
#   2. makes (or reuses, from the cache) a --params F32 model with `cohost make-model`;
#   3. starts `cohost runner` with --threads N --parallel 16 --context P+G (the same KV cells per
#      sequence as batched-bench's -c 16*(P+G)), the same -b/-ub and the same flash-attention
#      setting (--flash-attn, default off: faster on CPUs for both), on a free port;
#   4. K times, in two back-to-back pairs: llama-batched-bench -npp P -ntg G -npl 1 -t N (its
#   5.          S_TG) next to stream_load with 1 streaming client against the runner, then -npl 16
#               next to 16 clients; which side goes first alternates;
#   6. prints medians (and the best of the K), the ratios runner/batched-bench at B=1 and B=16
#      and runner16/runner1, TTFT p50/p99 at 16 streams, the host work per decode step (from the
#      runner's /stats where it reports it, and as implied by the two sides' step times), and
#      writes everything (all samples too) as JSON to --out.
# --runner-arg passes one more argument to `cohost runner` (repeatable, e.g. --host-sampling);
# --cohost runs another cohost binary (an older build, say) with this script's stream_load;
# --goal sets the runner/batched-bench ratio the summary checks (default 0.95).
# The runner is stopped on every exit path (trap).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
threads="$(nproc)"
prompt=128
gen=128
repeat=5
params=60M
model=""
build_dir="$repo/build-bench"
out=""
keep_logs=0
batch=2048
ubatch=512
streams=16
startup_deadline_s=120
quiet_wait_s=0
build=1
flash_attn=off
runner_args=()
goal=0.95
cohost_override=""

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --prompt) prompt="$2"; shift 2 ;;
    --gen) gen="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --params) params="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --keep-logs) keep_logs=1; shift ;;
    --quiet-wait) quiet_wait_s="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --flash-attn) flash_attn="$2"; shift 2 ;;
    --runner-arg) runner_args+=("$2"); shift 2 ;;
    --goal) goal="$2"; shift 2 ;;
    --cohost) cohost_override="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "runner_bench.sh: unknown argument $1" >&2; usage 2 ;;
  esac
done

log() { echo "runner_bench: $*" >&2; }
die() { log "error: $*"; exit 1; }
command -v jq >/dev/null || die "jq is needed (apt-get install jq)"
command -v curl >/dev/null || die "curl is needed (apt-get install curl)"

work="$(mktemp -d "${TMPDIR:-/tmp}/runner_bench.XXXXXX")"
runner_pid=""
cleanup() {
  local rc=$?
  if [[ -n "$runner_pid" ]] && kill -0 "$runner_pid" 2>/dev/null; then
    kill -TERM "$runner_pid" 2>/dev/null || true
    # Give it a bounded time to drain, then make sure.
    for _ in $(seq 1 50); do kill -0 "$runner_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$runner_pid" 2>/dev/null || true
    wait "$runner_pid" 2>/dev/null || true
  fi
  if [[ $keep_logs == 1 || $rc != 0 ]]; then
    log "logs kept in $work"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. Build.
llama_build="$("$repo/scripts/llama_cpp.sh")"
[[ -x "$llama_build/bin/llama-batched-bench" ]] || die "no llama-batched-bench in $llama_build/bin"
if [[ $build == 1 ]]; then
  configured="$(sed -n 's/^COHOST_LLAMA_BUILD_DIR:[A-Z]*=//p' "$build_dir/CMakeCache.txt" 2>/dev/null || true)"
  if [[ ! -f "$build_dir/build.ninja" || "$configured" != "$llama_build" ]]; then
    log "configuring $build_dir against $llama_build"
    cmake -S "$repo" -B "$build_dir" -G Ninja -DCOHOST_LLAMA_BUILD_DIR="$llama_build" \
      -DCOHOST_BUILD_TESTS=OFF >"$work/configure.log" 2>&1 || { cat "$work/configure.log" >&2; die "cmake failed"; }
  fi
  log "building cohost and stream_load in $build_dir"
  ninja -C "$build_dir" cohost stream_load >"$work/build.log" 2>&1 || { tail -50 "$work/build.log" >&2; die "build failed"; }
fi
cohost="$build_dir/bin/cohost"
[[ -z "$cohost_override" ]] || cohost="$cohost_override"
stream_load="$build_dir/bin/stream_load"
[[ -x "$cohost" && -x "$stream_load" ]] || die "no cohost or stream_load in $build_dir/bin (run without --no-build)"

# 2. Model (same seed and options give the same bytes, so a cached file is reused).
if [[ -z "$model" ]]; then
  cache="${COHOST_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cohost}/bench"
  mkdir -p "$cache"
  model="$cache/model-$params-f32-seed42.gguf"
  if [[ ! -s "$model" ]]; then
    log "making a $params F32 model at $model"
    "$cohost" make-model --params "$params" --type f32 --seed 42 -o "$model.tmp.$$" >"$work/make-model.log" 2>&1 \
      || { cat "$work/make-model.log" >&2; die "make-model failed"; }
    mv -f "$model.tmp.$$" "$model"
  fi
fi
[[ -s "$model" ]] || die "no model at $model"
log "model $model ($(du -h "$model" | cut -f1)), threads $threads, prompt $prompt, gen $gen, repeat $repeat"
# Whether other work competes with the benchmark: CPU pressure (share of time some runnable task
# waited for a CPU, last 10 s) and the busy share of all CPUs over one second. The figures are
# only meaningful when both are low.
cpu_pressure() { awk '/^some/ { sub("avg10=", "", $2); print $2 }' /proc/pressure/cpu 2>/dev/null || echo 0; }
cpu_busy_pct() {  # measures for one second
  local a b
  a="$(head -1 /proc/stat)"; sleep 1; b="$(head -1 /proc/stat)"
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x); split(b, y); t = 0
    for (i = 2; i <= 9; i++) t += y[i] - x[i]
    idle = (y[5] - x[5]) + (y[6] - x[6]); printf "%.1f", (t > 0 ? 100 * (t - idle) / t : 0) }'
}
# With --quiet-wait S: waits up to S seconds until the CPUs were less than 10% busy for three
# seconds in a row (each check measures for one second).
wait_quiet() {
  (( quiet_wait_s > 0 )) || return 0
  local deadline=$((SECONDS + quiet_wait_s)) calm=0
  log "waiting up to ${quiet_wait_s}s for idle CPUs"
  while (( SECONDS < deadline && calm < 3 )); do
    if awk -v b="$(cpu_busy_pct)" 'BEGIN { exit !(b < 10) }'; then calm=$((calm + 1)); else calm=0; fi
  done
  (( calm >= 3 )) || log "warning: the CPUs did not become idle within ${quiet_wait_s}s"
}
wait_quiet
busy_start="$(cpu_busy_pct)"
pressure_start="$(cpu_pressure)"
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
if awk -v b="$busy_start" 'BEGIN { exit !(b > 10) }'; then
  log "warning: the CPUs are ${busy_start}% busy before the benchmark (other work is running); figures will be noisy"
fi

median() { jq -s 'sort | if length == 0 then 0 elif length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end'; }

# 3. The runner, on a free port. It idles (its threads sleep) while batched-bench runs.
log "starting cohost runner"
"$cohost" runner --model "$model" --host 127.0.0.1 --port 0 --parallel "$streams" \
  --context $((prompt + gen)) --threads "$threads" --batch "$batch" --ubatch "$ubatch" \
  --flash-attn "$flash_attn" "${runner_args[@]}" >"$work/runner.out" 2>"$work/runner.err" &
runner_pid=$!
port=""
deadline=$((SECONDS + startup_deadline_s))
while [[ -z "$port" ]]; do
  kill -0 "$runner_pid" 2>/dev/null || { cat "$work/runner.err" >&2; die "the runner exited before listening"; }
  (( SECONDS < deadline )) || die "the runner did not log 'listening' within ${startup_deadline_s}s"
  port="$(grep -m1 'msg=listening' "$work/runner.err" 2>/dev/null | grep -o 'port=[0-9]*' | cut -d= -f2 || true)"
  [[ -n "$port" ]] || sleep 0.05
done
until curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
  kill -0 "$runner_pid" 2>/dev/null || { cat "$work/runner.err" >&2; die "the runner exited"; }
  (( SECONDS < deadline )) || die "/healthz did not answer within ${startup_deadline_s}s"
  sleep 0.05
done
log "runner listening on port $port"

# 4 and 5. Each repeat takes two pairs, each pair back to back: llama-batched-bench at B=1 next to
# stream_load with 1 client, and batched-bench at B=16 next to stream_load with 16 clients, so that
# paired figures are taken as close together in time as they can be.
ctx_total=$((streams * (prompt + gen)))
: >"$work/batched.jsonl"
: >"$work/runner1.jsonl"
: >"$work/runner16.jsonl"
run_batched() {  # $1: repeat, $2: batch size
  local i=$1 b=$2 busy p0
  busy="$(cpu_busy_pct)"
  log "run $i/$repeat: llama-batched-bench -npl $b (CPUs ${busy}% busy before)"
  p0="$(cpu_pressure)"
  "$llama_build/bin/llama-batched-bench" -m "$model" -c "$ctx_total" -b "$batch" -ub "$ubatch" \
    -npp "$prompt" -ntg "$gen" -npl "$b" -t "$threads" -fa "$flash_attn" --output-format jsonl \
    >"$work/batched.$i.$b.out" 2>"$work/batched.$i.$b.err" || { tail -30 "$work/batched.$i.$b.err" >&2; die "llama-batched-bench failed"; }
  grep -h '^{' "$work/batched.$i.$b.out" "$work/batched.$i.$b.err" \
    | jq -c --argjson run "$i" --arg p "$p0" --arg busy "$busy" '. + {run: $run, cpu_pressure_before: $p, cpu_busy_pct_before: $busy}' >>"$work/batched.jsonl" || true
}
run_runner() {  # $1: repeat, $2: clients
  local i=$1 c=$2 p0 f s0 s1
  log "run $i/$repeat: stream_load --clients $c"
  p0="$(cpu_pressure)"
  s0="$(curl -fsS "http://127.0.0.1:$port/stats" || echo '{}')"
  "$stream_load" --address "127.0.0.1:$port" --clients "$c" --prompt-tokens "$prompt" \
    --max-tokens "$gen" --json >"$work/load.$c.$i.json" 2>"$work/load.$c.$i.err" \
    || { cat "$work/load.$c.$i.err" "$work/load.$c.$i.json" >&2; die "stream_load failed"; }
  s1="$(curl -fsS "http://127.0.0.1:$port/stats" || echo '{}')"
  f="$work/runner1.jsonl"; [[ $c == 1 ]] || f="$work/runner16.jsonl"
  # Host work per decode step on the inference thread, where the runner reports its step times.
  jq -c --argjson run "$i" --arg p "$p0" --argjson s0 "$s0" --argjson s1 "$s1" \
    '. + {run: $run, cpu_pressure_before: $p,
          steps: (($s1.decode_steps // 0) - ($s0.decode_steps // 0)),
          host_ms_per_step: (if ($s1.step_us // null) == null then null else
            (($s1.step_us - $s0.step_us) - ($s1.decode_us - $s0.decode_us)) / 1000
            / ([($s1.decode_steps - $s0.decode_steps), 1] | max) end)}' "$work/load.$c.$i.json" >>"$f"
}
for i in $(seq 1 "$repeat"); do
  (( i == 1 )) || wait_quiet
  # Which side of a pair goes first alternates between the pairs and between repeats, so that a
  # machine that speeds up or slows down favours neither side.
  if (( i % 2 == 1 )); then
    run_batched "$i" 1; run_runner "$i" 1; run_runner "$i" "$streams"; run_batched "$i" "$streams"
  else
    run_runner "$i" 1; run_batched "$i" 1; run_batched "$i" "$streams"; run_runner "$i" "$streams"
  fi
done
[[ "$(jq -s 'length' "$work/batched.jsonl")" -gt 0 ]] || die "could not parse llama-batched-bench's output (see $work)"
pressure_end="$(cpu_pressure)"
busy_end="$(cpu_busy_pct)"
load_end="$(cut -d' ' -f1-3 /proc/loadavg)"
stats="$(curl -fsS "http://127.0.0.1:$port/stats" || echo '{}')"
got_prompt="$(jq -s '.[0].prompt_tokens' "$work/runner16.jsonl")"
[[ "$got_prompt" == "$prompt" ]] || log "warning: the runner's prompts have $got_prompt tokens, not $prompt"

bb1="$(jq 'select(.pl == 1) | .speed_tg' "$work/batched.jsonl" | median)"
bb16="$(jq --argjson b "$streams" 'select(.pl == $b) | .speed_tg' "$work/batched.jsonl" | median)"
r1="$(jq '.decode_tokens_per_s' "$work/runner1.jsonl" | median)"
r16="$(jq '.decode_tokens_per_s' "$work/runner16.jsonl" | median)"
e2e1="$(jq '.e2e_tokens_per_s' "$work/runner1.jsonl" | median)"
e2e16="$(jq '.e2e_tokens_per_s' "$work/runner16.jsonl" | median)"
ttft50="$(jq '.ttft_ms.p50' "$work/runner16.jsonl" | median)"
ttft99="$(jq '.ttft_ms.p99' "$work/runner16.jsonl" | median)"
ttft1="$(jq '.ttft_ms.p50' "$work/runner1.jsonl" | median)"
itl50="$(jq '.itl_ms.p50' "$work/runner16.jsonl" | median)"
itl99="$(jq '.itl_ms.p99' "$work/runner16.jsonl" | median)"
steady16="$(jq '.steady_decode_tokens_per_s' "$work/runner16.jsonl" | median)"
host1="$(jq '.host_ms_per_step // empty' "$work/runner1.jsonl" | median)"
host16="$(jq '.host_ms_per_step // empty' "$work/runner16.jsonl" | median)"
# Paired ratios: each repeat's runner figure over the same repeat's batched-bench figure (taken
# next to each other in time), then the median over repeats: less sensitive to the machine's
# speed drifting between repeats than the ratio of the medians.
paired() {  # $1: batch size of batched-bench, $2: runner samples file
  jq -n --argjson b "$1" --slurpfile bb "$work/batched.jsonl" --slurpfile r "$2" \
    '[$r[] as $x | ($bb[] | select(.pl == $b and .run == $x.run) | .speed_tg) as $s
      | select($s > 0) | $x.decode_tokens_per_s / $s] | sort | if length == 0 then 0 else .[(length - 1) / 2 | floor] end'
}
pair1="$(paired 1 "$work/runner1.jsonl")"
pair16="$(paired "$streams" "$work/runner16.jsonl")"
# Best of the repeats: the figure least disturbed by other work on the machine.
best() { jq -s 'max // 0'; }
bb1_best="$(jq 'select(.pl == 1) | .speed_tg' "$work/batched.jsonl" | best)"
bb16_best="$(jq --argjson b "$streams" 'select(.pl == $b) | .speed_tg' "$work/batched.jsonl" | best)"
r1_best="$(jq '.decode_tokens_per_s' "$work/runner1.jsonl" | best)"
r16_best="$(jq '.decode_tokens_per_s' "$work/runner16.jsonl" | best)"

# 6. Report.
result="$(jq -n \
  --arg model "$model" --argjson params_bytes "$(stat -c %s "$model")" \
  --argjson threads "$threads" --argjson prompt "$prompt" --argjson gen "$gen" \
  --arg flash_attn "$flash_attn" --argjson repeat "$repeat" --argjson streams "$streams" --argjson batch "$batch" --argjson ubatch "$ubatch" \
  --arg host "$(uname -n)" --argjson nproc "$(nproc)" --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" \
  --arg load_start "$load_start" --arg load_end "$load_end" \
  --arg pressure_start "$pressure_start" --arg pressure_end "$pressure_end" \
  --arg busy_start "$busy_start" --arg busy_end "$busy_end" \
  --arg commit "$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)" \
  --argjson bb1 "$bb1" --argjson bb16 "$bb16" --argjson r1 "$r1" --argjson r16 "$r16" \
  --argjson e2e1 "$e2e1" --argjson e2e16 "$e2e16" \
  --argjson ttft50 "$ttft50" --argjson ttft99 "$ttft99" --argjson ttft1 "$ttft1" \
  --argjson bb1_best "$bb1_best" --argjson bb16_best "$bb16_best" --argjson r1_best "$r1_best" --argjson r16_best "$r16_best" \
  --argjson itl50 "$itl50" --argjson itl99 "$itl99" --argjson steady16 "$steady16" --argjson stats "$stats" \
  --argjson pair1 "$pair1" --argjson pair16 "$pair16" --argjson goal "$goal" \
  --argjson host1 "$host1" --argjson host16 "$host16" \
  --slurpfile bb "$work/batched.jsonl" --slurpfile l1 "$work/runner1.jsonl" --slurpfile l16 "$work/runner16.jsonl" \
  '{
     machine: {host: $host, nproc: $nproc, cpu: $cpu,
              loadavg_start: $load_start, loadavg_end: $load_end,
              cpu_pressure_avg10_start: $pressure_start, cpu_pressure_avg10_end: $pressure_end,
              cpu_busy_pct_before: $busy_start, cpu_busy_pct_after: $busy_end}, commit: $commit, model: $model, model_bytes: $params_bytes,
     settings: {threads: $threads, prompt_tokens: $prompt, gen_tokens: $gen, streams: $streams,
                batch: $batch, ubatch: $ubatch, flash_attn: $flash_attn, repeat: $repeat, statistic: "median of repeats"},
     batched_bench: {s_tg_b1: $bb1, s_tg_b16: $bb16, scaling: (if $bb1 > 0 then $bb16 / $bb1 else null end)},
     runner: {decode_tps_1: $r1, decode_tps_16: $r16, e2e_tps_1: $e2e1, e2e_tps_16: $e2e16,
              ttft_ms_1_p50: $ttft1, ttft_ms_16_p50: $ttft50, ttft_ms_16_p99: $ttft99,
              itl_ms_16_p50: $itl50, itl_ms_16_p99: $itl99,
              steady_decode_tps_16: $steady16, stats_after: $stats,
              host_ms_per_step_1: (if $host1 == 0 then null else $host1 end),
              host_ms_per_step_16: (if $host16 == 0 then null else $host16 end)},
     implied_host_ms_per_step: {b1: (if $r1 > 0 and $bb1 > 0 then 1000 / $r1 - 1000 / $bb1 else null end),
                                b16: (if $r16 > 0 and $bb16 > 0 then 1000 * $streams / $r16 - 1000 * $streams / $bb16 else null end)},
     ratios: {runner_vs_batched_b1: (if $bb1 > 0 then $r1 / $bb1 else null end),
              runner_vs_batched_b16: (if $bb16 > 0 then $r16 / $bb16 else null end),
              runner16_vs_runner1: (if $r1 > 0 then $r16 / $r1 else null end),
              paired_runner_vs_batched_b1: $pair1, paired_runner_vs_batched_b16: $pair16},
     best_of_repeats: {s_tg_b1: $bb1_best, s_tg_b16: $bb16_best, runner_decode_tps_1: $r1_best, runner_decode_tps_16: $r16_best,
                       runner_vs_batched_b1: (if $bb1_best > 0 then $r1_best / $bb1_best else null end),
                       runner_vs_batched_b16: (if $bb16_best > 0 then $r16_best / $bb16_best else null end),
                       runner16_vs_runner1: (if $r1_best > 0 then $r16_best / $r1_best else null end)},
     goals: {runner_vs_batched_min: $goal, runner16_vs_runner1_min: 3.5},
     samples: {batched_bench: $bb, runner_1: $l1, runner_16: $l16}
   } | .goals.met = (.ratios.runner_vs_batched_b1 >= $goal and .ratios.runner_vs_batched_b16 >= $goal
                     and .ratios.runner16_vs_runner1 >= 3.5)
     | .goals.met_paired = (.ratios.paired_runner_vs_batched_b1 >= $goal
                            and .ratios.paired_runner_vs_batched_b16 >= $goal
                            and .ratios.runner16_vs_runner1 >= 3.5)
     | .goals.ratio_met_paired = (.ratios.paired_runner_vs_batched_b1 >= $goal
                                  and .ratios.paired_runner_vs_batched_b16 >= $goal)')"
if [[ -n "$out" ]]; then
  printf '%s\n' "$result" >"$out"
  log "results written to $out"
fi

q() { jq -r "$1 | if . == null then \"n/a\" else tostring end" <<<"$result"; }
echo
echo "model $model ($(( $(stat -c %s "$model") / 1048576 )) MiB), $threads threads, prompt $prompt, gen $gen, median of $repeat"
echo "machine: $(nproc) cores, $(q .machine.cpu); load $load_start -> $load_end, CPU busy before/after ${busy_start}%/${busy_end}%, pressure ${pressure_start}%/${pressure_end}%"
echo
printf '%-28s %12s %12s %10s\n' "" "B=1 tok/s" "B=$streams tok/s" "B$streams/B1"
printf '%-28s %12.1f %12.1f %10.3f\n' "llama-batched-bench S_TG" "$bb1" "$bb16" "$(q .batched_bench.scaling)"
printf '%-28s %12.1f %12.1f %10.3f\n' "cohost runner decode" "$r1" "$r16" "$(q .ratios.runner16_vs_runner1)"
printf '%-28s %12.1f %12.1f\n' "cohost runner end-to-end" "$e2e1" "$e2e16"
printf '%-28s %12s %12.1f\n' "cohost runner steady" "" "$steady16"
echo
printf 'runner / batched-bench:   B=1 %.3f   B=%d %.3f   (goal >= %s)\n' \
  "$(q .ratios.runner_vs_batched_b1)" "$streams" "$(q .ratios.runner_vs_batched_b16)" "$goal"
printf 'host work per step:       B=1 %s ms   B=%d %s ms (runner /stats);  implied by step times: B=1 %s ms   B=%d %s ms\n' \
  "$(q .runner.host_ms_per_step_1)" "$streams" "$(q .runner.host_ms_per_step_16)" \
  "$(q .implied_host_ms_per_step.b1)" "$streams" "$(q .implied_host_ms_per_step.b16)"
printf 'paired (median over repeats of runner/bb in the same repeat):   B=1 %.3f   B=%d %.3f\n' \
  "$pair1" "$streams" "$pair16"
printf 'runner %d streams / 1:     %.3f   (goal >= 3.5)\n' "$streams" "$(q .ratios.runner16_vs_runner1)"
printf 'TTFT at %d streams:        p50 %.1f ms   p99 %.1f ms   (1 stream: p50 %.1f ms)\n' "$streams" "$ttft50" "$ttft99" "$ttft1"
printf 'ITL at %d streams:         p50 %.2f ms   p99 %.2f ms\n' "$streams" "$itl50" "$itl99"
printf 'best of %d:                runner/bb B=1 %.3f, B=%d %.3f, runner16/1 %.3f  (S_TG %.1f / %.1f, runner %.1f / %.1f)\n' \
  "$repeat" "$(q .best_of_repeats.runner_vs_batched_b1)" "$streams" "$(q .best_of_repeats.runner_vs_batched_b16)" \
  "$(q .best_of_repeats.runner16_vs_runner1)" "$bb1_best" "$bb16_best" "$r1_best" "$r16_best"
echo "goals met: with the paired ratios $(q .goals.met_paired); with the ratios of medians $(q .goals.met); runner/batched-bench >= $goal at both (paired) $(q .goals.ratio_met_paired)"
