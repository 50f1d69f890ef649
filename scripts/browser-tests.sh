#!/usr/bin/env bash
# The web client in Debian's Chromium, driven by Playwright for Python,
# against a real server: tests/browser/chat.py (behaviour), then
# tests/browser/audit.py (axe-core accessibility scans, the phone layout,
# keyboard-only use). Both run; the script fails if either did. Installs
# what is missing: `chromium` with apt-get (browser downloads from
# elsewhere fail on CI machines), Playwright in a virtualenv under target/,
# axe-core (pinned) from the npm registry under target/browser-node/.
#
#   scripts/browser-tests.sh [path/to/missive]   # default: target/release/missive
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-target/release/missive}
axe_version=4.14.1
if [ ! -x "$binary" ]; then
  cargo build --release --locked -p missive-api --bin missive
fi
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
venv=target/browser-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import playwright" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check playwright
fi
node_dir=target/browser-node
if ! grep -qs "\"version\": \"$axe_version\"" "$node_dir/node_modules/axe-core/package.json"; then
  if ! command -v npm >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  fi
  npm install --prefix "$node_dir" --no-audit --no-fund --save-exact "axe-core@$axe_version" >/dev/null
fi
status=0
"$venv/bin/python" tests/browser/chat.py "$binary" || status=1
"$venv/bin/python" tests/browser/audit.py "$binary" || status=1
exit "$status"
