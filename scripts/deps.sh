#!/usr/bin/env bash
# Installs the Debian 12 packages cohost builds and tests with. Run as root (or with sudo).
# Quick when everything is already installed: it only asks apt when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache git ca-certificates curl
  libboost1.81-dev nlohmann-json3-dev libsqlite3-dev libcurl4-openssl-dev
  libspdlog-dev libcli11-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if ((${#missing[@]})); then
  echo "deps.sh: installing ${missing[*]}" >&2
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
