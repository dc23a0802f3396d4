#!/usr/bin/env bash
# Azurite, Microsoft's Azure Storage emulator (from the npm registry), for the az:// tests.
# Installed once under target/azurite; prints the path of its blob server.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/azurite
bin=$dir/node_modules/.bin/azurite-blob
if [ ! -x "$bin" ]; then
  command -v npm >/dev/null 2>&1 || apt-get install -y -qq nodejs npm >&2
  mkdir -p "$dir"
  (cd "$dir" && npm install --silent --no-audit --no-fund --prefix . azurite@3 >&2)
fi
echo "$PWD/$bin"
