#!/usr/bin/env python3
"""SQLite's own ceiling for Missive's send: the statements of one send
(crates/infra/src/repositories/messages/append.rs, append_sqlite) in a loop
on one connection, with the server's settings (WAL, synchronous=NORMAL,
foreign keys), against a migrated Missive database. One writer at a time is
all SQLite allows, so one connection is the ceiling for any number of
clients.

    python3 crates/bench/sqlite/send.py DATABASE_FILE [SECONDS]
        [--per-txn N] [--savepoints] [--multi-row] [--chats K]

By default (N = 1) each send is what the server runs today for a plain
message: BEGIN; the bump (BUMP_SQLITE: next seq, membership, the sender's
read position); the INSERT of every column, search_text included (its
FTS5 trigger indexes it); the sender's catch-up only when more than 1 000
behind (once every 1 001 messages here: the sender never reads); the
change-log row(s) (`record`); COMMIT.

  --per-txn N   N sends per transaction, each the same statements as above
                (the one-writer half of group commit: one BEGIN/COMMIT and
                one WAL commit per N messages; design §3.3).
  --savepoints  with --per-txn: each send inside SAVEPOINT … RELEASE, as
                §3.3's nested transactions per item.
  --multi-row   with --per-txn N: one bump per chat (last_seq + its count),
                ONE INSERT of the N messages and ONE INSERT of their N
                change rows (§3.3's "multi-row SQLite groups", step 5).
  --chats K     spread the sends over K chats of the sender (send i goes to
                chat i mod K; default 1).

Throughput counts messages; the latency percentiles are per transaction
(one send, or one group of N).
"""
import argparse
import sqlite3
import time
import uuid

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("database")
parser.add_argument("seconds", nargs="?", type=float, default=10.0)
parser.add_argument("--per-txn", type=int, default=1, metavar="N")
parser.add_argument("--savepoints", action="store_true")
parser.add_argument("--multi-row", action="store_true")
parser.add_argument("--chats", type=int, default=1, metavar="K")
args = parser.parse_args()
per_txn = max(1, args.per_txn)
if args.multi_row and args.savepoints:
    parser.error("--multi-row and --savepoints are two ways of grouping: pick one")

