// One message as an <article>: its text, who and when, reactions and, for
// your own, edit and delete.

import { el } from "./dom.js";
import { changed, client, messagesOf, nameOf, state } from "./store.js";

export function messageNode(message) {
  const mine = message.sender_id === state.me.id;
  const classes = ["message"];
  if (mine) classes.push("mine");
  if (message.deleted) classes.push("deleted");
  if (message.pending) classes.push("pending");
  const who = state.names.get(message.sender_id) || (mine ? state.me.full_name : "");
  if (!state.names.has(message.sender_id)) nameOf(message.sender_id).then(() => changed("messages"));
  const editing = state.editing?.id === message.id;
  const actions = mine && !message.deleted && !message.pending && !editing
    ? el("span", { class: "actions" },
      el("button", { type: "button", class: "link", "aria-label": "Edit this message", text: "Edit",
        onclick: () => startEditing(message) }),
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

export function startEditing(message) {
  state.editing = { id: message.id, draft: message.content };
  changed("messages");
  document.getElementById("edit-input")?.focus();
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
    await client.request(add ? "PUT" : "DELETE", `/messages/${message.id}/reactions/${encodeURIComponent(reaction)}`);
  } catch {
    // The server's answer (an event) is the truth either way.
  }
}

function editor(message) {
  const input = el("textarea", { id: "edit-input", "aria-label": "Edit the message", rows: "2", maxlength: "4000" });
  input.value = state.editing.draft;
  input.addEventListener("input", () => { state.editing.draft = input.value; });
  const cancel = () => { state.editing = null; changed("messages"); document.getElementById("composer-input")?.focus(); };
  const save = async () => {
    const content = input.value.trim();
    if (!content) return;
    try {
      const stored = await client.request("PATCH", `/messages/${message.id}`, { content });
      stored.reactions = message.reactions;
      messagesOf(message.chat_id).set(stored.id, stored);
      cancel();
    } catch {
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
    await client.request("DELETE", `/messages/${message.id}`);
    // A tombstone keeps its place; its own event follows.
    Object.assign(message, { deleted: true, content: "", reactions: [], pinned: null });
  } catch {
    // Already gone, or not allowed: the next event shows the truth.
  }
  changed("messages");
}
