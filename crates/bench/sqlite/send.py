#!/usr/bin/env python3
"""SQLite's own ceiling for Missive's send: the statements of one send
(crates/infra/src/repositories/messages.rs, append_sqlite: bump, insert,
catch a far-behind sender up) in a loop on one
connection, with the server's settings (WAL, synchronous=NORMAL), against a
migrated Missive database. One writer at a time is all SQLite allows, so
one connection is the ceiling for any number of clients.

    python3 crates/bench/sqlite/send.py DATABASE_FILE [SECONDS]
"""
import os
import sqlite3
import sys
import time
import uuid

path = sys.argv[1]
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=NORMAL")
db.execute("PRAGMA foreign_keys=ON")

# SQLite's uuid columns hold 16-byte blobs; times are RFC 3339 text.
user = uuid.uuid4().bytes
chat = uuid.uuid4().bytes
now = "2026-01-01 00:00:00.000000+00:00"
db.execute("INSERT INTO users (id, email, full_name, password_hash, created_at) VALUES (?, ?, 'raw', 'x', ?)",
           (user, f"raw-{uuid.uuid4().hex}@example.org", now))
db.execute("INSERT INTO chats (id, kind, title, created_by, created_at, last_seq, last_activity_us) VALUES (?, 'group', 'raw', ?, ?, 0, 0)",
           (chat, user, now))
db.execute("INSERT INTO chat_members (chat_id, user_id, role, joined_at, last_read_seq, joined_us) VALUES (?, ?, 'owner', ?, 0, 0)",
           (chat, user, now))

BUMP = ("UPDATE chats SET last_seq = last_seq + 1, last_activity_us = MAX(last_activity_us, ?) "
        "WHERE id = ? AND EXISTS (SELECT 1 FROM chat_members WHERE chat_id = ? AND user_id = ?) "
        "RETURNING last_seq")
INSERT = ("INSERT INTO messages (id, chat_id, seq, sender_id, content, role, rating, client_id, "
          "reply_to, sent_at, created_at, edited_at, deleted_at) "
          "VALUES (?, ?, ?, ?, ?, 'user', NULL, ?, NULL, ?, ?, NULL, NULL)")
CATCH_UP = ("UPDATE chat_members SET last_read_seq = ? "
            "WHERE chat_id = ? AND user_id = ? AND last_read_seq < ? - 1000")

latencies = []
started = time.perf_counter()
deadline = started + seconds
i = 0
while time.perf_counter() < deadline:
    t = time.perf_counter()
    db.execute("BEGIN")
    (seq,) = db.execute(BUMP, (i, chat, chat, user)).fetchone()
    db.execute(INSERT, (uuid.uuid4().bytes, chat, seq, user, f"bench message {i}",
                        uuid.uuid4().hex, now, now))
    db.execute(CATCH_UP, (seq, chat, user, seq))
    db.execute("COMMIT")
    latencies.append(time.perf_counter() - t)
    i += 1
elapsed = time.perf_counter() - started
latencies.sort()
pct = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000
print(f"sqlite {sqlite3.sqlite_version}, one connection: {i / elapsed:.0f} sends/s, "
      f"p50 {pct(0.5):.3f} ms, p99 {pct(0.99):.3f} ms ({i} sends in {elapsed:.1f} s)")
