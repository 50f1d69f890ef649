#!/usr/bin/env bash
# Generated clients, for real: starts the server, downloads its own
# /openapi.json, generates a Python client (openapi-python-client) and
# TypeScript types (openapi-typescript), and runs the same user journey
# through each — tests/clients/python_journey.py with the generated package,
# tests/clients/ts/journey.ts with openapi-fetch typed by the generated
# types, type-checked by `tsc --strict` first (a wrong field name fails it).
# Both run; the script fails if either did, and says how long each took.
#
# Installs what is missing, pinned, under target/: a virtualenv at
# target/clients-venv (openapi-python-client), npm packages at
# target/clients-node (openapi-typescript, openapi-fetch, typescript,
# @types/node). Generated code goes to target/clients/.
#
#   scripts/client-journeys.sh [path/to/missive]   # default: target/release/missive
#
# What the generators make of the document (seen with the versions below):
# - openapi-python-client omits the bodies of export_chat
#   (application/x-ndjson), download_upload (*/*) and download_thumbnail
#   (image/jpeg, image/png): those answer `Response.content` bytes only.
# - Free-form objects (`metadata`: one shared `Metadata` schema) say
#   `additionalProperties: true`, so openapi-typescript types them
#   `Record<string, unknown>` and Python has one `Metadata` model; the
#   branches of EditMessageRequest's "at least one of" carry their fields'
#   types, so a PATCH body type-checks and a misspelt field does not.
# - The query parameter `metadata.KEY` (a placeholder for any
#   `metadata.<key>=VALUE`) becomes one fixed keyword, `metadata_key` in
#   Python and `"metadata.KEY"` in TypeScript: neither can filter on a real
#   key through the generated call.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-target/release/missive}
python_generator_version=0.29.1
setuptools_version=80.9.0
openapi_typescript_version=7.13.0
openapi_fetch_version=0.17.0
typescript_version=5.9.3
types_node_version=20.19.43

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

if [ ! -x "$binary" ]; then
  cargo build --release --locked -p missive-api --bin missive
fi

setup_started=$(now)
venv=target/clients-venv
if ! "$venv/bin/openapi-python-client" --version 2>/dev/null | grep -q "version: $python_generator_version\$" \
  || ! "$venv/bin/python" -c "import setuptools" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    "openapi-python-client==$python_generator_version" "setuptools==$setuptools_version"
fi
node_dir=target/clients-node
node_packages=(
  "openapi-typescript@$openapi_typescript_version"
  "openapi-fetch@$openapi_fetch_version"
  "typescript@$typescript_version"
  "@types/node@$types_node_version"
)
if ! command -v npm >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
for package in "${node_packages[@]}"; do
  name=${package%@*} version=${package##*@}
  if ! grep -qs "\"version\": \"$version\"" "$node_dir/node_modules/$name/package.json"; then
    npm install --prefix "$node_dir" --no-audit --no-fund --save-exact "${node_packages[@]}" >/dev/null
    break
  fi
done
echo "tools ready in $(since "$setup_started") s (openapi-python-client $python_generator_version," \
  "openapi-typescript $openapi_typescript_version, openapi-fetch $openapi_fetch_version," \
  "typescript $typescript_version, node $(node --version))"

source scripts/lib/throwaway-server.sh
start_throwaway_server "$binary"

out=target/clients
mkdir -p "$out"
python3 - "$base" "$out/openapi.json" <<'PY'
import sys, time, urllib.request
base, path = sys.argv[1], sys.argv[2]
deadline = time.time() + 60
while True:
    try:
        urllib.request.urlopen(base + "/health/ready", timeout=1)
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("the server did not get ready in 60 s")
        time.sleep(0.1)
with urllib.request.urlopen(base + "/openapi.json", timeout=10) as answer:
    open(path, "wb").write(answer.read())
PY
echo "server at $base; $out/openapi.json: $(wc -c < "$out/openapi.json") bytes"

# Each step ends its journey on failure (`set -e` does not apply inside a
# function called as an `if` condition, hence the explicit returns).
python_journey() {
  "$venv/bin/openapi-python-client" generate --path "$out/openapi.json" \
    --output-path "$out/python" --overwrite --meta setup > "$work/python-generate.log" 2>&1 \
    || { cat "$work/python-generate.log"; return 1; }
  # What it left out, one line each (its own message names the status badly).
  sed -n -e 's/^WARNING parsing \(.*\) within .*/generator: \1:/p' \
    -e 's/.*(\(Unsupported content_type [^)]*\)), response will be omitted.*/\1, body not parsed/p' \
    "$work/python-generate.log" | paste -d' ' - - | sort -u
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps --no-build-isolation \
    --force-reinstall "$out/python" || return 1
  "$venv/bin/python" tests/clients/python_journey.py "$base"
}

typescript_journey() {
  local ts=$out/ts
  mkdir -p "$ts"
  "$node_dir/node_modules/.bin/openapi-typescript" "$out/openapi.json" \
    -o "$ts/schema.d.ts" > "$work/ts-generate.log" 2>&1 || { cat "$work/ts-generate.log"; return 1; }
  cp tests/clients/ts/journey.ts tests/clients/ts/tsconfig.json "$ts/" || return 1
  echo '{"type": "module", "private": true}' > "$ts/package.json"
  ln -sfn ../../clients-node/node_modules "$ts/node_modules" || return 1
  rm -rf "$ts/out"
  # The type check: strict, and nothing is emitted when it fails.
  "$node_dir/node_modules/.bin/tsc" -p "$ts" --strict --noEmitOnError || return 1
  echo "tsc --strict: journey.ts type-checks against the generated schema.d.ts"
  node "$ts/out/journey.js" "$base"
}

status=0
for journey in python typescript; do
  echo
  case $journey in
    python) echo "--- Python: openapi-python-client $python_generator_version (generate, install, run)" ;;
    typescript) echo "--- TypeScript: openapi-typescript $openapi_typescript_version, openapi-fetch $openapi_fetch_version, tsc $typescript_version (generate, type-check, run)" ;;
  esac
  started=$(now)
  if "${journey}_journey"; then result=passed; else result=FAILED; status=1; fi
  echo "=> $journey: $result in $(since "$started") s"
done

if [ "$status" -ne 0 ]; then
  echo "--- server log (last 30 lines) ---"
  tail -30 "$work/server.log"
fi
exit "$status"
