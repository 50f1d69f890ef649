// One message as an <article>: its text, who and when, its role and
// rating (LLM transcripts), metadata, reactions, thread summary, pin, and
// actions. Every string goes in as text.

import { el } from "./dom.js";
import { changed, client, mentionsMe, messagesOf, nameOf, state } from "./store.js";

const PICKER = ["👍", "❤️", "🎉", "😂", "😮", "😢", "🙏", "👀", "🚀", "✅", "🔥", "👎"];
const QUICK_REACTIONS = PICKER.slice(0, 3);

/** `options.inThread`: shown in the thread panel (no thread summary or
 *  "Reply in thread" there). */
export function messageNode(message, options = {}) {
  const mine = message.sender_id === state.me.id;
  const classes = ["message"];
  // Your own turns on the right; an assistant's (even stored under your
  // account, as transcript stores do) on the left.
  if (mine && (!message.role || message.role === "user")) classes.push("mine");
  if (message.deleted) classes.push("deleted");
  if (message.pending) classes.push("pending");
  if (message.role && message.role !== "user") classes.push("transcript", `role-${message.role}`);
  if (!message.deleted && mentionsMe(message)) classes.push("mentions-me");
  const who = state.names.get(message.sender_id) || (mine ? state.me.full_name : "");
  if (!state.names.has(message.sender_id)) nameOf(message.sender_id).then(() => changed("messages"));
  const editing = state.editing?.id === message.id;
  const live = !message.deleted && !message.pending;
  const body = editing ? editor(message) : el("div", { class: "content", text: message.deleted ? "This message was deleted." : message.content });
  return el("article", {
    class: classes.join(" "),
    "data-seq": message.seq ?? "",
    "data-id": message.id,
    "aria-label": `${who || "Someone"}${message.role && message.role !== "user" ? ` (${message.role})` : ""}`,
  },
  el("header", { class: "meta" },
    el("span", { class: "who", text: who }),
    message.role && message.role !== "user" ? el("span", { class: "role", text: message.role }) : null,
    message.created_at ? el("time", { datetime: message.created_at, text: clock(message.created_at) }) : null,
    message.edited_at && !message.deleted ? el("span", { text: "edited" }) : null,
    message.pinned ? el("span", { class: "pin", text: "📌 pinned" }) : null,
    message.failed ? el("span", { class: "failed", text: "not sent — press Send again" }) : null),
  message.content || editing || message.deleted ? body : null,
  !message.deleted && message.attachments?.length ? attachmentsNode(message) : null,
  live && message.role && message.role !== "user" ? ratingBar(message) : null,
  live && hasMetadata(message) ? metadataNode(message) : null,
  live && !options.inThread && message.thread?.reply_count
    ? el("button", { type: "button", class: "link thread-summary", "data-action": "thread", onclick: () => openThread(message),
      text: `💬 ${message.thread.reply_count} ${message.thread.reply_count === 1 ? "reply" : "replies"}` })
    : null,
  live ? reactionBar(message) : null,
  live && state.picker === message.id ? picker(message) : null,
  live && !editing ? el("div", { class: "toolbar", role: "group", "aria-label": "Message tools" },
    ...quickReactions(message), actions(message, mine, options)) : null);
}

/** Blob URLs of thumbnails already fetched, by upload id (an <img> cannot
 *  send the access token, so each is fetched once and kept). */
const thumbnails = new Map();

/** A message's files: images as previews of their size (known before they
 *  load, so the timeline does not jump), every file as a download. */
