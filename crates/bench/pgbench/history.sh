#!/usr/bin/env bash
# PostgreSQL's own ceiling for Missive's history: the same page query
# through pgbench, at the same concurrency as `missive-bench history`
# (16 clients, 4 chats of 1000 messages, pages of 50 before a random seq).
#
#   crates/bench/pgbench/history.sh DATABASE_URL [CLIENTS] [SECONDS]
#
# Creates its own user, chats and messages (ids md5(run || n)), then runs
# history.sql. Prints pgbench's summary and the latency percentiles from
# its per-transaction log. The database must already be migrated.
set -euo pipefail
url=$1
clients=${2:-16}
seconds=${3:-15}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run=$(python3 -c 'import uuid; print(uuid.uuid4().hex)')
user=$(psql "$url" -qAt -v ON_ERROR_STOP=1 -v run="$run" <<'SQL'
WITH u AS (
    INSERT INTO users (id, email, full_name, password_hash, created_at)
    VALUES (gen_random_uuid(), 'pgbench-' || :'run' || '@example.org', 'pgbench', 'x', now())
    RETURNING id),
c AS (
    INSERT INTO chats (id, kind, title, created_by, created_at, last_seq, last_activity_us)
    SELECT md5(:'run' || n)::uuid, 'group', 'pgbench', u.id, now(), 1000, 0
    FROM u, generate_series(0, 3) n
    RETURNING id, created_by),
m AS (
    INSERT INTO chat_members (chat_id, user_id, role, joined_at, last_read_seq)
    SELECT id, created_by, 'owner', now(), 0 FROM c
    RETURNING chat_id, user_id),
x AS (
    INSERT INTO messages (id, chat_id, seq, sender_id, content, role, rating, client_id,
        reply_to, sent_at, created_at)
    SELECT gen_random_uuid(), m.chat_id, s, m.user_id, 'history ' || s, 'user', NULL,
        gen_random_uuid()::text, NULL, now(), now()
    FROM m, generate_series(1, 1000) s)
SELECT DISTINCT user_id FROM m;
SQL
)
psql "$url" -qAt -c "VACUUM (ANALYZE) messages" >/dev/null
(cd "$work" && pgbench "$url" -n -M prepared -c "$clients" -j 2 -T "$seconds" -P 5 \
  -f "$here/history.sql" -D run="$run" -D user="$user" \
  --log --log-prefix="$work/tx")
# Per-transaction log: field 3 is the latency in microseconds.
cat "$work"/tx.* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {
  if (NR) printf "latency percentiles: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (%d transactions)\n",
    a[int(NR*0.5)+1]/1000, a[int(NR*0.9)+1]/1000, a[int(NR*0.99)+1]/1000, a[NR]/1000, NR }'
