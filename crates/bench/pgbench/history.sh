#!/usr/bin/env bash
# PostgreSQL's own ceiling for Missive's history: the same page query
# through pgbench, at the same concurrency as `missive-bench history`
# (16 clients, 4 chats of 1000 messages, pages of 50 before a random seq).
#
#   crates/bench/pgbench/history.sh [--newest] [--chats N] [--messages N]
#       DATABASE_URL [CLIENTS] [SECONDS]
#
# Creates its own user, chats and messages (ids md5(run || n)), then runs
# history.sql. With --newest it runs history-newest.sql instead: the
# service's statement for the newest page (no before_seq; `missive-bench
# history --newest`), with plan_cache_mode=force_generic_plan as the
# server's sessions have. --chats (4) and --messages (1000) size the data.
# Prints pgbench's summary, the latency percentiles from its
# per-transaction log and a final line for scripts:
#   summary: query=random|newest clients=… chats=… tps=… p50_ms=… p99_ms=…
# The database must already be migrated.
set -euo pipefail
query=random
chats=4
messages=1000
while [ $# -gt 0 ]; do
  case "$1" in
    --newest) query=newest; shift ;;
    --chats) chats=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --*) echo "history.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
url=${1:?usage: history.sh [--newest] [--chats N] [--messages N] DATABASE_URL [CLIENTS] [SECONDS]}
clients=${2:-16}
seconds=${3:-15}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run=$(python3 -c 'import uuid; print(uuid.uuid4().hex)')
user=$(setup_chats "$url" "$run" "$chats" "$messages")
psql "$url" -qAt -c "VACUUM (ANALYZE) messages" >/dev/null
if [ "$query" = newest ]; then
  script=$here/history-newest.sql
  options="${PGOPTIONS:-} -c plan_cache_mode=force_generic_plan"
else
  script=$here/history.sql
  options=${PGOPTIONS:-}
fi
threads=$((clients < 2 ? clients : 2))
(cd "$work" && PGOPTIONS="$options" pgbench "$url" -n -M prepared -c "$clients" -j "$threads" \
  -T "$seconds" -P 5 -f "$script" -D run="$run" -D user="$user" -D chats="$chats" \
  -D messages="$messages" --log --log-prefix="$work/tx") 2>&1 | tee "$work/out.txt"
latency_percentiles "$work"
echo "summary: query=$query clients=$clients chats=$chats tps=$(tps_of "$work/out.txt") $(latency_fields "$work")"
