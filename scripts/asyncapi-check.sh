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
source scripts/lib/throwaway-server.sh
start_throwaway_server "$binary"
curl -fs "$base/asyncapi.json" > "$work/asyncapi.json"
# Into a file first: `curl | grep -q` fails under pipefail when grep stops
# reading at its match before curl has written the whole page.
curl -fs "$base/docs/asyncapi" > "$work/asyncapi.html"
grep -q "<code>message.created</code>" "$work/asyncapi.html"
# Run from beside its node_modules (ES modules resolve from the file).
cp tests/asyncapi/validate.mjs "$node_dir/validate.mjs"
node "$node_dir/validate.mjs" "$work/asyncapi.json"
