#!/usr/bin/env bash
# The web client in Debian's Chromium, driven by Playwright for Python,
# against a real server (tests/browser/chat.py). Installs what is missing:
# `chromium` with apt-get (browser downloads from elsewhere fail on CI
# machines), Playwright in a virtualenv under target/.
#
#   scripts/browser-tests.sh [path/to/missive]   # default: target/release/missive
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-target/release/missive}
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
exec "$venv/bin/python" tests/browser/chat.py "$binary"
