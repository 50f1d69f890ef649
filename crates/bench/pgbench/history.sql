-- Exactly the statement Missive runs for one history page on PostgreSQL
-- (crates/infra/src/repositories/messages.rs, page() with a viewer and a
-- before_seq cursor): 50 messages plus one to know whether there are
-- more, empty unless the reader is a member. history.sh runs it with
-- -M prepared over 4 chats of 1000 messages, like `missive-bench history`.
\set n random(0, 3)
\set before random(51, 1000)
SELECT m.id, m.chat_id, m.seq, m.sender_id, m.content, m.role,
    m.rating, m.client_id, m.reply_to, m.sent_at, m.created_at, m.edited_at, m.deleted_at
FROM messages m
WHERE m.chat_id = md5(:run || :n)::uuid AND m.seq < :before
    AND EXISTS (SELECT 1 FROM chat_members cm
                WHERE cm.chat_id = md5(:run || :n)::uuid AND cm.user_id = :user)
ORDER BY m.seq DESC LIMIT 51;
