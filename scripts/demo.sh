#!/usr/bin/env bash
# The main job on an embedded default: installs what it needs, builds, generates a demo model
# (once) and serves it on http://127.0.0.1:${PORT:-8080} until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cohost="$(scripts/build.sh)"
data_dir="${COHOST_DATA_DIR:-.cohost}"
mkdir -p "$data_dir/models"
model="$data_dir/models/demo-60m.gguf"
[[ -f "$model" ]] || "$cohost" make-model --params 60M --output "$model"
port="${PORT:-8080}"
cat <<MSG
Serving $model on http://127.0.0.1:$port (Ctrl-C stops). Try:
  curl -s http://127.0.0.1:$port/v1/chat/completions \\
    -d '{"model": "demo-60m", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 16}'
MSG
exec "$cohost" runner --model "$model" --port "$port" --parallel 8 --context 2048
