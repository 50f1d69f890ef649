// Missive's web client: one ES module, no framework, no request beyond
// this server. Every user-supplied string reaches the page through
// `textContent` (never HTML), so message text, names and titles render as
// text whatever they contain. It follows the sync algorithm of the README:
// a token first, then state over REST, then one WebSocket resumed with
// `?since=` the last token applied.

const API = "/api/v1";
const app = document.getElementById("app");

const state = {
  token: sessionStorage.getItem("missive.access_token"),
  me: null,
  chats: new Map(), // id → chat view
  messages: new Map(), // chat id → Map(message id → message)
  history: new Map(), // chat id → {oldest, complete}
  names: new Map(), // user id → full name
  current: null,
  sync: null, // the last sync token applied
  socket: null,
  retry: 0,
  live: "offline",
  editing: null, // {id, draft} of the own message being edited
  typing: new Map(), // chat id → {user, until}
  typedAt: 0,
};

// ---------------------------------------------------------------- helpers

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function api(method, path, body) {
  const headers = { accept: "application/json" };
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(API + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401 && state.token) signOut();
    throw new ApiError(response.status, data);
  }
  return data;
}

function messagesOf(chatId) {
  if (!state.messages.has(chatId)) state.messages.set(chatId, new Map());
  return state.messages.get(chatId);
}

async function nameOf(userId) {
  if (state.names.has(userId)) return state.names.get(userId);
  try {
    const user = await api("GET", `/users/${encodeURIComponent(userId)}`);
    state.names.set(userId, user.full_name);
    return user.full_name;
  } catch {
    return "someone";
  }
}

function chatTitle(chat) {
  if (chat.title) return chat.title;
  const other = (chat.members || []).find((m) => m.user_id !== state.me?.id);
  return (other && state.names.get(other.user_id)) || "Direct chat";
}

function syncKey() {
  return `missive.sync.${state.me.id}`;
}

function storeToken(token) {
  if (!token) return;
  state.sync = token;
  localStorage.setItem(syncKey(), token);
}

// ------------------------------------------------------------------ auth

function signOut() {
  state.token = null;
  sessionStorage.removeItem("missive.access_token");
  if (state.socket) state.socket.close(1000);
  state.socket = null;
  renderAuth();
}

function renderAuth(message = "") {
  const error = el("p", { class: "error", role: "alert", text: message });
  const email = el("input", { id: "email", type: "email", autocomplete: "username", required: true });
  const password = el("input", { id: "password", type: "password", autocomplete: "current-password", required: true, minlength: 8 });
  const name = el("input", { id: "full-name", autocomplete: "name" });
  async function submit(kind) {
    error.textContent = "";
    try {
      const body = { email: email.value, password: password.value };
      if (kind === "register") body.full_name = name.value || email.value.split("@")[0];
      const answer = await api("POST", `/auth/${kind}`, body);
      state.token = answer.access_token;
      sessionStorage.setItem("missive.access_token", state.token);
      await start();
    } catch (e) {
      error.textContent = e.problem?.errors?.map((f) => `${f.field}: ${f.message}`).join("; ") || e.message;
    }
  }
  const form = el(
    "form",
    { class: "auth", "aria-labelledby": "auth-title", onsubmit: (e) => { e.preventDefault(); submit("login"); } },
    el("h1", { id: "auth-title", text: "Missive" }),
    el("label", { for: "email", text: "E-mail" }), email,
    el("label", { for: "password", text: "Password" }), password,
    el("label", { for: "full-name", text: "Name (to register)" }), name,
    el("div", { class: "actions" },
      el("button", { type: "submit", class: "primary", text: "Sign in" }),
      el("button", { type: "button", text: "Register", onclick: () => submit("register") })),
    error,
  );
  app.replaceChildren(el("main", {}, form));
  email.focus();
}

// ----------------------------------------------------------------- start

async function start() {
  state.me = await api("GET", "/users/me");
  state.names.set(state.me.id, state.me.full_name);
  // 1. The token first, then the state: changes in between come again.
  const saved = localStorage.getItem(syncKey());
  state.sync = saved || (await api("GET", "/sync")).next_token;
  if (saved) {
    // A token kept from an earlier visit: the state is reloaded anyway
    // (this client keeps none across visits), so take a fresh one.
    state.sync = (await api("GET", "/sync")).next_token;
  }
  storeToken(state.sync);
  await loadChats();
  renderShell();
  connect();
}