function attachmentsNode(message) {
  return el("ul", { class: "attachments", "aria-label": "Attachments" },
    ...message.attachments.map((file) => {
      const label = `${file.filename} (${bytes(file.size)})`;
      let preview = null;
      if (file.thumbnail && file.width && file.height) {
        const scale = Math.min(1, 320 / Math.max(file.width, file.height));
        const img = el("img", { alt: file.filename, width: Math.max(1, Math.round(file.width * scale)),
          height: Math.max(1, Math.round(file.height * scale)), class: "thumbnail" });
        const known = thumbnails.get(file.id);
        if (typeof known === "string") img.src = known;
        else {
          if (!known) thumbnails.set(file.id, client.blob(`/uploads/${file.id}/thumbnail`)
            .then((blob) => { const url = URL.createObjectURL(blob); thumbnails.set(file.id, url); return url; })
            .catch(() => null)); // not fetched again on every render
          thumbnails.get(file.id).then((url) => { if (url) img.src = url; });
        }
        preview = img;
      }
      return el("li", { class: preview ? "image" : "file" },
        preview,
        el("button", { type: "button", class: "link download", "aria-label": `Download ${label}`,
          onclick: () => download(file), text: `⬇ ${label}` }));
    }));
}

/** Saves a file under its name (fetched with the credentials). */
async function download(file) {
  try {
    // As opaque bytes: the page never opens the file as its own type.
    const blob = await client.blob(`/uploads/${file.id}`);
    const url = URL.createObjectURL(new Blob([blob], { type: "application/octet-stream" }));
    const link = el("a", { href: url, download: file.filename, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (e) {
    alert(`Could not download ${file.filename}: ${e.message}`);
  }
}

function bytes(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

function clock(timestamp) {
  const date = new Date(timestamp);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function hasMetadata(message) {
  return message.metadata && typeof message.metadata === "object" && Object.keys(message.metadata).length > 0;
}

/** The sender's metadata, folded: a key–value list (values as JSON text). */
function metadataNode(message) {
  return el("details", { class: "metadata", open: state.unfolded.has(message.id),
    ontoggle: (e) => { if (e.currentTarget.open) state.unfolded.add(message.id); else state.unfolded.delete(message.id); } },
    el("summary", { text: "Metadata" }),
    el("dl", {}, ...Object.entries(message.metadata).flatMap(([key, value]) => [
      el("dt", { text: key }),
      el("dd", { text: typeof value === "string" ? value : JSON.stringify(value) }),
    ])));
}

/** Thumbs up / down for an LLM turn; pressing the pressed one clears it. */
function ratingBar(message) {
  const rate = async (value) => {
    const rating = message.rating === value ? null : value;
    try {
      const stored = await client.request("PATCH", `/messages/${message.id}`, { rating });
      keep(stored, message);
    } catch {
      // The next event shows the truth.
    }
  };
  return el("span", { class: "rating", role: "group", "aria-label": "Rating" },
    el("button", { type: "button", class: "reaction", "aria-pressed": message.rating === true ? "true" : "false",
      "aria-label": "Good answer", "data-action": "rate-up", onclick: () => rate(true), text: "👍" }),
    el("button", { type: "button", class: "reaction", "aria-pressed": message.rating === false ? "true" : "false",
      "aria-label": "Bad answer", "data-action": "rate-down", onclick: () => rate(false), text: "👎" }));
}

function actions(message, mine, options) {
  return el("span", { class: "actions" },
    options.inThread ? null : el("button", { type: "button", class: "link", "aria-label": "Reply in thread", text: "Reply", "data-action": "reply",
      onclick: () => openThread(message) }),
    el("button", { type: "button", class: "link", "aria-label": message.pinned ? "Unpin this message" : "Pin this message",
      text: message.pinned ? "Unpin" : "Pin", "data-action": "pin", onclick: () => togglePin(message) }),
    mine ? el("button", { type: "button", class: "link", "aria-label": "Edit this message", text: "Edit", "data-action": "edit",
      onclick: () => startEditing(message) }) : null,
    mine ? el("button", { type: "button", class: "link", "aria-label": "Delete this message", text: "Delete", "data-action": "delete",
      onclick: () => removeMessage(message) }) : null);
}

export function openThread(message) {
  state.panel = { kind: "thread", rootId: message.id, chatId: message.chat_id };
  changed("panel");
}

export function startEditing(message) {
  state.editing = { id: message.id, draft: message.content };
  changed("messages");
  document.getElementById("edit-input")?.focus();
}

/** The message's reactions as toggles (pressed: yours). */
function reactionBar(message) {
  const known = message.reactions || [];
  if (!known.length) return null;
  return el("span", { class: "reactions", role: "group", "aria-label": "Reactions" },
    ...known.map((summary) => reactionButton(message, summary.reaction, summary)));
}

function reactionButton(message, reaction, summary) {
  const count = summary?.count || 0;
  return el("button", {
    type: "button",
    class: count ? "reaction" : "reaction quick",
    "aria-pressed": summary?.me ? "true" : "false",
    "aria-label": `${reaction} ${count} — ${summary?.me ? "take back" : "react"}`,
    "data-action": `react:${reaction}`,
    onclick: () => toggleReaction(message, reaction, !summary?.me),
  }, count ? `${reaction} ${count}` : reaction);
}

/** Quick reactions not given yet, and the button that opens the picker. */
function quickReactions(message) {
  const known = message.reactions || [];
  const open = state.picker === message.id;
  return [
    ...QUICK_REACTIONS.filter((q) => !known.some((r) => r.reaction === q)).map((q) => reactionButton(message, q, null)),
    el("button", { type: "button", class: "reaction quick", "aria-label": "More reactions", "data-action": "more", "aria-expanded": open ? "true" : "false",
      onclick: () => { state.picker = open ? null : message.id; changed("messages"); document.querySelector(".picker button")?.focus(); },
      text: "+" }),
  ];
}

function picker(message) {
  const known = message.reactions || [];
  return el("div", { class: "picker", role: "group", "aria-label": "Pick a reaction",
    onkeydown: (e) => { if (e.key === "Escape") { state.picker = null; changed("messages"); } } },
  ...PICKER.map((reaction) => el("button", { type: "button", class: "reaction", "aria-label": `React with ${reaction}`,
    onclick: () => {
      state.picker = null;
      const summary = known.find((r) => r.reaction === reaction);
      toggleReaction(message, reaction, !summary?.me);
      changed("messages");
    }, text: reaction })));
}

async function toggleReaction(message, reaction, add) {
  try {
    await client.request(add ? "PUT" : "DELETE", `/messages/${message.id}/reactions/${encodeURIComponent(reaction)}`);
  } catch {
    // The server's answer (an event) is the truth either way.
  }
}

async function togglePin(message) {
  try {
    const stored = await client.request(message.pinned ? "DELETE" : "PUT", `/chats/${message.chat_id}/pins/${message.id}`);
    if (stored) keep(stored, message);
    else message.pinned = null;
    changed("messages");
  } catch (e) {
    if (e.status === 403) announce("Only the group's owner and admins pin messages.");
  }
}

/** A stored message from an answer, keeping what answers may lack. */
function keep(stored, previous) {
  if (!Array.isArray(stored.reactions)) stored.reactions = previous.reactions;
  if (stored.thread === undefined) stored.thread = previous.thread;
  messagesOf(stored.chat_id).set(stored.id, stored);
  changed("messages");
}

/** A short message for screen readers and everyone (the status line). */
export function announce(text) {
  const line = document.getElementById("notice");
  if (line) line.textContent = text;
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
      keep(stored, message);
      cancel();
    } catch {
      input.setAttribute("aria-invalid", "true");
    }
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { e.stopPropagation(); cancel(); }
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); save(); }
  });
  return el("div", { class: "editor" }, input,
    el("button", { type: "button", class: "primary", text: "Save", onclick: save }),
    el("button", { type: "button", text: "Cancel", onclick: cancel }));
}

async function removeMessage(message) {
  try {
    await client.request("DELETE", `/messages/${message.id}`);
    // A tombstone keeps its place; its own event follows.
    Object.assign(message, { deleted: true, content: "", reactions: [], pinned: null, metadata: {} });
  } catch {
    // Already gone, or not allowed: the next event shows the truth.
  }
  changed("messages");
}
