#!/usr/bin/env bash
# Load benchmark (issue 5): time from start to first token of `cohost runner` on one generated
# model (~1 GB by default), in one invocation, for:
#   (a) llama.cpp's own loader: --load-mode mmap and --load-mode read (llama_model_load_from_file)
#   (b) cohost's streaming loader on the local file (warm page cache; cold when caches can be
#       dropped, i.e. when /proc/sys/vm/drop_caches is writable), and --load-mode auto
#   (c) cohost streaming from S3 on loopback (s3rver, scripts/s3rver.sh)
#   (d) download-then-load: curl (SigV4) from the same S3 to a file, then llama.cpp mmap
# plus reference bounds measured in the same run: memcpy bandwidth (dd from /dev/zero), sequential
# read bandwidth of the model file (dd, warm), the same reads with the loader's threads into reused
# buffers and into fresh memory of the file's size (build/bin/read_bound), and what the S3 server
# itself can send: the object fetched as `concurrency` parallel ranged GETs (curl, to /dev/null).
# Usage: bench/load_bench.sh [--params 1B] [--type q8_0] [--repeat 3] [--concurrency 4] [--out FILE.json]
set -euo pipefail
cd "$(dirname "$0")/.."

params=1B; type=q8_0; repeat=3; out=""; threads=2; concurrency=4
while (($#)); do
  case "$1" in
    --params) params="$2"; shift 2 ;;
    --type) type="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "load_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

cohost="${COHOST_BIN:-build/bin/cohost}"
[[ -x "$cohost" ]] || { echo "load_bench.sh: build cohost first (scripts/build.sh)" >&2; exit 1; }
read_bound="$(dirname "$cohost")/read_bound"
[[ -x "$read_bound" ]] || { echo "load_bench.sh: build read_bound first (ninja -C build read_bound)" >&2; exit 1; }
cache="${COHOST_CACHE_DIR:-$HOME/.cache/cohost}/bench"
mkdir -p "$cache"
model="$cache/load-$params-$type.gguf"
[[ -f "$model" ]] || "$cohost" make-model --params "$params" --type "$type" --seed 42 --output "$model" >&2
size=$(stat -c %s "$model")
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

