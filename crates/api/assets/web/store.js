// The client's state and the one function that changes it from events.
// Views subscribe with `onChange` and read `state`; nothing here touches
// the DOM.

import { Missive } from "./sdk.js";

export const state = {
  me: null,
  chats: new Map(), // id → chat view
  messages: new Map(), // chat id → Map(message id → message)
  history: new Map(), // chat id → {oldest, complete}
  names: new Map(), // user id → full name
  current: null,
  sync: null, // the last sync token applied
  live: "offline",
  editing: null, // {id, draft} of the own message being edited
  typing: new Map(), // chat id → {user, until}
  typedAt: 0,
  picker: null, // the message whose reaction picker is open
  unfolded: new Set(), // messages whose metadata is unfolded
  panel: null, // the side panel: {kind: "thread"|"members"|"pins"|"search", …}
};

export const client = new Missive({ token: sessionStorage.getItem("missive.access_token") });

const listeners = [];
/** `fn(what)` after every change: what is "chats", "messages" or "typing". */
export function onChange(fn) {
  listeners.push(fn);
}
export function changed(what = "all") {
  for (const fn of listeners) fn(what);
}

// Events re-render once per frame, however many arrive in it (a replay
// after a long disconnect brings hundreds at once).
let dirty = new Set();
function soon(what = "all") {
  if (!dirty.size) requestAnimationFrame(flush);
  dirty.add(what);
}
function flush() {
  const what = dirty;
  dirty = new Set();
  if (what.has("all") || (what.has("chats") && what.has("messages"))) changed("all");
  else for (const part of what) changed(part);
}

export function messagesOf(chatId) {
  if (!state.messages.has(chatId)) state.messages.set(chatId, new Map());
  return state.messages.get(chatId);
}

/** A user's full name, fetched once. */
export async function nameOf(userId) {
  if (state.names.has(userId)) return state.names.get(userId);
  try {
    const user = await client.request("GET", `/users/${encodeURIComponent(userId)}`);
    state.names.set(userId, user.full_name);
    return user.full_name;
  } catch {
    return "someone";
  }
}

export function chatTitle(chat) {
  if (chat.title) return chat.title;
  const other = (chat.members || []).find((m) => m.user_id !== state.me?.id);
  return (other && state.names.get(other.user_id)) || "Direct chat";
}

function syncKey() {
  return `missive.sync.${state.me.id}`;
}

export function storeToken(token) {
  if (!token) return;
  state.sync = token;
  localStorage.setItem(syncKey(), token);
}

export function dropToken() {
  localStorage.removeItem(syncKey());
}

export async function loadChats() {
  for (const chat of await client.all("/chats")) state.chats.set(chat.id, chat);
  await Promise.all([...state.chats.values()].map(learnNames));
}

/** The names a chat's title needs (a direct chat's other member). */
export async function learnNames(chat) {
  if (chat.kind !== "direct") return;
  const other = (chat.members || []).find((m) => m.user_id !== state.me.id);
  if (other) await nameOf(other.user_id);
}

/** Every member of a chat with their names: a chat's view embeds only the
 *  first 50 members, so a bigger group's are paged in. */
export async function loadMembers(chat) {
  if ((chat.member_count ?? 0) > (chat.members || []).length) {
    chat.members = await client.all(`/chats/${chat.id}/members`, 200);
  }
  await Promise.all((chat.members || []).map((m) => nameOf(m.user_id)));
}

export async function loadHistory(chatId, older = false) {
  const known = state.history.get(chatId) || { oldest: null, complete: false };
  if (older && (known.complete || known.oldest === null)) return;
  const before = older ? `&before_seq=${known.oldest}` : "";
  const page = await client.request("GET", `/chats/${chatId}/messages?limit=${older ? 200 : 50}${before}`);
  const map = messagesOf(chatId);
  for (const message of page.items) if (!map.has(message.id)) map.set(message.id, message);
  const oldest = page.items.length ? page.items[0].seq : known.oldest;
  state.history.set(chatId, {
    oldest: known.oldest === null ? oldest : Math.min(known.oldest, oldest ?? known.oldest),
    complete: !page.has_more,
  });
}

