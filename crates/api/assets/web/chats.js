// The chat list (by latest activity, with unread badges) and the form
// that starts a direct chat or a group.

import { el } from "./dom.js";
import { chatTitle, client, state } from "./store.js";

export function renderChats(open) {
  const list = document.getElementById("chat-list");
  if (!list) return;
  const chats = [...state.chats.values()].sort((a, b) =>
    (b.last_message?.created_at || b.created_at).localeCompare(a.last_message?.created_at || a.created_at));
  list.replaceChildren(...chats.map((chat) => {
    const last = chat.last_message;
    const preview = last ? (last.deleted ? "(deleted)" : `${last.sender_id === state.me.id ? "You: " : ""}${last.content}`) : "";
    return el("li", {},
      el("button", {
        type: "button",
        "aria-current": state.current === chat.id ? "true" : "false",
        "data-chat": chat.id,
        onclick: () => open(chat.id),
      },
      el("span", { class: "title" }, chatTitle(chat), el("span", { class: "preview", text: preview })),
      chat.mention_count > 0 ? el("span", { class: "badge mention", "aria-label": `${chat.mention_count} mentioning you`, text: "@" }) : null,
      chat.unread_count > 0 ? el("span", { class: "badge", "aria-label": `${chat.unread_count} unread`, text: String(chat.unread_count) }) : null));
  }));
  if (!chats.length) list.replaceChildren(el("li", { class: "empty", text: "No chats yet: start one above." }));
}

export function newChatForm(open) {
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
        if (!addresses.length) {
          error.textContent = "Give the e-mail of someone to chat with (several, comma-separated, for a group).";
          emails.focus();
          return;
        }
        const people = [];
        for (const address of addresses) people.push(await client.request("GET", `/users?email=${encodeURIComponent(address)}`));
        const group = people.length !== 1 || title.value.trim();
        const chat = await client.request("POST", "/chats", group
          ? { kind: "group", title: title.value.trim() || "Group", member_ids: people.map((p) => p.id) }
          : { kind: "direct", member_ids: [people[0].id] });
        for (const p of people) state.names.set(p.id, p.full_name);
        state.chats.set(chat.id, chat);
        emails.value = "";
        title.value = "";
        await open(chat.id);
      } catch (err) {
        error.textContent = err.status === 404 ? "No user with that e-mail." : err.message;
      }
    },
  }, emails, title, el("button", { type: "submit", text: "Start chat" }), error);
}
