#!/usr/bin/env bash
# PostgreSQL's own ceiling for Missive's send: the same statement through
# pgbench, at the same concurrency and over as many chats as
# `missive-bench send --chats`.
#
#   crates/bench/pgbench/run.sh DATABASE_URL [CLIENTS] [SECONDS] [CHATS]
#
# With CHATS > 1, client i writes to chat i mod CHATS: run.sh creates the
# chats with ids md5(run || n) and send.sql's `:chat` becomes
# `md5(:run || :n)::uuid` (pgbench variables are numbers or strings, not
# lists); the statement is otherwise the same. Prints pgbench's summary
# and the latency percentiles from its per-transaction log.
#
# The database must already be migrated (any Missive database is).
set -euo pipefail
url=$1
clients=${2:-32}
seconds=${3:-30}
chats=${4:-1}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run=$(python3 -c 'import uuid; print(uuid.uuid4().hex)')
user=$(psql "$url" -qAt -v ON_ERROR_STOP=1 -v run="$run" -v chats="$chats" <<'SQL'
WITH u AS (
    INSERT INTO users (id, email, full_name, password_hash, created_at)
    VALUES (gen_random_uuid(), 'pgbench-' || :'run' || '@example.org', 'pgbench', 'x', now())
    RETURNING id),
c AS (
    INSERT INTO chats (id, kind, title, created_by, created_at, last_seq, last_activity_us)
    SELECT md5(:'run' || n)::uuid, 'group', 'pgbench', u.id, now(), 0, 0
    FROM u, generate_series(0, :chats - 1) n
    RETURNING id, created_by),
m AS (
    INSERT INTO chat_members (chat_id, user_id, role, joined_at, last_read_seq)
    SELECT id, created_by, 'owner', now(), 0 FROM c
    RETURNING user_id)
SELECT DISTINCT user_id FROM m;
SQL
)
{
  echo '\set n :client_id % :chats'
  sed 's/:chat\b/md5(:run || :n)::uuid/g' "$here/send.sql"
} > "$work/send.sql"
(cd "$work" && pgbench "$url" -n -M prepared -c "$clients" -j 2 -T "$seconds" -P 5 \
  -f "$work/send.sql" -D run="$run" -D chats="$chats" -D user="$user" \
  --log --log-prefix="$work/tx")
# Per-transaction log: field 3 is the latency in microseconds.
cat "$work"/tx.* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {
  if (NR) printf "latency percentiles: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (%d transactions)\n",
    a[int(NR*0.5)+1]/1000, a[int(NR*0.9)+1]/1000, a[int(NR*0.99)+1]/1000, a[NR]/1000, NR }'