/** Applies one event; idempotent, so replays and overlaps are harmless. */
export function apply(event) {
  switch (event.type) {
    case "message.created":
    case "message.updated":
    case "message.deleted":
    case "message.pinned":
    case "message.unpinned": {
      const message = event.message;
      const map = messagesOf(message.chat_id);
      const known = map.get(message.id);
      if (known && !message.deleted && !Array.isArray(message.reactions)) message.reactions = known.reactions;
      if (known && message.reactions?.length === 0 && known.reactions?.length && !message.deleted) message.reactions = known.reactions;
      // A pending copy (same client id) is replaced by the stored one.
      for (const [id, pending] of map) {
        if (pending.pending && pending.client_id && pending.client_id === message.client_id) map.delete(id);
      }
      map.set(message.id, message);
      const chat = state.chats.get(message.chat_id);
      if (event.type === "message.created" && state.typing.get(message.chat_id)?.user === message.sender_id) {
        // Their message is what they were typing.
        state.typing.delete(message.chat_id);
      }
      // Only a message past the chat's last seq is new: one counted in
      // the chat's view already (or replayed) is not counted again.
      if (chat && event.type === "message.created" && message.seq > chat.last_seq) {
        chat.last_seq = message.seq;
        chat.last_message = message;
        if (message.sender_id !== state.me.id && state.current !== chat.id) {
          chat.unread_count += 1;
          if (mentionsMe(message)) chat.mention_count = (chat.mention_count || 0) + 1;
        }
      }
      if (chat && chat.last_message?.id === message.id) chat.last_message = message;
      break;
    }
    case "reaction.added":
    case "reaction.removed": {
      const message = messagesOf(event.chat_id).get(event.message_id);
      if (!message) break;
      const list = (message.reactions || []).filter((r) => r.reaction !== event.reaction);
      const before = (message.reactions || []).find((r) => r.reaction === event.reaction);
      const me = event.user_id === state.me.id ? event.type === "reaction.added" : before?.me || false;
      if (event.count > 0) list.push({ reaction: event.reaction, count: event.count, me });
      message.reactions = list;
      break;
    }
    case "thread.updated": {
      const root = messagesOf(event.chat_id).get(event.root_id);
      if (root) root.thread = event.thread;
      break;
    }
    case "chat.created":
    case "chat.updated": {
      const known = state.chats.get(event.chat.id);
      const chat = { ...event.chat };
      if (known) {
        chat.unread_count = known.unread_count;
        chat.mention_count = known.mention_count;
      }
      state.chats.set(chat.id, chat);
      learnNames(chat).then(() => soon("chats"));
      break;
    }
    case "chat.deleted":
      forget(event.chat_id);
      break;
    case "member.added":
    case "member.removed":
      if (event.user_id === state.me.id && event.type === "member.removed") {
        forget(event.chat_id);
        break;
      }
      if (state.chats.has(event.chat_id)) {
        // Roles and members as the server has them now.
        refreshChat(event.chat_id);
      } else if (event.type === "member.added" && event.user_id === state.me.id) {
        client.request("GET", `/chats/${event.chat_id}`)
          .then((chat) => {
            state.chats.set(chat.id, chat);
            return learnNames(chat);
          })
          .then(() => soon())
          .catch(() => {});
      }
      break;
    case "typing":
      if (event.user_id !== state.me.id) {
        state.typing.set(event.chat_id, { user: event.user_id, until: Date.now() + 5000 });
        nameOf(event.user_id);
        setTimeout(() => soon("typing"), 5100);
        soon("typing");
      }
      return;
    case "chat.read": {
      const chat = state.chats.get(event.chat_id);
      if (!chat) break;
      const member = (chat.members || []).find((m) => m.user_id === event.user_id);
      if (member) member.last_read_seq = Math.max(member.last_read_seq || 0, event.last_read_seq);
      if (event.user_id === state.me.id && event.last_read_seq >= chat.last_seq) {
        chat.unread_count = 0;
        chat.mention_count = 0;
      }
      break;
    }
    default:
      return;
  }
  soon();
  if (event.type === "message.created") soon("typing");
}

/** Whether a message mentions the signed-in user (by id or everyone). */
export function mentionsMe(message) {
  return message.sender_id !== state.me.id && (message.mention_all || (message.mentions || []).includes(state.me.id));
}

/** The chat (members and roles) reloaded from the server. */
export async function refreshChat(chatId) {
  try {
    const chat = await client.request("GET", `/chats/${chatId}`);
    const known = state.chats.get(chatId);
    if (known) Object.assign(known, { ...chat, unread_count: known.unread_count, mention_count: known.mention_count });
    else state.chats.set(chat.id, chat);
    await loadMembers(state.chats.get(chatId));
    changed();
  } catch {
    // Gone or no longer ours: its own event says so.
  }
}

/** The signed-in user's role in a chat: "owner", "admin", "member". */
export function myRole(chat) {
  return (chat.members || []).find((m) => m.user_id === state.me.id)?.role || "member";
}

export function forget(chatId) {
  state.chats.delete(chatId);
  state.messages.delete(chatId);
  state.history.delete(chatId);
  if (state.current === chatId) {
    state.current = null;
    state.panel = null;
  }
}
