#!/usr/bin/env bash
# PostgreSQL's own ceiling for GROUPED sends (docs/design/performance-ii.md
# §7.2): each pgbench transaction stores GROUP plain messages of one
# client, so messages/s = tps × GROUP.
#
#   crates/bench/pgbench/send-group.sh [--mode txn|multi] [--chats N | --one-chat]
#       [--async] DATABASE_URL [CLIENTS] [SECONDS] [GROUP]
#
# Modes (what each measures):
#   txn    (default) BEGIN, GROUP executions of send.sql — today's single-send
#          statement (APPEND_PG), unchanged — then COMMIT: one commit (one
#          WAL flush) per group, but still one statement, one round trip and
#          one executor run per message. GROUP 1 is send.sql in autocommit
#          (no BEGIN/COMMIT), as run.sh runs it, but with the chat id
#          computed once (see below). pgbench has no loops: the script is
#          generated here, the statement written out GROUP times.
#   multi  send-group.sql: the group as ONE statement (§3.2's shape, items
#          from generate_series): one round trip, one commit, one bump per
#          chat, multi-row INSERTs into messages and changes. Its GROUP 1
#          is not today's statement (the service keeps APPEND_PG for a lone
#          item): it shows the grouped statement's fixed cost.
# txn against multi at the same GROUP is what one statement saves over one
# transaction; GROUP N against txn's GROUP 1, what grouping saves in all.
#
# Chats: item g (0-based) of client c goes to chat (c × GROUP + g) mod CHATS.
# The default CHATS = CLIENTS × GROUP gives every client its own GROUP
# chats, one item each (independent chats, like `missive-bench send --chats
# 32`); --one-chat (CHATS 1) puts every item of every client on one chat,
# whose lock the clients then queue on. In txn mode CHATS must be a
# multiple or a divisor of GROUP (locks are then taken in ascending chat
# order: no deadlocks); multi takes its locks sorted by key anyway.
#
# --async runs the sessions with synchronous_commit=off (commits do not
# wait for the WAL flush): the difference to a plain run is the fsync's
# share. Every run sets plan_cache_mode=force_generic_plan, as the server's
# sessions do. Extra PGOPTIONS are passed on.
#
# Prints pgbench's summary, the latency percentiles of its transactions
# (one transaction = one group) and a final line for scripts:
#   summary: mode=… clients=… group=… chats=… commit=sync|async tps=… messages_per_sec=… p50_ms=… p99_ms=…
#
# The database must already be migrated (any Missive database is).
set -euo pipefail
mode=txn
chats=
commit=sync
while [ $# -gt 0 ]; do
  case "$1" in
    --mode) mode=$2; shift 2 ;;
    --chats) chats=$2; shift 2 ;;
    --one-chat) chats=1; shift ;;
    --async) commit=async; shift ;;
    --*) echo "send-group.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
url=${1:?usage: send-group.sh [--mode txn|multi] [--chats N | --one-chat] [--async] DATABASE_URL [CLIENTS] [SECONDS] [GROUP]}
clients=${2:-4}
seconds=${3:-10}
group=${4:-8}
chats=${chats:-$((clients * group))}
case "$mode" in
  txn)
    if [ $((chats % group)) -ne 0 ] && [ $((group % chats)) -ne 0 ]; then
      echo "send-group.sh: in txn mode CHATS ($chats) must be a multiple or a divisor of GROUP ($group)" >&2
      exit 2
    fi
    ;;
  multi) ;;
  *) echo "send-group.sh: --mode is txn or multi" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run=$(python3 -c 'import uuid; print(uuid.uuid4().hex)')
user=$(setup_chats "$url" "$run" "$chats" 0)

if [ "$mode" = multi ]; then
  cp "$here/send-group.sql" "$work/script.sql"
else
  # The statement with its chat per item: item g's chat number is
  # (client_id × GROUP + g) mod CHATS, in pgbench's own arithmetic. The id
  # is a scalar subquery (an InitPlan, computed once per execution, as the
  # server binds it); run.sh's bare md5(...) is evaluated again for every
  # row a sequential scan of the small chat_members table filters.
  statement=$(grep -v '^--' "$here/send.sql" | sed 's/:chat\b/(SELECT md5(:run || :n)::uuid)/g')
  {
    echo '\set base :client_id * :group'
    if [ "$group" -gt 1 ]; then echo 'BEGIN;'; fi
    for g in $(seq 0 $((group - 1))); do
      echo "\\set n (:base + $g) % :chats"
      echo "$statement"
    done
    if [ "$group" -gt 1 ]; then echo 'COMMIT;'; fi
  } > "$work/script.sql"
fi

options="${PGOPTIONS:-} -c plan_cache_mode=force_generic_plan"
if [ "$commit" = async ]; then options="$options -c synchronous_commit=off"; fi
threads=$((clients < 2 ? clients : 2))
(cd "$work" && PGOPTIONS="$options" pgbench "$url" -n -M prepared -c "$clients" -j "$threads" \
  -T "$seconds" -P 5 -f "$work/script.sql" \
  -D run="$run" -D chats="$chats" -D group="$group" -D user="$user" \
  --log --log-prefix="$work/tx") 2>&1 | tee "$work/out.txt"
latency_percentiles "$work"
tps=$(tps_of "$work/out.txt")
messages=$(awk -v t="${tps:-0}" -v g="$group" 'BEGIN { printf "%.0f", t * g }')
echo "summary: mode=$mode clients=$clients group=$group chats=$chats commit=$commit tps=${tps:-0} messages_per_sec=$messages $(latency_fields "$work")"
