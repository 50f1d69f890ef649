-- The statements Missive runs for one history page on PostgreSQL: the page
-- (crates/infra/src/repositories/messages.rs, page() with a viewer and a
-- before_seq cursor: 50 messages plus one to know whether there are more,
-- empty unless the reader is a member), then the page's reactions as the
-- reader sees them (repositories/reactions.rs, summaries(); the server
-- binds the page's ids, here a subquery selects the same ones). history.sh
-- runs it with -M prepared over 4 chats of 1000 messages, like
-- `missive-bench history` (history.sh passes -D chats=4 -D messages=1000).
\set n random(0, :chats - 1)
\set before random(51, :messages)
SELECT m.id, m.chat_id, m.seq, m.sender_id, m.content, m.role,
    m.rating, m.client_id, m.reply_to, m.sent_at, m.created_at, m.edited_at, m.deleted_at,
    m.metadata, m.pinned_by, m.pinned_at, m.thread_root_id, m.reply_count, m.last_reply_seq,
    m.last_reply_at, m.thread_participants, m.mentions, m.mention_all
FROM messages m
WHERE m.chat_id = md5(:run || :n)::uuid AND m.seq < :before
    AND EXISTS (SELECT 1 FROM chat_members cm
                WHERE cm.chat_id = md5(:run || :n)::uuid AND cm.user_id = :user)
ORDER BY m.seq DESC LIMIT 51;
SELECT message_id, reaction, COUNT(*) AS n,
    MAX(CASE WHEN user_id = :user THEN 1 ELSE 0 END) AS me, MIN(created_us) AS first_us
FROM message_reactions WHERE message_id IN (
    SELECT m.id FROM messages m WHERE m.chat_id = md5(:run || :n)::uuid AND m.seq < :before
    ORDER BY m.seq DESC LIMIT 50)
GROUP BY message_id, reaction
ORDER BY message_id, first_us, reaction;
