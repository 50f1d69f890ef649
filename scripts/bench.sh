#!/usr/bin/env bash
# Runs every missive-bench scenario against a release server.
#
#   scripts/bench.sh postgres   # throwaway PostgreSQL with durable settings
#   scripts/bench.sh sqlite     # SQLite file
#   scripts/bench.sh smoke      # tiny sizes, SQLite (CI)
#   scripts/bench.sh ceilings   # the databases alone: grouped sends, newest page
#
# Every mode uses the release build, and the server binary is exactly the
# one `cargo run --release` builds (CI shares it with scripts/readme-run.sh).
# Results go to stdout (tables) and target/bench/<backend>-<scenario>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-postgres}
bin=target/release

# `ceilings`: what PostgreSQL and SQLite do alone with the work of
# docs/design/performance-ii.md (§6 step 1, §7), no server built or
# started, no HTTP: grouped sends (crates/bench/pgbench/send-group.sh, txn
# and multi modes, each client on its own chats and all on one chat, plus
# synchronous_commit=off), the history page before a random seq and the
# newest page (history.sh [--newest]), and SQLite's send in groups
# (crates/bench/sqlite/send.py --per-txn/--savepoints/--multi-row). Each
# PostgreSQL run gets a fresh database copied from a migrated template,
# after a CHECKPOINT. The server binary only migrates (BENCH_SERVER_BIN, or
# target/release/missive, built when missing). A throwaway PostgreSQL with
# durable settings, or BENCH_CEILINGS_URL (a role that may CREATE DATABASE).
# Knobs (defaults): BENCH_CEILINGS_SECONDS (10) per run,
# BENCH_CEILINGS_CLIENTS ("4 8"), BENCH_CEILINGS_GROUPS ("1 2 4 8 16 32"),
# BENCH_CEILINGS_ONE_CHAT_CLIENTS ("4"), BENCH_CEILINGS_ASYNC_GROUPS
# ("1 8 32"), BENCH_CEILINGS_HISTORY_CLIENTS ("16"), BENCH_CEILINGS_PARTS
# ("send one-chat async history sqlite"). About 12 minutes with the
# defaults. Raw outputs: target/bench/ceilings/.
ceilings() {
  local seconds=${BENCH_CEILINGS_SECONDS:-10}
  local clients_list=${BENCH_CEILINGS_CLIENTS:-4 8}
  local groups=${BENCH_CEILINGS_GROUPS:-1 2 4 8 16 32}
  local one_chat_clients=${BENCH_CEILINGS_ONE_CHAT_CLIENTS:-4}
  local async_groups=${BENCH_CEILINGS_ASYNC_GROUPS:-1 8 32}
  local history_clients=${BENCH_CEILINGS_HISTORY_CLIENTS:-16}
  local parts=" ${BENCH_CEILINGS_PARTS:-send one-chat async history sqlite} "
  local migrate_bin=${BENCH_SERVER_BIN:-$bin/missive}
  if [ ! -x "$migrate_bin" ]; then
    echo "== ceilings: building $migrate_bin (only to migrate the databases)"
    cargo build --release --locked -p missive-api --bin missive
  fi
  out=target/bench/ceilings
  rm -rf "$out"
  mkdir -p "$out"
  ceil_work=$(mktemp -d)
  ceil_pg_dir=
  ceil_url=
  ceil_tpl=ceilings_$(python3 -c 'import uuid; print(uuid.uuid4().hex[:12])')
  trap ceilings_cleanup EXIT
  if [ -n "${BENCH_CEILINGS_URL:-}" ]; then
    ceil_url=$BENCH_CEILINGS_URL
  else
    eval "$(scripts/pg-throwaway.sh start --durable)"
    ceil_pg_dir=$MISSIVE_PG_DIR
    ceil_url=$MISSIVE_TEST_DATABASE_URL
  fi
  local base=${ceil_url%/*}
  local port
  port=$(sed -E 's|.*:([0-9]+)/.*|\1|' <<< "$ceil_url")
  local admin="postgres://postgres@127.0.0.1:$port/postgres"
  psql "$ceil_url" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE $ceil_tpl" >/dev/null
  MISSIVE__DATABASE__URL="$base/$ceil_tpl" "$migrate_bin" migrate up > "$out/migrate-postgres.log" 2>&1 \
    || { tail -5 "$out/migrate-postgres.log"; return 1; }
  local probe_dir=${ceil_pg_dir:-$out}
  {
    echo "machine: $(nproc) CPUs; $(psql "$ceil_url" -qAt -c "SELECT split_part(version(), ' on ', 1) || ', fsync=' || current_setting('fsync') || ', synchronous_commit=' || current_setting('synchronous_commit')")"
    echo "seconds per run: $seconds"
    echo "disk at the start: $(fsync_probe "$probe_dir")"
  } | tee "$out/header.txt"

  local n=0
  ceil_failed=0
  # pg_run NAME SCRIPT ARGS…: ARGS with @URL@ for a fresh copy of the template.
  pg_run() {
    local name=$1 script=$2 db a
    shift 2
    n=$((n + 1))
    db=${ceil_tpl}_$n
    psql "$ceil_url" -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db TEMPLATE $ceil_tpl" >/dev/null
    psql -w "$admin" -qAt -c CHECKPOINT >/dev/null 2>&1 || true
    echo "$name $(fsync_probe "$probe_dir" 0.25)" >> "$out/fsync.txt"
    local args=()
    for a in "$@"; do args+=("${a/@URL@/$base/$db}"); done
    if "$script" "${args[@]}" > "$out/$name.txt" 2>&1; then
      echo "  $name: $(grep '^summary:' "$out/$name.txt" | tail -1 | cut -d' ' -f2-)"
    else
      echo "  $name: FAILED (see $out/$name.txt)"
      tail -3 "$out/$name.txt" | sed 's/^/    /'
      ceil_failed=$((ceil_failed + 1))
    fi
    psql "$ceil_url" -qAt -c "DROP DATABASE $db" >/dev/null 2>&1 || true
  }
  local pg=crates/bench/pgbench c g m
  if [[ $parts == *" send "* ]]; then
    echo "== ceilings: PostgreSQL, grouped sends, each client on its own chats"
    # The two modes back to back at each size: the disk's speed drifts.
    for c in $clients_list; do
      for g in $groups; do
        for m in txn multi; do
          pg_run "send-own-$m-sync-c$c-g$g" "$pg/send-group.sh" --mode "$m" @URL@ "$c" "$seconds" "$g"
        done
      done
    done
  fi
  if [[ $parts == *" one-chat "* ]]; then
    echo "== ceilings: PostgreSQL, grouped sends, every client on one chat"
    for c in $one_chat_clients; do
      for g in $groups; do
        for m in txn multi; do
          pg_run "send-one-$m-sync-c$c-g$g" "$pg/send-group.sh" --mode "$m" --one-chat @URL@ "$c" "$seconds" "$g"
        done
      done
    done
  fi
  if [[ $parts == *" async "* ]]; then
    echo "== ceilings: PostgreSQL, grouped sends, synchronous_commit=off (fsync's share)"
    c=${clients_list%% *}
    for g in $async_groups; do
      for m in txn multi; do
        pg_run "send-own-$m-async-c$c-g$g" "$pg/send-group.sh" --mode "$m" --async @URL@ "$c" "$seconds" "$g"
      done
    done
  fi
  if [[ $parts == *" history "* ]]; then
    echo "== ceilings: PostgreSQL, one history page (4 chats of 1 000 messages)"
    for c in $history_clients; do
      pg_run "history-random-c$c" "$pg/history.sh" @URL@ "$c" "$seconds"
      pg_run "history-newest-c$c" "$pg/history.sh" --newest @URL@ "$c" "$seconds"
    done
  fi
  if [[ $parts == *" sqlite "* ]]; then
    echo "== ceilings: SQLite, one connection (WAL, synchronous=NORMAL)"
    MISSIVE__DATABASE__URL="sqlite://$ceil_work/template.db?mode=rwc" "$migrate_bin" migrate up \
      > "$out/migrate-sqlite.log" 2>&1 || { tail -5 "$out/migrate-sqlite.log"; return 1; }
    # The migration's pages are in the WAL: fold them into the file copied.
    python3 -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA wal_checkpoint(TRUNCATE)")' \
      "$ceil_work/template.db"
    sqlite_run() {
      local name=$1
      shift
      rm -f "$ceil_work"/run.db*
      cp "$ceil_work/template.db" "$ceil_work/run.db"
      echo "$name $(fsync_probe "$probe_dir" 0.25)" >> "$out/fsync.txt"
      if python3 crates/bench/sqlite/send.py "$ceil_work/run.db" "$seconds" "$@" > "$out/$name.txt" 2>&1; then
        echo "  $name: $(tail -1 "$out/$name.txt")"
      else
        echo "  $name: FAILED (see $out/$name.txt)"
        ceil_failed=$((ceil_failed + 1))
      fi
    }
    sqlite_run sqlite-single-g1
    for g in $groups; do
      [ "$g" -gt 1 ] || continue
      sqlite_run "sqlite-txn-g$g" --per-txn "$g"
      sqlite_run "sqlite-savepoints-g$g" --per-txn "$g" --savepoints
      sqlite_run "sqlite-multirow-g$g" --per-txn "$g" --multi-row
    done
  fi
  echo "disk at the end: $(fsync_probe "$probe_dir")" | tee -a "$out/header.txt"
  echo
  python3 - "$out" <<'PY' | tee "$out/table.txt"
import glob, os, re, sys

out = sys.argv[1]
print(open(os.path.join(out, "header.txt")).read().strip())
try:
    rates = [float(line.split()[1]) for line in open(os.path.join(out, "fsync.txt"))]
    print(f"disk before each run: {min(rates):.0f}-{max(rates):.0f} fdatasync/s (median "
          f"{sorted(rates)[len(rates) // 2]:.0f}; each run's in fsync.txt): sync rows compare only at similar rates")
except (OSError, ValueError, IndexError):
    pass


def summary(path):
    for line in reversed(open(path).read().splitlines()):
        if line.startswith("summary:"):
            return dict(kv.split("=", 1) for kv in line.split()[1:])
    return None


def cell(rate, p99):
    return f"{rate:>7,.0f} ({p99})".replace(",", " ")


def matrix(title, rows, groups, label):
    if not rows:
        return
    print(f"\n{title}")
    head = f"{label:<34}" + "".join(f"{'g=' + str(g):>17}" for g in groups)
    print(head)
    for key in sorted(rows, key=lambda k: [str(x) for x in k]):
        values = rows[key]
        line = f"{' '.join(str(k) for k in key):<34}"
        line += "".join(f"{values.get(g, '-'):>17}" for g in groups)
        print(line)


send, groups = {}, set()
for path in glob.glob(os.path.join(out, "send-*.txt")):
    s = summary(path)
    if not s:
        continue
    group, clients, chats = int(s["group"]), int(s["clients"]), int(s["chats"])
    layout = "one chat" if chats == 1 else ("own chats" if chats == clients * group else f"{chats} chats")
    key = (layout, s["mode"], s["commit"], f"-c {clients}")
    send.setdefault(key, {})[group] = cell(float(s["messages_per_sec"]), s["p99_ms"])
    groups.add(group)
matrix("PostgreSQL send: messages/s = tps x group (p99 ms of one group's transaction)",
       send, sorted(groups), "chats mode commit clients")

history = []
for path in sorted(glob.glob(os.path.join(out, "history-*.txt"))):
    s = summary(path)
    if s:
        history.append(s)
if history:
    print("\nPostgreSQL history: one page of 50 (+1)")
    print(f"{'query':<10}{'clients':>8}{'chats':>7}{'pages/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for s in history:
        print(f"{s['query']:<10}{s['clients']:>8}{s['chats']:>7}{float(s['tps']):>10,.0f}{s['p50_ms']:>9}{s['p99_ms']:>9}".replace(",", " "))

sqlite, sgroups = {}, set()
pattern = re.compile(r"(\d+) sends/s, per transaction p50 ([\d.]+) ms, p99 ([\d.]+) ms")
for path in glob.glob(os.path.join(out, "sqlite-*.txt")):
    m = pattern.search(open(path).read())
    if not m:
        continue
    _, shape, g = os.path.basename(path)[:-4].split("-")
    group = int(g[1:])
    shape = "per-txn" if shape in ("single", "txn") else shape
    sqlite.setdefault((shape,), {})[group] = cell(float(m.group(1)), f"{float(m.group(3)):.2f}")
    sgroups.add(group)
for key in list(sqlite):
    if key != ("per-txn",) and 1 in sqlite.get(("per-txn",), {}):
        sqlite[key].setdefault(1, sqlite[("per-txn",)][1])
matrix("SQLite send, one connection: sends/s (p99 ms of one transaction); g=1 is today's send",
       sqlite, sorted(sgroups), "grouping")
PY
  if [ "$ceil_failed" -gt 0 ]; then
    echo "ceilings: $ceil_failed run(s) failed"
    return 1
  fi
}

# How fast this disk makes 8 kB durable right now (what a commit waits
# for; it moves a lot on a shared virtual machine).
#   fsync_probe DIR [SECONDS]
fsync_probe() {
  python3 - "$1" "${2:-1}" <<'PY'
import os, sys, time
path = os.path.join(sys.argv[1], ".fsync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
n, started = 0, time.perf_counter()
while time.perf_counter() - started < float(sys.argv[2]):
    os.pwrite(fd, b"\0" * 8192, 0)
    os.fdatasync(fd)
    n += 1
elapsed = time.perf_counter() - started
os.close(fd)
os.unlink(path)
print(f"{n / elapsed:.0f} fdatasync/s of 8 kB ({elapsed / n * 1000:.2f} ms each)")
PY
}

ceilings_cleanup() {
  if [ -n "${ceil_url:-}" ]; then
    psql "$ceil_url" -qAt -c "DROP DATABASE IF EXISTS $ceil_tpl" >/dev/null 2>&1 || true
  fi
  [ -n "${ceil_pg_dir:-}" ] && scripts/pg-throwaway.sh stop "$ceil_pg_dir"
  rm -rf "${ceil_work:-}"
}

if [ "$mode" = ceilings ]; then
  ceilings
  exit 0
fi
# BENCH_SKIP_BUILD=1 reuses the binaries already built; BENCH_SERVER_BIN
# runs another server binary (say, an older build, for a before/after).
if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
  # Two invocations, not one: cargo unifies dependency features across the
  # packages it builds together, and the bench crate's (reqwest's hyper
  # client, futures' executor, tower's retry, …) would give a server binary
  # that differs from `cargo run --release`'s and rebuild it in between.
  cargo build --release --locked -p missive-api --bin missive
  cargo build --release --locked -p missive-bench --bin missive-bench
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true

work=$(mktemp -d)
pg_dir=
cleanup() {
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  mkdir -p target/bench && cp "$work/server.log" "target/bench/$mode-server.log" 2>/dev/null || true
  [ -n "$pg_dir" ] && scripts/pg-throwaway.sh stop "$pg_dir"
  rm -rf "$work"
}
trap cleanup EXIT

case "$mode" in
  postgres)
    eval "$(scripts/pg-throwaway.sh start --durable)"
    pg_dir=$MISSIVE_PG_DIR
    database_url=$MISSIVE_TEST_DATABASE_URL
    ;;
  sqlite|smoke)
    database_url="sqlite://$work/bench.db?mode=rwc"
    ;;
  *) echo "usage: $0 postgres|sqlite|smoke|ceilings" >&2; exit 2 ;;
esac

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The connections scenario holds all its sockets as one user: lift the
# per-user cap (16 by default) the way rate limits are switched off.
MISSIVE__SERVER__BIND="127.0.0.1:$port" \
MISSIVE__DATABASE__URL="$database_url" \
MISSIVE__STORAGE__DIR="$work/storage" \
MISSIVE__DATABASE__MAX_CONNECTIONS=32 \
MISSIVE__RATE_LIMIT__ENABLED=false \
MISSIVE__REALTIME__MAX_CONNECTIONS_PER_USER=1000000 \
MISSIVE__REALTIME__OUTBOUND_QUEUE=4096 \
MISSIVE__AUTH__JWT_SECRET="$(head -c 36 /dev/urandom | base64)" \
RUST_LOG=warn \
  "${BENCH_SERVER_BIN:-$bin/missive}" > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/health/ready', timeout=1)" 2>/dev/null && break
  sleep 0.2
done

# CPU time per operation of the server and of PostgreSQL (see BENCHMARKS.md).
watch=(--server-pid "$server")
if [ -n "$pg_dir" ]; then
  watch+=(--postgres-pid "$(head -1 "$pg_dir/data/postmaster.pid")")
fi

mkdir -p target/bench
run() {
  local name=$1; shift
  echo "== $mode: $name $*"
  "$bin/missive-bench" --url "http://127.0.0.1:$port" --json "${watch[@]}" "$@" > "target/bench/$mode-$name.json"
  python3 - "target/bench/$mode-$name.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
lat = r.get("latency") or {}
line = f'{r["throughput_per_sec"]:.0f} {r["unit"]}/s, {r["operations"]} ops, {r["errors"]} errors'
if lat:
    line += f', p50 {lat["p50_ms"]:.2f} ms, p99 {lat["p99_ms"]:.2f} ms'
print("  " + line)
cpu = r.get("cpu")
if cpu:
    fmt = lambda v: "-" if v is None else f"{v:.0f}"
    print(f'  CPU µs/op: server {fmt(cpu["server_us_per_op"])}, postgres {fmt(cpu["postgres_us_per_op"])}, '
          f'bench {cpu["bench_us_per_op"]:.0f}; machine {cpu["machine_busy_percent"]:.0f} % busy, '
          f'{cpu["steal_percent"]:.0f} % stolen by the hypervisor; server RSS {(cpu.get("server_rss_kb") or 0) / 1024:.0f} MiB')
if r.get("extra"):
    print("  " + json.dumps(r["extra"]))
PY
}

if [ "$mode" = smoke ]; then
  run send --quiet send --clients 2 --chats 2 --seconds 1
  run history --quiet history --clients 2 --messages 60 --seconds 1
  run history-reactions --quiet history --clients 2 --messages 60 --seconds 1 --reactions
  run history-newest --quiet history --clients 2 --messages 60 --chats 3 --seconds 1 --newest
  run fanout --quiet fanout --members 3 --senders 1 --rate 10 --seconds 1
  run connections --quiet connections --count 20
  run import --quiet import --messages 2000 --chats 2 --batch 500 --clients 2
  run export --quiet export --messages 1000 --times 2
  run sync --quiet sync --changes 2000 --chats 2 --page 500
  run sync-websocket --quiet sync --changes 2000 --chats 2 --websocket
  run search --quiet search --messages 2000 --chats 4 --foreign 1000 --clients 2 --seconds 1
  python3 - <<'PY'
import json
r = json.load(open("target/bench/smoke-fanout.json"))
assert r["extra"]["every_member_got_every_message_once_in_order"], r
names = ["send", "history", "history-reactions", "history-newest", "fanout", "connections", "import", "export", "sync", "sync-websocket", "search"]
for name in names:
    r = json.load(open(f"target/bench/smoke-{name}.json"))
    assert r["operations"] > 0 and r["errors"] == 0, (name, r)
print(f"bench smoke: {len(names)} passed, 0 failed")
PY
else
  run send send --clients 32 --chats 32 --seconds 15
  run send-one-chat send --clients 32 --chats 1 --seconds 10
  if [ "$mode" = postgres ]; then
    echo "== postgres: pgbench, the same SQL as one send, 32 clients, 32 chats"
    crates/bench/pgbench/run.sh "$database_url" 32 15 32 | tee target/bench/postgres-pgbench.txt | grep -E "^(tps|latency average|latency p)"
    echo "== postgres: pgbench, the same SQL as one send, 32 clients, 1 chat"
    crates/bench/pgbench/run.sh "$database_url" 32 10 1 | tee target/bench/postgres-pgbench-one-chat.txt | grep -E "^(tps|latency average|latency p)"
  else
    echo "== sqlite: the same statements as one send, one connection (SQLite's ceiling)"
    python3 crates/bench/sqlite/send.py "$work/bench.db" 10 | tee target/bench/sqlite-raw.txt
  fi
  if [ "$mode" = postgres ]; then
    # Let autovacuum's work after the bulk inserts finish before reading.
    psql "$database_url" -qAt -c "VACUUM (ANALYZE)" -c "CHECKPOINT" >/dev/null 2>&1 || true
  fi
  run history history --clients 16 --messages 1000 --seconds 15
  run history-reactions history --clients 16 --messages 1000 --seconds 15 --reactions
  if [ "$mode" = postgres ]; then
    echo "== postgres: pgbench, the same SQL as one history page, 16 clients"
    crates/bench/pgbench/history.sh "$database_url" 16 15 | tee target/bench/postgres-pgbench-history.txt | grep -E "^(tps|latency average|latency p)"
  fi
  run fanout fanout --members 1000 --senders 4 --rate 60 --seconds 15
  # Each side needs a descriptor per connection; stay under the limit.
  fds=$(ulimit -n)
  count=20000
  if [ "$fds" -lt 20500 ]; then
    count=$((fds - 500))
    echo "open-file limit is $fds: holding $count connections instead of 20000"
  fi
  run connections connections --count "$count"
  # Bulk: 100 000 messages imported 1 000 per request (compare with the
  # send rows: one per request), then one chat exported whole.
  run import import --messages 100000 --chats 10 --batch 1000 --clients 4
  run export export --messages 100000 --times 5
  # A client returning after 100 000 changes catches up (REST pages of
  # 1 000, then a WebSocket with ?since=).
  run sync sync --changes 100000 --chats 10 --page 1000
  run sync-websocket sync --changes 100000 --chats 10 --websocket
  # Search over a million messages in the searching user's 100 chats
  # (BENCH_SEARCH_MESSAGES to change; the fill takes a few minutes). On
  # PostgreSQL a VACUUM first lets the full-text index catch up with the
  # fresh rows (autovacuum would, at its own pace, in the middle of the run).
  settle=()
  if [ "$mode" = postgres ]; then
    settle=(--after-fill "psql '$database_url' -qAt -c 'VACUUM (ANALYZE) messages'")
  fi
  run search search --messages "${BENCH_SEARCH_MESSAGES:-1000000}" --chats 100 --clients 2 --seconds 30 "${settle[@]}"
  # The same words in a stranger's 900 000 messages the searcher cannot see.
  run search-foreign search --messages 100000 --chats 100 --foreign 900000 --clients 2 --seconds 30 "${settle[@]}"
  # Right after a million-message import, before the index has caught up.
  run search-unsettled search --messages "${BENCH_SEARCH_MESSAGES:-1000000}" --chats 100 --clients 2 --seconds 30
fi