async function loadChats() {
  let cursor = null;
  do {
    const page = await api("GET", `/chats?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    for (const chat of page.items) state.chats.set(chat.id, chat);
    cursor = page.next_cursor;
  } while (cursor);
  await Promise.all([...state.chats.values()].map(learnNames));
}

async function learnNames(chat) {
  if (chat.kind !== "direct") return;
  const other = (chat.members || []).find((m) => m.user_id !== state.me.id);
  if (other) await nameOf(other.user_id);
}

async function loadHistory(chatId, older = false) {
  const known = state.history.get(chatId) || { oldest: null, complete: false };
  if (older && (known.complete || known.oldest === null)) return;
  const before = older ? `&before_seq=${known.oldest}` : "";
  const page = await api("GET", `/chats/${chatId}/messages?limit=50${before}`);
  const map = messagesOf(chatId);
  for (const message of page.items) if (!map.has(message.id)) map.set(message.id, message);
  const oldest = page.items.length ? page.items[0].seq : known.oldest;
  state.history.set(chatId, {
    oldest: known.oldest === null ? oldest : Math.min(known.oldest, oldest ?? known.oldest),
    complete: !page.has_more,
  });
}

// ------------------------------------------------------------- live sync

function connect() {
  if (!state.token || !state.me) return;
  setLive("connecting");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${location.host}${API}/ws?access_token=${encodeURIComponent(state.token)}&since=${encodeURIComponent(state.sync)}`;
  const socket = new WebSocket(url);
  state.socket = socket;
  socket.onmessage = (frame) => {
    let event;
    try {
      event = JSON.parse(frame.data);
    } catch {
      return;
    }
    apply(event);
    if (event.token) storeToken(event.token);
    if (event.type === "synced" || event.type === "ready") {
      state.retry = 0;
      setLive("live");
    }
  };
  socket.onclose = (close) => {
    if (state.socket !== socket) return;
    state.socket = null;
    if (!state.token) return;
    if (close.code === 4010 || close.code === 4001) {
      // The token expired (reload everything) or the credentials ended.
      if (close.code === 4001) return signOut();
      localStorage.removeItem(syncKey());
      location.reload();
      return;
    }
    setLive("offline");
    state.retry = Math.min(state.retry + 1, 6);
    setTimeout(connect, 250 * 2 ** state.retry);
  };
}

function setLive(status) {
  state.live = status;
  const node = document.getElementById("live-status");
  if (node) node.textContent = status === "live" ? "Live" : status === "connecting" ? "Connecting…" : "Offline — reconnecting";
}

/** Applies one event; idempotent, so replays and overlaps are harmless. */
function apply(event) {
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
      if (chat && event.type === "message.created") {
        chat.last_seq = Math.max(chat.last_seq, message.seq);
        chat.last_message = message;
        if (message.sender_id !== state.me.id && state.current !== chat.id) chat.unread_count += 1;
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
    case "chat.created":
    case "chat.updated": {
      const known = state.chats.get(event.chat.id);
      const chat = { ...event.chat };
      if (known) {
        chat.unread_count = known.unread_count;
        chat.mention_count = known.mention_count;
      }
      state.chats.set(chat.id, chat);
      learnNames(chat).then(renderChats);
      break;
    }
    case "chat.deleted":
      forget(event.chat_id);
      break;
    case "member.added":
      if (event.user_id === state.me.id && !state.chats.has(event.chat_id)) {
        api("GET", `/chats/${event.chat_id}`)
          .then((chat) => {
            state.chats.set(chat.id, chat);
            return learnNames(chat);
          })
          .then(render)
          .catch(() => {});
      }
      break;
    case "member.removed":
      if (event.user_id === state.me.id) forget(event.chat_id);
      break;
    case "typing":
      if (event.user_id !== state.me.id) {
        state.typing.set(event.chat_id, { user: event.user_id, until: Date.now() + 5000 });
        nameOf(event.user_id);
        setTimeout(renderTyping, 5100);
        renderTyping();
      }
      return;
    case "chat.read": {
      const chat = state.chats.get(event.chat_id);
      if (!chat) break;
      const member = (chat.members || []).find((m) => m.user_id === event.user_id);
      if (member) member.last_read_seq = Math.max(member.last_read_seq || 0, event.last_read_seq);
      if (event.user_id === state.me.id && event.last_read_seq >= chat.last_seq) chat.unread_count = 0;
      break;
    }
    default:
      return;
  }
  render();
}

function forget(chatId) {
  state.chats.delete(chatId);
  state.messages.delete(chatId);
  state.history.delete(chatId);
  if (state.current === chatId) state.current = null;
}

// ---------------------------------------------------------------- render

function renderShell() {
  const shell = el("div", { class: "shell", id: "shell" },
    el("nav", { class: "chats", "aria-label": "Chats" },
      newChatForm(),
      el("ul", { id: "chat-list", role: "list" })),
    el("main", { class: "conversation", id: "conversation", "aria-live": "off" }));
  app.replaceChildren(
    el("header", { class: "top" },
      el("strong", { text: "Missive" }),
      el("span", { id: "live-status", class: "status", role: "status", text: "" }),
      el("span", { class: "who", text: state.me.full_name }),
      el("button", { type: "button", onclick: signOut, text: "Sign out" })),
    shell);
  setLive(state.live);
  render();
}

function newChatForm() {
  const emails = el("input", { id: "new-chat-emails", type: "text", placeholder: "e-mail (several: a group)", "aria-label": "E-mail addresses of the people to chat with, comma-separated" });
  const title = el("input", { id: "new-chat-title", type: "text", placeholder: "group title (optional)", "aria-label": "Group title" });
  const error = el("p", { class: "error", role: "alert" });
  return el("form", {
    class: "new-chat",
    "aria-label": "Start a chat",
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = "";
      try {
        const addresses = emails.value.split(",").map((a) => a.trim()).filter(Boolean);
        const people = [];
        for (const address of addresses) people.push(await api("GET", `/users?email=${encodeURIComponent(address)}`));
        const group = people.length !== 1 || title.value.trim();
        const chat = await api("POST", "/chats", group
          ? { kind: "group", title: title.value.trim() || "Group", member_ids: people.map((p) => p.id) }
          : { kind: "direct", member_ids: [people[0].id] });
        for (const p of people) state.names.set(p.id, p.full_name);
        state.chats.set(chat.id, chat);
        emails.value = "";
        title.value = "";
        await openChat(chat.id);
      } catch (err) {
        error.textContent = err.status === 404 ? "No user with that e-mail." : err.message;
      }
    },
  }, emails, title, el("button", { type: "submit", text: "Start chat" }), error);
}

function render() {
  renderChats();
  renderConversation();
}

function renderChats() {
  const list = document.getElementById("chat-list");
  if (!list) return;
  const chats = [...state.chats.values()].sort((a, b) =>
    (b.last_message?.created_at || b.created_at).localeCompare(a.last_message?.created_at || a.created_at));
  list.replaceChildren(...chats.map((chat) => {
    const preview = chat.last_message ? (chat.last_message.deleted ? "(deleted)" : chat.last_message.content) : "";
    return el("li", {},
      el("button", {
        type: "button",
        "aria-current": state.current === chat.id ? "true" : "false",
        onclick: () => openChat(chat.id),
      },
      el("span", { class: "title" }, chatTitle(chat), el("span", { class: "preview", text: preview })),
      chat.unread_count > 0 ? el("span", { class: "badge", "aria-label": `${chat.unread_count} unread`, text: String(chat.unread_count) }) : null));
  }));
  if (!chats.length) list.replaceChildren(el("li", { class: "empty", text: "No chats yet: start one above." }));
}

async function openChat(chatId) {
  state.current = chatId;
  document.getElementById("shell")?.classList.add("open");
  if (!state.history.has(chatId)) await loadHistory(chatId);
  render();
  document.getElementById("composer-input")?.focus();
  markRead(chatId);
}

let readTimer = null;
function markRead(chatId) {
  clearTimeout(readTimer);
  readTimer = setTimeout(async () => {
    const chat = state.chats.get(chatId);
    if (!chat || document.hidden) return;
    try {
      const answer = await api("POST", `/chats/${chatId}/read`, { seq: chat.last_seq });
      chat.unread_count = answer.unread_count;
      renderChats();
    } catch {
      // Retried with the next message seen.
    }
  }, 300);
}

function renderConversation() {
  const main = document.getElementById("conversation");
  if (!main) return;
  const chat = state.current && state.chats.get(state.current);
  if (!chat) {
    main.replaceChildren(el("p", { class: "empty", text: "Pick a chat, or start one." }));
    return;
  }
  const previous = document.getElementById("message-list");
  const atBottom = !previous || previous.scrollHeight - previous.scrollTop - previous.clientHeight < 40;
  const oldTop = previous?.scrollTop;
  const messages = [...messagesOf(chat.id).values()].sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity));
  const list = el("div", { class: "messages", id: "message-list", role: "log", "aria-label": `Messages of ${chatTitle(chat)}`, tabindex: "0" },
    ...messages.map(messageNode));
  list.addEventListener("scroll", () => {
    const jump = document.getElementById("jump");
    if (jump) jump.hidden = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  });
  list.addEventListener("scroll", async () => {
    if (list.scrollTop < 40) {
      const height = list.scrollHeight;
      const had = messagesOf(chat.id).size;
      await loadHistory(chat.id, true);
      if (messagesOf(chat.id).size !== had) {
        renderConversation();
        const again = document.getElementById("message-list");
        if (again) again.scrollTop = again.scrollHeight - height;
      }
    }
  });
  const input = el("textarea", { id: "composer-input", rows: "1", placeholder: "Write a message", "aria-label": "Message", maxlength: "4000" });
  input.addEventListener("input", () => announceTyping(chat.id));
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      input.form.requestSubmit();
    }
  });
  const hadFocus = document.activeElement?.id === "composer-input";
  const editFocus = document.activeElement?.id === "edit-input";
  const draft = document.getElementById("composer-input")?.value || "";
  input.value = draft;
  main.replaceChildren(
    el("h2", {},
      el("button", { type: "button", class: "back", "aria-label": "Back to chats", onclick: () => { state.current = null; document.getElementById("shell")?.classList.remove("open"); render(); }, text: "←" }),
      " ", chatTitle(chat)),
    list,
    el("button", { type: "button", id: "jump", class: "jump", hidden: atBottom, text: "Jump to newest ↓",
      onclick: () => { const l = document.getElementById("message-list"); if (l) l.scrollTop = l.scrollHeight; } }),
    el("p", { class: "seen", id: "seen", text: seenBy(chat, messages) }),
    el("p", { class: "typing", id: "typing", role: "status", "aria-live": "polite" }),
    el("form", { class: "composer", onsubmit: (e) => { e.preventDefault(); send(chat.id, input); } },
      input, el("button", { type: "submit", class: "primary", text: "Send" })));
  if (hadFocus) input.focus();
  if (editFocus) document.getElementById("edit-input")?.focus();
  if (atBottom) list.scrollTop = list.scrollHeight;
  else if (oldTop !== undefined) list.scrollTop = oldTop;
  renderTyping();
  if (chat.unread_count > 0) markRead(chat.id);
}

