// The open conversation: a header with the chat's tools, the virtual
// history (scroll back for older messages; thread replies live in the
// thread panel), jump to newest, "seen by", typing, and the composer.
// The frame is built once per chat; changes update its parts, so the
// draft, the focus and the scroll position survive live events.

import { composer } from "./composer.js";
import { el } from "./dom.js";
import { announce, messageNode, openThread } from "./message.js";
import { changed, chatTitle, client, loadHistory, loadMembers, messagesOf, state } from "./store.js";
import { Timeline } from "./timeline.js";

let frame = null; // {chatId, timeline, title, seen, jump}

export async function openChat(chatId) {
  state.current = chatId;
  state.editing = null;
  state.picker = null;
  if (state.panel && state.panel.kind !== "search") state.panel = null;
  document.getElementById("shell")?.classList.add("open");
  try {
    if (!state.history.has(chatId)) await loadHistory(chatId);
    announce("");
  } catch (e) {
    announce(`Could not load the messages (${e.message}); pick the chat again to retry.`);
  }
  changed();
  const chat = state.chats.get(chatId);
  if (chat) loadMembers(chat).then(() => changed("messages")).catch(() => {});
  document.getElementById("composer-input")?.focus();
  markRead(chatId);
}

export function closeChat() {
  state.current = null;
  state.panel = null;
  document.getElementById("shell")?.classList.remove("open");
  changed();
}

let readTimer = null;
export function markRead(chatId) {
  clearTimeout(readTimer);
  readTimer = setTimeout(async () => {
    const chat = state.chats.get(chatId);
    if (!chat || document.hidden || state.current !== chatId) return;
    try {
      const answer = await client.request("POST", `/chats/${chatId}/read`, { seq: chat.last_seq });
      chat.unread_count = answer.unread_count;
      chat.mention_count = answer.mention_count ?? 0;
      changed("chats");
    } catch {
      // Retried with the next message seen.
    }
  }, 300);
}

/** The main timeline: messages that are not thread replies, by seq
 *  (pending ones last). */
export function timelineOf(chatId) {
  return [...messagesOf(chatId).values()]
    .filter((m) => !m.thread_root_id)
    .sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity));
}

export function renderConversation() {
  const main = document.getElementById("conversation");
  if (!main) return;
  const chat = state.current && state.chats.get(state.current);
  if (!chat) {
    frame = null;
    main.replaceChildren(el("p", { class: "empty", text: "Pick a chat, or start one." }));
    return;
  }
  if (!frame || frame.chatId !== chat.id || !main.contains(frame.timeline.element)) frame = build(main, chat);
  frame.title.textContent = chatTitle(chat);
  const members = chat.member_count ?? (chat.members || []).length;
  frame.count.textContent = chat.kind === "group" ? `${members} ${members === 1 ? "member" : "members"}` : "";
  frame.timeline.element.setAttribute("aria-label", `Messages of ${chatTitle(chat)}`);
  for (const [kind, button] of frame.tools) button.setAttribute("aria-pressed", state.panel?.kind === kind ? "true" : "false");
  frame.timeline.refresh();
  frame.seen.textContent = seenBy(chat);
  renderTyping();
  if (chat.unread_count > 0) markRead(chat.id);
}

function build(main, chat) {
  const chatId = chat.id;
  let loading = false;
  const jump = el("button", { type: "button", id: "jump", class: "jump", hidden: true, text: "Jump to newest ↓",
    "aria-keyshortcuts": "End", onclick: () => { timeline.scrollToBottom(); document.getElementById("composer-input")?.focus(); } });
  const timeline = new Timeline({
    label: `Messages of ${chatTitle(chat)}`,
    items: () => timelineOf(chatId),
    render: (message) => messageNode(message),
    onScroll: (stuck) => { jump.hidden = stuck; },
    onNearTop: async () => {
      const known = state.history.get(chatId);
      if (loading || !known || known.complete) return;
      loading = true;
      try {
        await loadHistory(chatId, true);
        timeline.refresh();
      } catch (e) {
        announce(`Could not load older messages (${e.message}).`);
      } finally {
        loading = false;
      }
    },
  });
  const title = el("span", { class: "chat-title" });
  const count = el("span", { class: "count" });
  const tool = (label, kind, text) => el("button", { type: "button", class: "tool", "aria-label": label,
    "aria-pressed": state.panel?.kind === kind ? "true" : "false",
    onclick: () => { state.panel = state.panel?.kind === kind ? null : { kind, chatId }; changed("panel"); }, text });
  const tools = [["members", tool("Members", "members", "👥")], ["pins", tool("Pinned messages", "pins", "📌")],
    ["search", tool("Search messages", "search", "🔍")]];
  const seen = el("p", { class: "seen", id: "seen" });
  main.replaceChildren(
    el("div", { class: "chat-header" },
      el("button", { type: "button", class: "back", "aria-label": "Back to chats", onclick: closeChat, text: "←" }),
      el("h2", {}, title, count),
      el("div", { class: "tools", role: "toolbar", "aria-label": "Chat tools" },
        ...tools.map(([, button]) => button))),
    timeline.element,
    jump,
    seen,
    el("p", { class: "typing", id: "typing", role: "status", "aria-live": "polite" }),
    composer({ id: "composer-input", chatId }));
  return { chatId, timeline, title, count, seen, jump, tools };
}

/** Scrolls to a message of the open chat, loading older pages until it
 *  is there (search results and pins jump with this). */
export async function revealMessage(message) {
  if (state.current !== message.chat_id) await openChat(message.chat_id);
  for (let pages = 0; pages < 100; pages += 1) {
    const known = state.history.get(message.chat_id);
    if (messagesOf(message.chat_id).has(message.id) || !known || known.complete) break;
    await loadHistory(message.chat_id, true);
  }
  renderConversation();
  const target = message.thread_root_id || message.id;
  if (message.thread_root_id) openThread({ id: message.thread_root_id, chat_id: message.chat_id });
  if (frame?.timeline.reveal(target)) {
    const node = document.querySelector(`article[data-id="${CSS.escape(target)}"]`);
    node?.classList.add("flash");
    node?.setAttribute("tabindex", "-1");
    node?.focus({ preventScroll: true });
  }
}

export function scrollToNewest() {
  frame?.timeline.scrollToBottom();
}

/** "Seen by …" for your newest message: the members whose read position
 *  reached it (from the chat's members and `chat.read` events). */
function seenBy(chat) {
  const mine = [...messagesOf(chat.id).values()]
    .filter((m) => m.sender_id === state.me.id && !m.pending && m.seq)
    .sort((a, b) => b.seq - a.seq)[0];
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
