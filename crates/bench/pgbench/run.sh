#!/usr/bin/env bash
# PostgreSQL's own ceiling for Missive's send: the same statement through
# pgbench, at the same concurrency, on one chat (like `missive-bench send`).
#
#   crates/bench/pgbench/run.sh DATABASE_URL [CLIENTS] [SECONDS]
#
# The database must already be migrated (any Missive database is).
set -euo pipefail
url=$1
clients=${2:-32}
seconds=${3:-30}
here=$(cd "$(dirname "$0")" && pwd)
ids=$(psql "$url" -qAt -v ON_ERROR_STOP=1 <<'SQL'
WITH u AS (
    INSERT INTO users (id, email, full_name, password_hash, created_at)
    VALUES (gen_random_uuid(), 'pgbench-' || gen_random_uuid() || '@example.org', 'pgbench', 'x', now())
    RETURNING id),
c AS (
    INSERT INTO chats (id, kind, title, created_by, created_at, last_seq, last_activity_us)
    SELECT gen_random_uuid(), 'group', 'pgbench', id, now(), 0, 0 FROM u
    RETURNING id, created_by),
m AS (
    INSERT INTO chat_members (chat_id, user_id, role, joined_at, last_read_seq)
    SELECT id, created_by, 'owner', now(), 0 FROM c
    RETURNING chat_id, user_id)
SELECT chat_id || ' ' || user_id FROM m;
SQL
)
read -r chat user <<<"$ids"
pgbench "$url" -n -M prepared -c "$clients" -j 2 -T "$seconds" -P 5 \
  -f "$here/send.sql" -D chat="$chat" -D user="$user"
