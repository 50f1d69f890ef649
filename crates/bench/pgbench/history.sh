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
# shellcheck source=common.sh
. "$here/common.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run=$(python3 -c 'import uuid; print(uuid.uuid4().hex)')
user=$(setup_chats "$url" "$run" 4 1000)
psql "$url" -qAt -c "VACUUM (ANALYZE) messages" >/dev/null
(cd "$work" && pgbench "$url" -n -M prepared -c "$clients" -j 2 -T "$seconds" -P 5 \
  -f "$here/history.sql" -D run="$run" -D user="$user" \
  --log --log-prefix="$work/tx")
latency_percentiles "$work"
