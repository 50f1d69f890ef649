#!/usr/bin/env bash
# Screenshots of the web client with a seeded conversation, in Debian's
# Chromium driven by Playwright for Python (tests/browser/screens.py):
# docs/screenshots/{signin,chat-light,chat-dark,phone}.png. Installs what
# is missing: `chromium` and an emoji font with apt-get, Playwright in a
# virtualenv under target/ (the same one as scripts/browser-tests.sh).
#
#   scripts/screenshots.sh [path/to/missive] [out-dir]   # defaults: target/release/missive docs/screenshots
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-target/release/missive}
out=${2:-docs/screenshots}
if [ ! -x "$binary" ]; then
  cargo build --release --locked -p missive-api --bin missive
fi
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || missing+=(fonts-noto-color-emoji)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
venv=target/browser-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import playwright" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check playwright
fi
exec "$venv/bin/python" tests/browser/screens.py "$binary" "$out"
