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
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MISSIVE__SERVER__BIND="127.0.0.1:$port" MISSIVE__DATABASE__URL="sqlite://$work/s.db?mode=rwc" \
MISSIVE__STORAGE__DIR="$work/storage" MISSIVE__RATE_LIMIT__ENABLED=false \
MISSIVE__AUTH__JWT_SECRET="$(head -c 36 /dev/urandom | base64)" \
RUST_LOG=warn "$binary" > "$work/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.1; done
# The SDK exactly as served, beside the tests and their node_modules.
curl -fs "http://127.0.0.1:$port/sdk/missive.js" > "$node_dir/missive.js"
cp tests/sdk/sdk.test.mjs "$node_dir/sdk.test.mjs"
MISSIVE_URL="http://127.0.0.1:$port" node --test "$node_dir/sdk.test.mjs"
