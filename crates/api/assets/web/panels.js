// The side panel beside a conversation, one at a time: a thread, the
// members (add with a role, remove, leave, rename), the pinned messages,
// or search with highlighted matches. Escape closes it.

import { composer } from "./composer.js";
import { el, highlight } from "./dom.js";
import { messageNode } from "./message.js";
import { revealMessage } from "./conversation.js";
import { restoreFocus } from "./timeline.js";
import { changed, chatTitle, client, messagesOf, myRole, nameOf, refreshChat, state } from "./store.js";

let shown = null; // {key, node, body} of the panel on screen
const replies = new Map(); // root id → {complete}
let pins = { chatId: null, items: [] };
let search = { query: "", everywhere: false, items: [], error: "" };

export function closePanel() {
  state.panel = null;
  changed("panel");
  document.getElementById("composer-input")?.focus();
}

export function renderPanel() {
  const aside = document.getElementById("panel");
  if (!aside) return;
  const panel = state.panel;
  const chat = panel && (panel.kind === "search" ? true : state.chats.get(panel.chatId));
  document.getElementById("shell")?.classList.toggle("with-panel", Boolean(panel && chat));
  if (!panel || !chat) {
    aside.hidden = true;
    aside.replaceChildren();
    shown = null;
    return;
  }
  aside.hidden = false;
  const key = `${panel.kind}:${panel.chatId || ""}:${panel.rootId || ""}`;
  if (!shown || shown.key !== key) {
    const body = el("div", { class: "panel-body" });
    const title = el("h3", { id: "panel-title" });
    const node = el("section", { class: "panel", "aria-labelledby": "panel-title",
      onkeydown: (e) => { if (e.key === "Escape") { e.stopPropagation(); closePanel(); } } },
    el("div", { class: "panel-head" }, title,
      el("button", { type: "button", class: "tool", "aria-label": "Close the panel", "aria-keyshortcuts": "Escape", onclick: closePanel, text: "✕" })),
    body);
    shown = { key, node, body, title, parts: {} };
    aside.replaceChildren(node);
    start(panel);
  }
  const { title, body } = shown;
  if (panel.kind === "thread") {
    title.textContent = "Thread";
    renderThread(panel, body);
  } else if (panel.kind === "members") {
    title.textContent = `Members of ${chatTitle(chat)}`;
    renderMembers(chat, body);
  } else if (panel.kind === "pins") {
    title.textContent = "Pinned messages";
    renderPins(body);
  } else {
    title.textContent = "Search messages";
    renderSearch(body);
  }
}

/** Loads what a panel shows when it opens, and puts the focus in it. */
async function start(panel) {
  if (panel.kind === "thread") {
    await loadReplies(panel.rootId, panel.chatId);
    changed("panel");
    document.getElementById("thread-input")?.focus();
  } else if (panel.kind === "pins") {
    await loadPins(panel.chatId);
    changed("panel");
    document.querySelector(".panel .panel-head button")?.focus();
  } else if (panel.kind === "search") {
    document.getElementById("search-input")?.focus();
  } else {
    await refreshChat(panel.chatId);
    document.getElementById("add-member-email")?.focus();
  }
}

// ----------------------------------------------------------------- thread

async function loadReplies(rootId, chatId) {
  const map = messagesOf(chatId);
  if (!map.has(rootId)) {
    try {
      map.set(rootId, await client.request("GET", `/messages/${rootId}`));
    } catch {
      return;
    }
  }
  const items = await client.all(`/messages/${rootId}/replies`, 100).catch(() => []);
  for (const reply of items) if (!map.has(reply.id)) map.set(reply.id, reply);
  replies.set(rootId, { complete: true });
}

