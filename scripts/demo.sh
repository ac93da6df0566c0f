#!/usr/bin/env bash
# The main job on an embedded default: installs what it needs, builds, and runs `cohost serve`
# with its state (SQLite), demo models and runner sockets under .cohost/. With no GPU it uses two
# virtual accelerators. Serves http://127.0.0.1:${PORT:-8080} until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cohost="$(scripts/build.sh)"
port="${PORT:-8080}"
cat <<MSG
Starting cohost serve on http://127.0.0.1:$port (Ctrl-C stops). The first start generates three
demo models and one endpoint with three inference components. Then try:
  curl -s http://127.0.0.1:$port/v1/models
  curl -s http://127.0.0.1:$port/v1/chat/completions \\
    -d '{"model": "small-chat", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 16}'
  curl -s http://127.0.0.1:$port/v1/inference-components/small-chat
  curl -s http://127.0.0.1:$port/v1/devices
MSG
exec "$cohost" serve --port "$port" --data-dir "${COHOST_DATA_DIR:-.cohost}"