/** "Seen by …" for your newest message: the members whose read position
 *  reached it (from the chat's members and `chat.read` events). */
function seenBy(chat, messages) {
  const mine = [...messages].reverse().find((m) => m.sender_id === state.me.id && !m.pending && m.seq);
  if (!mine) return "";
  const readers = (chat.members || [])
    .filter((m) => m.user_id !== state.me.id && (m.last_read_seq || 0) >= mine.seq)
    .map((m) => state.names.get(m.user_id) || "someone");
  return readers.length ? `Seen by ${readers.join(", ")}` : "";
}

function renderTyping() {
  const line = document.getElementById("typing");
  if (!line) return;
  const typing = state.current && state.typing.get(state.current);
  const active = typing && typing.until > Date.now();
  line.textContent = active ? `${state.names.get(typing.user) || "Someone"} is typing…` : "";
}

function announceTyping(chatId) {
  // The server relays at most one a second per chat; every 3 s is plenty.
  if (Date.now() - state.typedAt < 3000 || state.socket?.readyState !== WebSocket.OPEN) return;
  state.typedAt = Date.now();
  state.socket.send(JSON.stringify({ type: "typing", chat_id: chatId }));
}

function messageNode(message) {
  const mine = message.sender_id === state.me.id;
  const classes = ["message"];
  if (mine) classes.push("mine");
  if (message.deleted) classes.push("deleted");
  if (message.pending) classes.push("pending");
  const who = state.names.get(message.sender_id) || (mine ? state.me.full_name : "");
  if (!state.names.has(message.sender_id)) nameOf(message.sender_id).then(() => renderConversation());
  const editing = state.editing?.id === message.id;
  const actions = mine && !message.deleted && !message.pending && !editing
    ? el("span", { class: "actions" },
      el("button", { type: "button", class: "link", "aria-label": "Edit this message", text: "Edit",
        onclick: () => { state.editing = { id: message.id, draft: message.content }; renderConversation(); document.getElementById("edit-input")?.focus(); } }),
      el("button", { type: "button", class: "link", "aria-label": "Delete this message", text: "Delete",
        onclick: () => removeMessage(message) }))
    : null;
  const body = editing ? editor(message) : (message.deleted ? "This message was deleted." : message.content);
  return el("article", { class: classes.join(" "), "data-seq": message.seq ?? "" },
    body,
    el("span", { class: "meta" },
      [who, message.role !== "user" ? message.role : null, message.edited_at && !message.deleted ? "edited" : null,
        message.failed ? "not sent — press Send again" : null].filter(Boolean).join(" · ")),
    message.deleted || message.pending ? null : reactionBar(message),
    actions);
}

