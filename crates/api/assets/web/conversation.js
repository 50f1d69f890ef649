// The open conversation: history with scroll-back, the composer
// (optimistic send, safe retries by client_id), typing, "seen by", and
// marking read.

import { el } from "./dom.js";
import { messageNode } from "./message.js";
import { changed, chatTitle, client, loadHistory, messagesOf, state } from "./store.js";

export async function openChat(chatId) {
  state.current = chatId;
  document.getElementById("shell")?.classList.add("open");
  if (!state.history.has(chatId)) await loadHistory(chatId);
  changed();
  document.getElementById("composer-input")?.focus();
  markRead(chatId);
}

let readTimer = null;
export function markRead(chatId) {
  clearTimeout(readTimer);
  readTimer = setTimeout(async () => {
    const chat = state.chats.get(chatId);
    if (!chat || document.hidden) return;
    try {
      const answer = await client.request("POST", `/chats/${chatId}/read`, { seq: chat.last_seq });
      chat.unread_count = answer.unread_count;
      changed("chats");
    } catch {
      // Retried with the next message seen.
    }
  }, 300);
}

export function renderConversation() {
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
      el("button", { type: "button", class: "back", "aria-label": "Back to chats", onclick: () => { state.current = null; document.getElementById("shell")?.classList.remove("open"); changed(); }, text: "←" }),
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

export function renderTyping() {
  const line = document.getElementById("typing");
  if (!line) return;
  const typing = state.current && state.typing.get(state.current);
  const active = typing && typing.until > Date.now();
  line.textContent = active ? `${state.names.get(typing.user) || "Someone"} is typing…` : "";
}

function announceTyping(chatId) {
  // The server relays at most one a second per chat; every 3 s is plenty.
  if (Date.now() - state.typedAt < 3000) return;
  if (client.command({ type: "typing", chat_id: chatId })) state.typedAt = Date.now();
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
    const stored = await client.request("POST", `/chats/${chatId}/messages`, { content, client_id: clientId });
    const map = messagesOf(chatId);
    map.delete(pending.id);
    if (!map.has(stored.id)) map.set(stored.id, stored);
  } catch {
    pending.failed = true;
    input.value = content;
  }
  changed();
}
