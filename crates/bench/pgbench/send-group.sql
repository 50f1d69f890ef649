-- A group of :group plain sends as ONE statement (a true multi-row send):
-- the shape docs/design/performance-ii.md §3.2 proposes for group commit,
-- with the items built by generate_series where the service would bind
-- arrays through unnest. Not what the service runs today (that is
-- send.sql, one statement per message); this is PostgreSQL's ceiling for
-- the grouped statement. Per item, as APPEND_PG does for one: membership
-- (EXISTS on chat_members) and the client_id lookup; then, per chat of the
-- group, one advisory lock (sorted, deduplicated, all taken in an InitPlan
-- before the first write) and one bump of last_seq by the chat's number of
-- accepted items; item k of a chat gets seq base + k in arrival order; one
-- multi-row INSERT into messages, the sender's read position moved to the
-- first of their messages more than 1 000 ahead of it, and one multi-row
-- INSERT into changes (ordered by chat and seq, a read after its message).
--
-- send-group.sh runs it with -M prepared and -D run=, user=, chats=, group=.
-- Item g (0-based) of client c goes to chat md5(:run || ((c × :group + g) %
-- :chats)): with :chats = clients × :group (the default) every client has
-- its own :group chats, one item each; with :chats = 1 every item of every
-- client goes to one chat. pgbench's tps counts statements: messages/s =
-- tps × :group.
\set base :client_id * :group
WITH input AS (
    SELECT (lpad(to_hex(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')
            || '7' || substr(md5(random()::text), 1, 19))::uuid AS id,
        md5(:run || ((CAST(:base AS int) + g) % CAST(:chats AS int)))::uuid AS chat_id,
        CAST(:user AS uuid) AS sender_id, 'bench message'::text AS content, 'user'::text AS role,
        NULL::bool AS rating, gen_random_uuid()::text AS client_id, now() AS sent_at,
        now() AS created_at, NULL::jsonb AS metadata, 'bench message'::text AS search_text,
        1::bigint AS activity_us, g + 1 AS ord
    FROM generate_series(0, CAST(:group AS int) - 1) g),
judged AS (
    SELECT i.*,
        EXISTS (SELECT 1 FROM chat_members cm
                WHERE cm.chat_id = i.chat_id AND cm.user_id = i.sender_id) AS member,
        (SELECT m.id FROM messages m WHERE m.chat_id = i.chat_id AND m.sender_id = i.sender_id
            AND m.client_id = i.client_id) AS existing
    FROM input i),
ok AS (
    SELECT j.*, row_number() OVER (PARTITION BY j.chat_id ORDER BY j.ord) AS k
    FROM judged j WHERE j.member AND j.existing IS NULL),
counts AS (
    SELECT chat_id, count(*) AS n, max(activity_us) AS a FROM ok GROUP BY chat_id),
bumped AS (
    UPDATE chats c SET last_seq = c.last_seq + counts.n,
        last_activity_us = GREATEST(c.last_activity_us, counts.a)
    FROM counts WHERE c.id = counts.chat_id
        AND (SELECT count(*) FROM (
                SELECT DISTINCT ('x' || right(replace(CAST(chat_id AS text), '-', ''), 16))::bit(64)::bigint AS key
                FROM input ORDER BY 1) keys,
            LATERAL pg_advisory_xact_lock(keys.key) AS l) >= 0
    RETURNING c.id, c.last_seq - counts.n AS base),
stored AS (
    INSERT INTO messages (id, chat_id, seq, sender_id, content, role, rating, client_id,
        reply_to, sent_at, created_at, metadata, search_text, thread_root_id, mentions,
        mention_all, attachments)
    SELECT ok.id, ok.chat_id, b.base + ok.k, ok.sender_id, ok.content, ok.role, ok.rating,
        ok.client_id, NULL, ok.sent_at, ok.created_at, ok.metadata, ok.search_text, NULL, NULL,
        false, NULL
    FROM ok JOIN bumped b ON b.id = ok.chat_id
    RETURNING id, chat_id, seq, sender_id),
caught_up AS (
    UPDATE chat_members cm SET last_read_seq = s.first FROM (
        SELECT st.chat_id, st.sender_id, min(st.seq) AS first FROM stored st
        JOIN chat_members r ON r.chat_id = st.chat_id AND r.user_id = st.sender_id
        WHERE st.seq > r.last_read_seq + 1000 GROUP BY 1, 2) s
    WHERE cm.chat_id = s.chat_id AND cm.user_id = s.sender_id AND cm.last_read_seq < s.first
    RETURNING cm.chat_id, cm.user_id, cm.last_read_seq),
logged AS (
    INSERT INTO changes (chat_id, kind, message_id, user_id, seq)
    SELECT chat_id, kind, message_id, user_id, seq FROM (
        SELECT chat_id, 1::smallint AS kind, id AS message_id, NULL::uuid AS user_id,
            NULL::bigint AS seq, s.seq AS o, 0 AS t FROM stored s
        UNION ALL
        SELECT chat_id, 6::smallint, NULL::uuid, user_id, last_read_seq, last_read_seq, 1
        FROM caught_up) x
    ORDER BY chat_id, o, t)
SELECT j.ord, j.member, j.existing, s.seq FROM judged j LEFT JOIN stored s ON s.id = j.id
ORDER BY j.ord;