const QUICK_REACTIONS = ["👍", "❤️", "🎉"];

/** The message's reactions as toggles (pressed: yours), and quick ones. */
function reactionBar(message) {
  const known = message.reactions || [];
  const shown = [...known.map((r) => r.reaction), ...QUICK_REACTIONS.filter((q) => !known.some((r) => r.reaction === q))];
  return el("span", { class: "reactions", role: "group", "aria-label": "Reactions" },
    ...shown.map((reaction) => {
      const summary = known.find((r) => r.reaction === reaction);
      const count = summary?.count || 0;
      return el("button", {
        type: "button",
        class: count ? "reaction" : "reaction quick",
        "aria-pressed": summary?.me ? "true" : "false",
        "aria-label": `${reaction} ${count} — ${summary?.me ? "take back" : "react"}`,
        onclick: () => toggleReaction(message, reaction, !summary?.me),
      }, count ? `${reaction} ${count}` : reaction);
    }));
}

async function toggleReaction(message, reaction, add) {
  try {
    await api(add ? "PUT" : "DELETE", `/messages/${message.id}/reactions/${encodeURIComponent(reaction)}`);
  } catch {
    // The server's answer (an event) is the truth either way.
  }
}

function editor(message) {
  const input = el("textarea", { id: "edit-input", "aria-label": "Edit the message", rows: "2", maxlength: "4000" });
  input.value = state.editing.draft;
  input.addEventListener("input", () => { state.editing.draft = input.value; });
  const cancel = () => { state.editing = null; renderConversation(); document.getElementById("composer-input")?.focus(); };
  const save = async () => {
    const content = input.value.trim();
    if (!content) return;
    try {
      const stored = await api("PATCH", `/messages/${message.id}`, { content });
      stored.reactions = message.reactions;
      messagesOf(message.chat_id).set(stored.id, stored);
      cancel();
    } catch (e) {
      input.setAttribute("aria-invalid", "true");
    }
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") cancel();
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); save(); }
  });
  return el("span", { class: "editor" }, input,
    el("button", { type: "button", class: "primary", text: "Save", onclick: save }),
    el("button", { type: "button", text: "Cancel", onclick: cancel }));
}

async function removeMessage(message) {
  try {
    await api("DELETE", `/messages/${message.id}`);
    // A tombstone keeps its place; its own event follows.
    Object.assign(message, { deleted: true, content: "", reactions: [], pinned: null });
  } catch {
    // Already gone, or not allowed: the next event shows the truth.
  }
  renderConversation();
}

async function send(chatId, input) {
  const content = input.value.trim();
  if (!content) return;
  const clientId = crypto.randomUUID();
  const pending = { id: `pending-${clientId}`, chat_id: chatId, sender_id: state.me.id, content, role: "user", client_id: clientId, pending: true, reactions: [] };
  messagesOf(chatId).set(pending.id, pending);
  input.value = "";
  renderConversation();
  try {
    const stored = await api("POST", `/chats/${chatId}/messages`, { content, client_id: clientId });
    const map = messagesOf(chatId);
    map.delete(pending.id);
    if (!map.has(stored.id)) map.set(stored.id, stored);
  } catch (e) {
    pending.failed = true;
    input.value = content;
  }
  render();
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && state.current) markRead(state.current);
});

if (state.token) {
  start().catch(() => signOut());
} else {
  renderAuth();
}