function renderThread(panel, body) {
  const map = messagesOf(panel.chatId);
  const root = map.get(panel.rootId);
  if (!root) {
    body.replaceChildren(el("p", { class: "empty", text: "Loading…" }));
    return;
  }
  const thread = [...map.values()]
    .filter((m) => m.thread_root_id === panel.rootId)
    .sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity));
  if (!shown.parts.list) {
    shown.parts.list = el("div", { class: "thread", role: "log", "aria-label": "Replies", tabindex: "0" });
    shown.parts.form = composer({ id: "thread-input", chatId: panel.chatId, replyTo: panel.rootId, label: "Reply in thread" });
    body.replaceChildren(shown.parts.list, shown.parts.form);
  }
  const list = shown.parts.list;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const focus = document.activeElement;
  const focusRow = focus && list.contains(focus) ? focus.closest("[data-id]")?.dataset.id : null;
  const focusAction = focus?.dataset?.action;
  const focusId = focus?.id;
  list.replaceChildren(
    messageNode(root, { inThread: true }),
    el("p", { class: "divider", text: thread.length ? `${thread.length} ${thread.length === 1 ? "reply" : "replies"}` : "No replies yet" }),
    ...thread.map((m) => messageNode(m, { inThread: true })));
  if (atBottom) list.scrollTop = list.scrollHeight;
  if (focusRow) restoreFocus(list, focusRow, focusAction, focusId);
}

// ---------------------------------------------------------------- members

function renderMembers(chat, body) {
  const role = myRole(chat);
  const manage = chat.kind === "group" && role !== "member";
  const members = [...(chat.members || [])].sort((a, b) => rank(a.role) - rank(b.role));
  if (!shown.parts.list) {
    shown.parts.list = el("ul", { class: "member-list", "aria-label": "Members" });
    shown.parts.error = el("p", { class: "error", role: "alert" });
    shown.parts.forms = el("div", {});
    body.replaceChildren(shown.parts.forms, shown.parts.list, shown.parts.error);
  }
  const { error } = shown.parts;
  const fail = (e) => { error.textContent = e.status === 404 ? "No user with that e-mail." : e.message; };
  if (shown.parts.manage !== manage || shown.parts.kind !== chat.kind) {
    shown.parts.manage = manage;
    shown.parts.kind = chat.kind;
    const forms = [];
    if (manage) {
      const email = el("input", { id: "add-member-email", type: "email", "aria-label": "E-mail of the person to add", placeholder: "e-mail" });
      const as = el("select", { id: "add-member-role", "aria-label": "Their role" },
        el("option", { value: "member", text: "member" }), el("option", { value: "admin", text: "admin" }));
      forms.push(el("form", { class: "inline-form", "aria-label": "Add a member", onsubmit: async (e) => {
        e.preventDefault();
        error.textContent = "";
        try {
          const user = await client.request("GET", `/users?email=${encodeURIComponent(email.value.trim())}`);
          state.names.set(user.id, user.full_name);
          await client.request("POST", `/chats/${chat.id}/members`, { user_id: user.id, role: as.value });
          email.value = "";
          await refreshChat(chat.id);
        } catch (err) { fail(err); }
      } }, email, as, el("button", { type: "submit", text: "Add" })));
      const title = el("input", { id: "rename-title", "aria-label": "Group title", value: chat.title || "" });
      forms.push(el("form", { class: "inline-form", "aria-label": "Rename the group", onsubmit: async (e) => {
        e.preventDefault();
        error.textContent = "";
        try {
          await client.request("PATCH", `/chats/${chat.id}`, { title: title.value.trim() });
          await refreshChat(chat.id);
        } catch (err) { fail(err); }
      } }, title, el("button", { type: "submit", text: "Rename" })));
    }
    if (chat.kind === "group") {
      forms.push(el("button", { type: "button", class: "danger", text: "Leave the group", onclick: async () => {
        try {
          await client.request("DELETE", `/chats/${chat.id}/members/${state.me.id}`);
        } catch (err) { fail(err); }
      } }));
    }
    shown.parts.forms.replaceChildren(...forms);
  }
  shown.parts.list.replaceChildren(...members.map((member) => {
    const name = state.names.get(member.user_id);
    if (!name) nameOf(member.user_id).then(() => changed("panel"));
    const removable = manage && member.user_id !== state.me.id && member.role !== "owner" && (role === "owner" || member.role === "member");
    return el("li", {},
      el("span", { class: "who", text: name || "…" }),
      el("span", { class: `role role-${member.role}`, text: member.role }),
      member.user_id === state.me.id ? el("span", { class: "count", text: "you" }) : null,
      removable ? el("button", { type: "button", class: "link", "aria-label": `Remove ${name || "this member"}`, text: "Remove",
        onclick: async () => {
          try {
            await client.request("DELETE", `/chats/${chat.id}/members/${member.user_id}`);
            await refreshChat(chat.id);
          } catch (err) { fail(err); }
        } }) : null);
  }));
}

