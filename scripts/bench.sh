#!/usr/bin/env bash
# Runs every missive-bench scenario against a release server.
#
#   scripts/bench.sh postgres   # throwaway PostgreSQL with durable settings
#   scripts/bench.sh sqlite     # SQLite file
#   scripts/bench.sh smoke      # tiny sizes, SQLite (CI)
#
# Every mode uses the release build, and the server binary is exactly the
# one `cargo run --release` builds (CI shares it with scripts/readme-run.sh).
# Results go to stdout (tables) and target/bench/<backend>-<scenario>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-postgres}
bin=target/release
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
  *) echo "usage: $0 postgres|sqlite|smoke" >&2; exit 2 ;;
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
names = ["send", "history", "history-reactions", "fanout", "connections", "import", "export", "sync", "sync-websocket", "search"]
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
