# Shared by run.sh, history.sh and send-group.sh (sourced, not run).

# Prints p50/p90/p99/max from the per-transaction logs pgbench wrote with
# --log --log-prefix="$1/tx" (field 3 is the latency in microseconds).
latency_percentiles() {
  cat "$1"/tx.* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {
    if (NR) printf "latency percentiles: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (%d transactions)\n",
      a[int(NR*0.5)+1]/1000, a[int(NR*0.9)+1]/1000, a[int(NR*0.99)+1]/1000, a[NR]/1000, NR }'
}

# The same percentiles as numbers, for a summary line: "p50_ms=… p99_ms=…".
latency_fields() {
  cat "$1"/tx.* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {
    if (NR) printf "p50_ms=%.2f p99_ms=%.2f", a[int(NR*0.5)+1]/1000, a[int(NR*0.99)+1]/1000
    else printf "p50_ms=- p99_ms=-" }'
}

# pgbench's tps (without initial connection time) from its output in FILE.
tps_of() {
  sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$1" | head -1
}

# Creates one user and CHATS group chats it owns, with ids md5(RUN || n)
# for n in 0..CHATS-1, each already holding MESSAGES messages (seq 1..N;
# time-ordered ids like the server's UUIDv7, so they sort where the
# server's would: random ones sort after every real message and would
# stand in for the newest); prints the user's id.   setup_chats URL RUN CHATS MESSAGES
setup_chats() {
  psql "$1" -qAt -v ON_ERROR_STOP=1 -v run="$2" -v chats="$3" -v messages="$4" <<'SQL'
WITH u AS (
    INSERT INTO users (id, email, full_name, password_hash, created_at)
    VALUES (gen_random_uuid(), 'pgbench-' || :'run' || '@example.org', 'pgbench', 'x', now())
    RETURNING id),
c AS (
    INSERT INTO chats (id, kind, title, created_by, created_at, last_seq, last_activity_us)
    SELECT md5(:'run' || n)::uuid, 'group', 'pgbench', u.id, now(), :messages, 0
    FROM u, generate_series(0, :chats - 1) n
    RETURNING id, created_by),
m AS (
    INSERT INTO chat_members (chat_id, user_id, role, joined_at, last_read_seq)
    SELECT id, created_by, 'owner', now(), 0 FROM c
    RETURNING chat_id, user_id),
x AS (
    INSERT INTO messages (id, chat_id, seq, sender_id, content, role, rating, client_id,
        reply_to, sent_at, created_at, search_text)
    SELECT (lpad(to_hex(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')
            || '7' || substr(md5(random()::text), 1, 19))::uuid,
        m.chat_id, s, m.user_id, 'message ' || s, 'user', NULL,
        gen_random_uuid()::text, NULL, now(), now(), 'message ' || s
    FROM m, generate_series(1, :messages) s)
SELECT DISTINCT user_id FROM m;
SQL
}
