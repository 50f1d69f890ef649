#!/usr/bin/env bash
# The JavaScript SDK, as the server serves it (/sdk/missive.js), in Node's
# built-in test runner against a real server (tests/sdk/sdk.test.mjs).
# Installs `ws` (pinned; Node 20 has no WebSocket) under target/sdk-node.
#
#   scripts/sdk-tests.sh [path/to/missive]   # default: target/release/missive
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-target/release/missive}
ws_version=8.23.0
if [ ! -x "$binary" ]; then
  cargo build --release --locked -p missive-api --bin missive
fi
node_dir=target/sdk-node
if ! grep -qs "\"version\": \"$ws_version\"" "$node_dir/node_modules/ws/package.json"; then
  npm install --prefix "$node_dir" --no-audit --no-fund --ignore-scripts --save-exact "ws@$ws_version" >/dev/null
fi
source scripts/lib/throwaway-server.sh
start_throwaway_server "$binary"
# The SDK exactly as served, beside the tests and their node_modules.
curl -fs "$base/sdk/missive.js" > "$node_dir/missive.js"
cp tests/sdk/sdk.test.mjs "$node_dir/sdk.test.mjs"
MISSIVE_URL="$base" node --test "$node_dir/sdk.test.mjs"