now() { date +%s.%N; }
# ttft URI ARGS...: seconds from spawning the runner to the first generated token.
ttft() {
  local uri="$1"; shift
  local log="$work/runner.log"; : >"$log"
  local t0; t0=$(now)
  "$cohost" runner --model "$uri" --port 0 --threads "$threads" --load-concurrency "$concurrency" "$@" >"$log" 2>&1 &
  local pid=$! port=""
  for _ in $(seq 1 6000); do
    port=$(grep -oP 'msg=listening .*port=\K[0-9]+' "$log" || true)
    [[ -n "$port" ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "runner failed" >&2; return 1; }
    sleep 0.01
  done
  curl -sf -o /dev/null "http://127.0.0.1:$port/v1/completions" -H 'content-type: application/json' \
    -d '{"prompt":"Hello","max_tokens":1,"temperature":0}'
  local t1; t1=$(now)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  # The streaming loader logs the time of its data phase (data_s: tensor bytes moved): kept for
  # the bytes-per-second figure against the read bound.
  grep -oP 'msg="model loaded".* data_s=\K[0-9.]+' "$log" >>"$work/load_s.$label" || true
  printf '%.3f\n' "$(echo "$t1 - $t0" | bc -l)"
}
label=none
loads() { label="$1"; shift; : >"$work/load_s.$label"; runs "$@"; }
load_median() { median <"$work/load_s.$1"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
runs() { local r=(); for _ in $(seq 1 "$repeat"); do r+=("$("$@")"); done; printf '%s\n' "${r[@]}" | median; }

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; }

# Reference bounds.
memcpy_gbs=$(dd if=/dev/zero of=/dev/null bs=8M count=512 2>&1 | grep -oP '[0-9.]+ [GM]B/s' | awk '{print ($2=="MB/s") ? $1/1000 : $1}')
cat "$model" >/dev/null
read_gbs=$(dd if="$model" of=/dev/null bs=8M 2>&1 | grep -oP '[0-9.]+ [GM]B/s' | awk '{print ($2=="MB/s") ? $1/1000 : $1}')
bounds=$("$read_bound" "$model" --threads "$concurrency")
cached_gbs=$(grep -oP '"cached_gb_s": \K[0-9.]+' <<<"$bounds")
fresh_gbs=$(grep -oP '"fresh_gb_s": \K[0-9.]+' <<<"$bounds")

mmap=$(runs ttft "$model" --load-mode mmap)
read=$(runs ttft "$model" --load-mode read)
stream=$(loads stream ttft "$model" --load-mode stream --no-verify); label=stream
stream_load=$(load_median stream)
auto=$(runs ttft "$model" --load-mode auto)
cold="n/a (cannot drop caches here)"
if drop_caches; then cold=$(ttft "$model" --load-mode stream --no-verify); fi

# S3 on loopback.
"$cohost" pack "$model" >/dev/null
scripts/s3rver.sh "$work/s3" 0 models >"$work/s3.log" 2>&1 &
for _ in $(seq 1 3000); do grep -q listening "$work/s3.log" && break; sleep 0.05; done
s3port=$(grep -oP 'listening on 127\.0\.0\.1:\K[0-9]+' "$work/s3.log")
export AWS_ENDPOINT_URL="http://127.0.0.1:$s3port" AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
"$cohost" push "$model" s3://models/bench.gguf >/dev/null
# The store's own ceiling: the object as `concurrency` parallel ranged GETs, nothing written.
store_fetch() {
  local part=$(( (size + concurrency - 1) / concurrency )) t0 t1 k
  t0=$(now)
  for ((k = 0; k < concurrency; k++)); do
    local first=$((k * part)) last=$(( (k + 1) * part - 1 ))
    ((last < size)) || last=$((size - 1))
    curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
      -r "$first-$last" -o /dev/null "$AWS_ENDPOINT_URL/models/bench.gguf" &
  done
  wait
  t1=$(now)
  printf '%.3f\n' "$(echo "$t1 - $t0" | bc -l)"
}
store_s=$(runs store_fetch)
s3=$(loads s3 ttft s3://models/bench.gguf)
s3_load=$(load_median s3)
download_then_load() {
  local t0; t0=$(now)
  curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -o "$work/dl.gguf" "$AWS_ENDPOINT_URL/models/bench.gguf"
  local t1; t1=$(now)
  local load; load=$(ttft "$work/dl.gguf" --load-mode mmap)
  rm -f "$work/dl.gguf"
  printf '%.3f\n' "$(echo "$t1 - $t0 + $load" | bc -l)"
}
dl=$(runs download_then_load)

gb() { printf '%.3f' "$(echo "$size / 1000000000 / $1" | bc -l)"; }
report=$(cat <<JSON
{"model": "$model", "bytes": $size, "threads": $threads, "repeat": $repeat,
 "concurrency": $concurrency, "memcpy_gb_s": $memcpy_gbs, "read_gb_s": $read_gbs,
 "read_threads_cached_gb_s": $cached_gbs, "read_threads_fresh_gb_s": $fresh_gbs, "s3_store_gb_s": $(gb "$store_s"),
 "ttft_s": {"llama_mmap": $mmap, "llama_read": $read, "cohost_stream_warm": $stream,
            "cohost_auto": $auto, "cohost_stream_cold": "$cold", "s3_loopback": $s3,
            "download_then_load": $dl},
 "data_phase_s": {"cohost_stream_warm": $stream_load, "s3_loopback": $s3_load},
 "data_phase_gb_s": {"cohost_stream_warm": $(gb "$stream_load"), "s3_loopback": $(gb "$s3_load")},
 "goals": {"stream_vs_read_bound": $(printf '%.2f' "$(echo "$size / 1000000000 / $stream_load / $read_gbs" | bc -l)"),
           "stream_vs_threads_cached_bound": $(printf '%.2f' "$(echo "$size / 1000000000 / $stream_load / $cached_gbs" | bc -l)"),
           "stream_vs_threads_fresh_bound": $(printf '%.2f' "$(echo "$size / 1000000000 / $stream_load / $fresh_gbs" | bc -l)"),
           "s3_vs_store_ceiling": $(printf '%.2f' "$(echo "$store_s / $s3_load" | bc -l)"),
           "s3_vs_local_stream": $(printf '%.2f' "$(echo "$stream_load / $s3_load" | bc -l)"),
           "download_then_load_over_s3": $(printf '%.2f' "$(echo "$dl / $s3" | bc -l)")}}
JSON
)
echo "$report"
[[ -z "$out" ]] || echo "$report" >"$out"
