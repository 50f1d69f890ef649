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
# shellcheck source=common.sh
. "$here/common.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run=$(python3 -c 'import uuid; print(uuid.uuid4().hex)')
user=$(setup_chats "$url" "$run" "$chats" 0)
{
  echo '\set n :client_id % :chats'
  sed 's/:chat\b/md5(:run || :n)::uuid/g' "$here/send.sql"
} > "$work/send.sql"
(cd "$work" && pgbench "$url" -n -M prepared -c "$clients" -j 2 -T "$seconds" -P 5 \
  -f "$work/send.sql" -D run="$run" -D chats="$chats" -D user="$user" \
  --log --log-prefix="$work/tx")
latency_percentiles "$work"
