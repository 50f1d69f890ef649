#!/usr/bin/env bash
# CI: runs the README's "Run it" command the way a new user would, and checks
# that what the README promises works: the server comes up on
# 127.0.0.1:8000 with an SQLite file missive.db in the working directory,
# serves the REST API, delivers a message over the WebSocket, serves the
# documentation pages, and stops cleanly on SIGTERM.
#
#   bash scripts/readme-run.sh
#
# The command is read from README.md itself (the first ```sh block under
# "## Run it"), so the README and this check cannot drift apart. It runs at
# the repository root with no MISSIVE__*, DATABASE_URL or PORT variables,
# from a clean state: it refuses to start if missive.db (or -wal/-shm) or
# missive.toml already exist or something listens on 127.0.0.1:8000, and
# removes the database files it created. The first run includes the release
# build (~9 min on 2 cores); README_RUN_TIMEOUT (seconds, default 1200) bounds
# the wait for /health/ready. The client is scripts/readme_run_check.py
# (standard-library Python only).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
ready_timeout=${README_RUN_TIMEOUT:-1200}
base=http://127.0.0.1:8000

say() { printf '%s\n' "$*"; }
failures=0
fail() { say "FAIL $*"; failures=$((failures + 1)); }

# --- the command, from the README -------------------------------------------
cmd=$(awk '
  /^## / { in_section = ($0 == "## Run it"); next }
  in_section && !in_block && /^```sh[[:space:]]*$/ { in_block = 1; next }
  in_block && /^```/ { exit }
  in_block && NF && $1 !~ /^#/ { print }
' README.md)
if [ -z "$cmd" ] || [ "$(printf '%s\n' "$cmd" | wc -l)" -ne 1 ]; then
  say "FAIL could not find exactly one command in the first \`\`\`sh block under \"## Run it\" in README.md (found: ${cmd:-nothing})"
  exit 1
fi
# It must be a plain `cargo run …`: it is started with exec, and cargo run
# in turn execs the server, so the pid we start is the server's.
if ! [[ $cmd =~ ^cargo\ run([[:space:]]|$) ]] || [[ $cmd =~ [\;\&\|\<\>\`\$] ]]; then
  say "FAIL README's run command is no longer a plain \`cargo run …\` line: '$cmd' (update scripts/readme-run.sh)"
  exit 1
fi
say "README run command: $cmd"

# --- a clean state, as after a fresh clone ------------------------------------
while IFS= read -r var; do
  unset "$var"
done < <(compgen -e | grep -E '^(MISSIVE__|DATABASE_URL$|PORT$)' || true)
for f in missive.db missive.db-wal missive.db-shm missive.toml missive-data; do
  if [ -e "$f" ]; then
    say "FAIL $root/$f exists; a new user has none (move it away and run again; not deleting it for you)"
    exit 1
  fi
done
if (exec 3<>/dev/tcp/127.0.0.1/8000) 2>/dev/null; then
  say "FAIL something already listens on 127.0.0.1:8000; stop it first"
  exit 1
fi

work=$(mktemp -d)
log=$work/server.log
launched=
cleanup() {
  local status=$?
  if [ -n "$launched" ] && kill -0 "$launched" 2>/dev/null; then
    # Its own session and process group (setsid): this also stops cargo's
    # rustc children if the build was still running.
    kill -TERM -- "-$launched" 2>/dev/null || kill -TERM "$launched" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$launched" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$launched" 2>/dev/null || kill -KILL "$launched" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -s "$log" ]; then
    say "--- last 60 lines of the server's output ($cmd) ---"
    tail -n 60 "$log" | sed 's/\x1b\[[0-9;]*m//g'   # without the log's colour codes
    say "---"
  fi
  rm -f "$root/missive.db" "$root/missive.db-wal" "$root/missive.db-shm"
  rm -rf "$root/missive-data" "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- start it -----------------------------------------------------------------
start=$SECONDS
# `exec` so that $! is cargo, which execs the server once it is built.
# shellcheck disable=SC2086 # word splitting of the README's command is intended
if command -v setsid >/dev/null 2>&1; then
  setsid bash -c 'exec "$@"' readme-run $cmd > "$log" 2>&1 < /dev/null &
else
  bash -c 'exec "$@"' readme-run $cmd > "$log" 2>&1 < /dev/null &
fi
launched=$!
say "started '$cmd' as pid $launched; waiting up to ${ready_timeout}s for $base/health/ready (includes the build)"

python3 scripts/readme_run_check.py wait --base "$base" --timeout "$ready_timeout" --pid "$launched" --log "$log" || exit 1
ready=$SECONDS
if grep -q 'Compiling missive-api' "$log"; then
  say "release build + start: $((ready - start)) s"
else
  say "start (release build already up to date): $((ready - start)) s"
fi

# The server process: the pid we started once cargo has exec'd it, else a
# descendant named missive (never another user's missive process).
find_server() {
  local pid=$1 child
  if [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = missive ]; then echo "$pid"; return 0; fi
  for child in $(pgrep -P "$pid" || true); do
    find_server "$child" && return 0
  done
  return 1
}
if ! server=$(find_server "$launched"); then
  fail "no process named missive under pid $launched ($(ps -o pid=,comm=,args= -p "$launched" || true))"
  exit 1
fi
say "server process: pid $server ($(readlink "/proc/$server/exe" 2>/dev/null || ps -o args= -p "$server"))"

if [ -f missive.db ]; then
  say "PASS SQLite database missive.db created in the working directory"
else
  fail "no missive.db in the working directory $root"
fi

# --- the user's first session -------------------------------------------------
python3 scripts/readme_run_check.py check --base "$base" || failures=$((failures + 1))
checked=$SECONDS

# --- SIGTERM: stops within 30 s, exit code 0 ------------------------------------
kill -TERM "$server"
stopped=
for _ in $(seq 300); do
  state=$(ps -o stat= -p "$server" 2>/dev/null || true)
  if [ -z "$state" ] || [[ $state == Z* ]]; then stopped=1; break; fi
  sleep 0.1
done
if [ -z "$stopped" ]; then
  fail "server (pid $server) still running 30 s after SIGTERM"
  exit 1
fi
code=0
wait "$launched" || code=$?
launched=
if [ "$code" -eq 0 ]; then
  say "PASS SIGTERM: the server exited with code 0 after $((SECONDS - checked)) s"
else
  fail "SIGTERM: exit code $code (the README promises 0)"
fi
if (exec 3<>/dev/tcp/127.0.0.1/8000) 2>/dev/null; then
  fail "127.0.0.1:8000 still accepts connections after the server exited"
fi

say "times: start $((ready - start)) s, checks $((checked - ready)) s, shutdown $((SECONDS - checked)) s, total $((SECONDS - start)) s"
if [ "$failures" -ne 0 ]; then
  say "FAIL README run check: $failures failure(s)"
  exit 1
fi
say "PASS README run check"
