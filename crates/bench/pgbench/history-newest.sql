-- The statement Missive runs today for the NEWEST page of a chat's history
-- on PostgreSQL (GET /chats/{id}/messages?limit=50 with no cursor:
-- crates/infra/src/repositories/messages.rs, page() with a viewer and
-- HistoryCursor::Latest, called by member_history): every column the page
-- decodes (messages::COLUMNS_M), the 50 newest messages plus one to know
-- whether there are more, empty unless the reader is a member (checked in
-- the same statement), the limit written into the SQL. Nothing else runs
-- for these messages: none has reactions (reaction_kinds = 0), so the
-- service skips the reactions query, and the membership query runs only
-- for an empty page. history.sh --newest runs it with -M prepared and
-- plan_cache_mode=force_generic_plan (as the server's sessions do), the
-- reader on a random one of :chats chats. The chat id is computed once per
-- execution (a scalar subquery: an InitPlan), where the server binds it:
-- a bare md5(...) is evaluated again for every row a small table's
-- sequential scan filters.
\set n random(0, :chats - 1)
SELECT m.id, m.chat_id, m.seq, m.sender_id, m.content, m.role,
    m.rating, m.client_id, m.reply_to, m.sent_at, m.created_at, m.edited_at, m.deleted_at,
    m.metadata, m.pinned_by, m.pinned_at, m.thread_root_id, m.reply_count, m.last_reply_seq,
    m.last_reply_at, m.thread_participants, m.mentions, m.mention_all,
    m.reaction_kinds, m.attachments
FROM messages m
WHERE m.chat_id = (SELECT md5(:run || :n)::uuid)
    AND EXISTS (SELECT 1 FROM chat_members cm
                WHERE cm.chat_id = (SELECT md5(:run || :n)::uuid) AND cm.user_id = :user)
ORDER BY m.seq DESC LIMIT 51;