function rank(role) {
  return { owner: 0, admin: 1 }[role] ?? 2;
}

// ------------------------------------------------------------------- pins

async function loadPins(chatId) {
  try {
    pins = { chatId, items: await client.all(`/chats/${chatId}/pins`, 100) };
  } catch {
    pins = { chatId, items: [] };
  }
}

function renderPins(body) {
  // The loaded list, with live changes: a pin or unpin seen since.
  const chatId = state.panel.chatId;
  const known = messagesOf(chatId);
  const byId = new Map(pins.chatId === chatId ? pins.items.map((m) => [m.id, known.get(m.id) || m]) : []);
  for (const m of known.values()) if (m.pinned && !m.deleted) byId.set(m.id, m);
  const items = [...byId.values()].filter((m) => m.pinned && !m.deleted)
    .sort((a, b) => (b.pinned.pinned_at || "").localeCompare(a.pinned.pinned_at || ""));
  body.replaceChildren(items.length
    ? el("ul", { class: "results", "aria-label": "Pinned messages" }, ...items.map((m) => el("li", {},
      el("button", { type: "button", class: "result", onclick: () => revealMessage(m) },
        el("span", { class: "who", text: state.names.get(m.sender_id) || "" }), el("span", { text: m.content })))))
    : el("p", { class: "empty", text: "Nothing pinned yet. Pin a message with its Pin button." }));
}

// ----------------------------------------------------------------- search

function renderSearch(body) {
  if (!shown.parts.form) {
    const input = el("input", { id: "search-input", type: "search", "aria-label": "Search words", placeholder: "words to find", value: search.query });
    const everywhere = el("input", { id: "search-everywhere", type: "checkbox" });
    everywhere.checked = search.everywhere;
    shown.parts.form = el("form", { class: "search-form", role: "search", onsubmit: async (e) => {
      e.preventDefault();
      search.query = input.value.trim();
      search.everywhere = everywhere.checked;
      search.error = "";
      if (!search.query) return;
      const scope = search.everywhere || !state.current ? "" : `&chat_id=${state.current}`;
      try {
        const page = await client.request("GET", `/messages?q=${encodeURIComponent(search.query)}&limit=50${scope}`);
        search.items = page.items;
      } catch (err) {
        search.items = [];
        search.error = err.status === 422
          ? "Nothing to search for in that: search for words (letters or digits)."
          : `Search failed: ${err.message}`;
      }
      changed("panel");
    } }, input, el("button", { type: "submit", class: "primary", text: "Search" }),
    el("label", { class: "check" }, everywhere, " in all my chats"));
    shown.parts.results = el("div", { "aria-live": "polite" });
    body.replaceChildren(shown.parts.form, shown.parts.results);
  }
  const words = search.query.split(/\s+/).filter(Boolean);
  const results = shown.parts.results;
  if (search.error) return results.replaceChildren(el("p", { class: "error", text: search.error }));
  if (!search.query) return results.replaceChildren();
  if (!search.items.length) return results.replaceChildren(el("p", { class: "empty", text: "No message matches." }));
  results.replaceChildren(
    el("p", { class: "count", text: `${search.items.length}${search.items.length === 50 ? "+" : ""} found` }),
    el("ul", { class: "results", "aria-label": "Search results" }, ...search.items.map((m) => {
      const chat = state.chats.get(m.chat_id);
      return el("li", {}, el("button", { type: "button", class: "result", onclick: () => revealMessage(m) },
        el("span", { class: "who", text: `${state.names.get(m.sender_id) || ""}${chat && search.everywhere ? ` in ${chatTitle(chat)}` : ""}` }),
        el("span", { class: "snippet" }, ...highlight(m.content, words))));
    })));
}
