-- Exactly the statement Missive runs for one send on PostgreSQL
-- (crates/infra/src/repositories/messages/append.rs, APPEND_PG): take the
-- chat's advisory lock (so transaction ids follow seq, for sync), bump the
-- chat's last_seq under its row lock, check membership, insert the message,
-- record the change for sync, and move the sender's read position to it
-- only when more than 1 000 behind (UNREAD_WINDOW; the bench's senders never
-- read, so once every 1 001 messages of a chat), recording that move too.
-- A plain message: no reply, mentions, attachments or metadata (NULLs and
-- false, as the server binds them). One difference: the server computes the
-- advisory lock key (send_turn_key, the low 64 bits of the chat id) and
-- binds it; here SQL takes it from the id's text.
-- run.sh runs it with -M prepared, -D user=<uuid>, and :chat chosen per client.
-- Ids are time-ordered like the server's (UUIDv7: milliseconds first), so
-- the rows sort where the server's would; search_text is what the server
-- indexes for this content, metadata none.
WITH bumped AS (
    UPDATE chats SET last_seq = last_seq + 1,
        last_activity_us = GREATEST(last_activity_us, 1)
    WHERE id = :chat AND EXISTS (
        SELECT 1 FROM chat_members WHERE chat_id = :chat AND user_id = :user)
        AND EXISTS (SELECT 1 FROM pg_advisory_xact_lock(('x' || right(replace(CAST(:chat AS text), '-', ''), 16))::bit(64)::bigint))
    RETURNING last_seq),
stored AS (
    INSERT INTO messages (id, chat_id, seq, sender_id, content, role, rating, client_id,
        reply_to, sent_at, created_at, metadata, search_text, thread_root_id, mentions,
        mention_all, attachments)
    SELECT (lpad(to_hex(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')
            || '7' || substr(md5(random()::text), 1, 19))::uuid,
        :chat, bumped.last_seq, :user, 'bench message', 'user', NULL,
        gen_random_uuid()::text, NULL, now(), now(), NULL, 'bench message', NULL, NULL,
        false, NULL FROM bumped
    RETURNING seq, chat_id AS stored_chat, id AS stored_id),
logged AS (
    INSERT INTO changes (chat_id, kind, message_id)
    SELECT stored_chat, 1, stored_id FROM stored RETURNING id),
caught_up AS (
    UPDATE chat_members SET last_read_seq = stored.seq FROM stored
    WHERE chat_id = :chat AND user_id = :user AND last_read_seq < stored.seq - 1000
    RETURNING chat_members.chat_id, chat_members.user_id, chat_members.last_read_seq),
caught_up_logged AS (
    INSERT INTO changes (chat_id, kind, user_id, seq)
    SELECT chat_id, 6, user_id, last_read_seq FROM caught_up, logged)
SELECT seq FROM stored;
