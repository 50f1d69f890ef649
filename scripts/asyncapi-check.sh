#!/usr/bin/env bash
# Validates /asyncapi.json with the AsyncAPI parser (@asyncapi/parser from
# the npm registry, pinned, installed under target/asyncapi-node) against a
# real server.
#
#   scripts/asyncapi-check.sh [path/to/missive]   # default: target/release/missive
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-target/release/missive}
parser_version=3.6.6
if [ ! -x "$binary" ]; then
  cargo build --release --locked -p missive-api --bin missive
fi
node_dir=target/asyncapi-node
if ! grep -qs "\"version\": \"$parser_version\"" "$node_dir/node_modules/@asyncapi/parser/package.json"; then
  npm install --prefix "$node_dir" --no-audit --no-fund --ignore-scripts --save-exact "@asyncapi/parser@$parser_version" >/dev/null
fi
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MISSIVE__SERVER__BIND="127.0.0.1:$port" MISSIVE__DATABASE__URL="sqlite://$work/a.db?mode=rwc" \
MISSIVE__STORAGE__DIR="$work/storage" MISSIVE__AUTH__JWT_SECRET="$(head -c 36 /dev/urandom | base64)" \
RUST_LOG=warn "$binary" > "$work/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$port/asyncapi.json" > "$work/asyncapi.json"
curl -fs "http://127.0.0.1:$port/docs/asyncapi" | grep -q "<code>message.created</code>"
# Run from beside its node_modules (ES modules resolve from the file).
cp tests/asyncapi/validate.mjs "$node_dir/validate.mjs"
node "$node_dir/validate.mjs" "$work/asyncapi.json"