db = sqlite3.connect(args.database, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=NORMAL")
db.execute("PRAGMA foreign_keys=ON")

# SQLite's uuid columns hold 16-byte blobs; times are RFC 3339 text.
user = uuid.uuid4().bytes
now = "2026-01-01 00:00:00.000000+00:00"
db.execute("INSERT INTO users (id, email, full_name, password_hash, created_at) VALUES (?, ?, 'raw', 'x', ?)",
           (user, f"raw-{uuid.uuid4().hex}@example.org", now))
chats = [uuid.uuid4().bytes for _ in range(max(1, args.chats))]
for chat in chats:
    db.execute("INSERT INTO chats (id, kind, title, created_by, created_at, last_seq, last_activity_us) "
               "VALUES (?, 'group', 'raw', ?, ?, 0, 0)", (chat, user, now))
    db.execute("INSERT INTO chat_members (chat_id, user_id, role, joined_at, last_read_seq, joined_us) "
               "VALUES (?, ?, 'owner', ?, 0, 0)", (chat, user, now))

UNREAD_WINDOW = 1000
MESSAGE_CREATED, READ = 1, 6
# append.rs BUMP_SQLITE; the multi-row form adds the group's count.
BUMP = ("UPDATE chats SET last_seq = last_seq + ?, last_activity_us = MAX(last_activity_us, ?) "
        "WHERE id = ? AND EXISTS (SELECT 1 FROM chat_members WHERE chat_id = ? AND user_id = ?) "
        "RETURNING last_seq, "
        "(SELECT last_read_seq FROM chat_members WHERE chat_id = ? AND user_id = ?) AS read_seq")
# What SeaORM's insert of messages::ActiveModel writes (every column Set).
COLUMNS = ("id, chat_id, seq, sender_id, content, role, rating, client_id, reply_to, sent_at, "
           "created_at, edited_at, deleted_at, metadata, search_text, pinned_by, pinned_at, "
           "thread_root_id, reply_count, last_reply_seq, last_reply_at, thread_participants, "
           "mentions, mention_all, reaction_kinds, attachments")
ROW = "(?, ?, ?, ?, ?, 'user', NULL, ?, NULL, ?, ?, NULL, NULL, NULL, ?, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, 0, 0, NULL)"
CATCH_UP = ("UPDATE chat_members SET last_read_seq = ? "
            f"WHERE chat_id = ? AND user_id = ? AND last_read_seq < ? - {UNREAD_WINDOW}")
CHANGE = "(?, ?, ?, ?, ?, NULL)"


def insert_messages(rows):
    db.execute(f"INSERT INTO messages ({COLUMNS}) VALUES {', '.join([ROW] * len(rows))}",
               [v for row in rows for v in row])


def record(changes):
    db.execute("INSERT INTO changes (chat_id, kind, message_id, user_id, seq, detail) "
               f"VALUES {', '.join([CHANGE] * len(changes))}",
               [v for change in changes for v in change])


def message_row(chat, seq, i):
    content = f"bench message {i}"
    # index_text: lower-cased words separated by spaces.
    return (uuid.uuid4().bytes, chat, seq, user, content, uuid.uuid4().hex, now, now, content.lower())


def send_one(i):
    """append_sqlite's statements for one plain message (no BEGIN/COMMIT)."""
    chat = chats[i % len(chats)]
    seq, read_seq = db.execute(BUMP, (1, i, chat, chat, user, chat, user)).fetchone()
    row = message_row(chat, seq, i)
    insert_messages([row])
    changes = [(chat, MESSAGE_CREATED, row[0], None, None)]
    if read_seq < seq - UNREAD_WINDOW:
        if db.execute(CATCH_UP, (seq, chat, user, seq)).rowcount > 0:
            changes.append((chat, READ, None, user, seq))
    record(changes)


def send_group_multi_row(first):
    """N messages: one bump per chat, one INSERT of N rows, one of N changes."""
    by_chat = {}
    for i in range(first, first + per_txn):
        by_chat.setdefault(i % len(chats), []).append(i)
    rows, changes = [], []
    for k, items in by_chat.items():
        chat = chats[k]
        last, read_seq = db.execute(BUMP, (len(items), items[-1], chat, chat, user, chat, user)).fetchone()
        base = last - len(items)
        for n, i in enumerate(items, start=1):
            rows.append(message_row(chat, base + n, i))
            changes.append((chat, MESSAGE_CREATED, rows[-1][0], None, None))
        # As if one by one: the first message more than 1 000 ahead moves it.
        first_ahead = max(base + 1, read_seq + UNREAD_WINDOW + 1)
        if first_ahead <= last and db.execute(CATCH_UP, (first_ahead, chat, user, first_ahead)).rowcount > 0:
            changes.append((chat, READ, None, user, first_ahead))
    insert_messages(rows)
    record(changes)


latencies = []
started = time.perf_counter()
deadline = started + args.seconds
i = 0
while time.perf_counter() < deadline:
    t = time.perf_counter()
    db.execute("BEGIN")
    if args.multi_row:
        send_group_multi_row(i)
        i += per_txn
    else:
        for _ in range(per_txn):
            if args.savepoints:
                db.execute("SAVEPOINT item")
            send_one(i)
            if args.savepoints:
                db.execute("RELEASE item")
            i += 1
    db.execute("COMMIT")
    latencies.append(time.perf_counter() - t)
elapsed = time.perf_counter() - started
latencies.sort()
pct = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000
shape = "one send per transaction" if per_txn == 1 and not args.multi_row else (
    f"{per_txn} per transaction" + (", multi-row" if args.multi_row else "")
    + (", savepoints" if args.savepoints else ""))
print(f"sqlite {sqlite3.sqlite_version}, one connection, {shape}, {len(chats)} chat(s): "
      f"{i / elapsed:.0f} sends/s, per transaction p50 {pct(0.5):.3f} ms, p99 {pct(0.99):.3f} ms "
      f"({i} sends in {elapsed:.1f} s)")
