// A message composer (the conversation's and the thread panel's): Enter
// sends, Shift+Enter breaks the line, ArrowUp in an empty composer edits
// your last message, `@` offers the chat's members (arrows, Enter or Tab
// to pick). Sends are optimistic and safe to retry: each carries a
// client_id, so a retry after a lost answer never stores twice. Files
// come by the 📎 button, drag and drop or paste: each uploads at once with
// a progress bar, and the message carries them when sent.

import { el } from "./dom.js";
import { startEditing } from "./message.js";
import { changed, client, messagesOf, myRole, nameOf, state } from "./store.js";

/** `{id, chatId, replyTo?, label}` → the form. */
export function composer({ id, chatId, replyTo = null, label = "Message" }) {
  const listId = `${id}-mentions`;
  const input = el("textarea", {
    id, rows: "1", placeholder: replyTo ? "Reply in thread" : "Write a message",
    "aria-label": label, maxlength: "4000", "aria-autocomplete": "list", "aria-controls": listId,
    "aria-keyshortcuts": "Enter ArrowUp",
  });
  const list = el("ul", { id: listId, class: "mentions-list", role: "listbox", "aria-label": "Members to mention", hidden: true });
  const picked = new Map(); // "@Name" → user id (or "all")
  let options = [];
  let active = 0;

  function query() {
    const before = input.value.slice(0, input.selectionStart);
    const match = /(^|\s)@([\p{L}\p{N}_.-]{0,30})$/u.exec(before);
    return match ? match[2] : null;
  }

  function candidates(text) {
    const chat = state.chats.get(chatId);
    if (!chat) return [];
    const needle = text.toLowerCase();
    // Names not known yet are fetched; the list updates when they come.
    const unknown = (chat.members || []).filter((m) => !state.names.has(m.user_id));
    if (unknown.length) Promise.all(unknown.map((m) => nameOf(m.user_id))).then(() => { if (document.activeElement === input) show(); });
    const people = (chat.members || [])
      .filter((m) => m.user_id !== state.me.id)
      .map((m) => ({ id: m.user_id, name: state.names.get(m.user_id) || "" }))
      .filter((p) => p.name && p.name.toLowerCase().split(/\s+/).some((w) => w.startsWith(needle)));
    if (chat.kind === "group" && myRole(chat) !== "member" && "all".startsWith(needle)) people.push({ id: "all", name: "all" });
    return people.slice(0, 6);
  }

  function show() {
    const text = query();
    options = text === null ? [] : candidates(text);
    active = Math.min(active, Math.max(options.length - 1, 0));
    list.hidden = options.length === 0;
    input.setAttribute("aria-expanded", options.length ? "true" : "false");
    list.replaceChildren(...options.map((option, index) => el("li", {
      id: `${listId}-${index}`, role: "option", "aria-selected": index === active ? "true" : "false",
      onmousedown: (e) => { e.preventDefault(); pick(index); },
    }, option.id === "all" ? "@all — everyone in the group" : `@${option.name}`)));
    if (options.length) input.setAttribute("aria-activedescendant", `${listId}-${active}`);
    else input.removeAttribute("aria-activedescendant");
  }

  function pick(index) {
    const option = options[index];
    const text = query();
    if (!option || text === null) return;
    const caret = input.selectionStart;
    const start = caret - text.length - 1;
    const insert = `@${option.name} `;
    input.value = input.value.slice(0, start) + insert + input.value.slice(caret);
    input.selectionStart = input.selectionEnd = start + insert.length;
    picked.set(`@${option.name}`, option.id);
    options = [];
    show();
  }

  input.addEventListener("input", () => {
    active = 0;
    show();
    announceTyping(chatId);
  });
  input.addEventListener("blur", () => { list.hidden = true; });
  input.addEventListener("keydown", (e) => {
    if (options.length && !list.hidden) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        active = (active + (e.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
        show();
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        pick(active);
        return;
      }
      if (e.key === "Escape") {
        e.stopPropagation();
        options = [];
        list.hidden = true;
        return;
      }
    }
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    } else if (e.key === "ArrowUp" && !input.value) {
      const last = [...messagesOf(chatId).values()]
        .filter((m) => m.sender_id === state.me.id && !m.deleted && !m.pending && (m.thread_root_id || null) === replyTo)
        .sort((a, b) => b.seq - a.seq)[0];
      if (last) {
        e.preventDefault();
        startEditing(last);
      }
    }
  });

  const files = attachmentTray(id);
  input.addEventListener("paste", (e) => {
    if (e.clipboardData?.files?.length) {
      e.preventDefault();
      files.add(e.clipboardData.files);
    }
  });
  const form = el("form", { class: "composer", "aria-label": replyTo ? "Reply in thread" : "Send a message",
    onsubmit: (e) => {
      e.preventDefault();
      send(chatId, input, replyTo, picked, files);
    },
    ondragover: (e) => {
      if (![...(e.dataTransfer?.types || [])].includes("Files")) return;
      e.preventDefault();
      form.classList.add("dropping");
    },
    ondragleave: () => form.classList.remove("dropping"),
    ondrop: (e) => {
      form.classList.remove("dropping");
      if (!e.dataTransfer?.files?.length) return;
      e.preventDefault();
      files.add(e.dataTransfer.files);
    } },
  files.tray,
  el("div", { class: "row" },
    files.button,
    el("div", { class: "field" }, input, list),
    el("button", { type: "submit", class: "primary", text: "Send" })));
  return form;
}

/** The files chosen for the next message: each uploads as soon as it is
 *  added, shown with its progress and a ✕ to take it off. */
function attachmentTray(id) {
  let items = [];
  const tray = el("ul", { class: "attachment-tray", "aria-label": "Files to send", hidden: true });
  const picker = el("input", { type: "file", multiple: true, id: `${id}-files`, class: "visually-hidden", tabindex: "-1",
    "aria-hidden": "true", onchange: () => { add(picker.files); picker.value = ""; } });
  const button = el("span", { class: "attach" }, picker,
    el("button", { type: "button", class: "tool", "aria-label": "Attach files", title: "Attach files (or drop or paste them)",
      onclick: () => picker.click(), text: "📎" }));

  function render() {
    tray.hidden = items.length === 0;
    tray.replaceChildren(...items.map((item) => el("li", { class: item.error ? "failed" : "" },
      el("span", { class: "name", text: item.file.name || "pasted file" }),
      item.error
        ? el("span", { class: "error", role: "alert", text: item.error })
        : el("progress", { max: "1", value: String(item.upload ? 1 : item.progress), "aria-label": `Uploading ${item.file.name || "file"}` }),
      el("button", { type: "button", class: "link", "aria-label": `Remove ${item.file.name || "file"}`, text: "✕",
        onclick: () => { item.controller.abort(); items = items.filter((i) => i !== item); render(); } }))));
  }

  function add(list) {
    for (const file of list) {
      if (items.length >= 10) break;
      const item = { file, progress: 0, upload: null, error: null, controller: new AbortController() };
      item.done = client.upload(file, {
        signal: item.controller.signal,
        onProgress: (fraction) => {
          item.progress = fraction;
          tray.querySelector(`li:nth-child(${items.indexOf(item) + 1}) progress`)?.setAttribute("value", String(fraction));
        },
      }).then((upload) => { item.upload = upload; }, (e) => { item.error = e.problem?.detail || e.message; })
        .finally(render);
      items.push(item);
    }
    render();
  }

  return {
    tray, button, add,
    /** The uploads once every file is in; `null` when one failed. */
    async ready() {
      await Promise.all(items.map((i) => i.done));
      return items.some((i) => i.error) ? null : items.map((i) => i.upload);
    },
    sending: false,
    clear() { items = []; render(); },
    get empty() { return items.length === 0; },
  };
}

function announceTyping(chatId) {
  // The server relays at most one a second per chat; every 3 s is plenty.
  if (Date.now() - state.typedAt < 3000) return;
  if (client.command({ type: "typing", chat_id: chatId })) state.typedAt = Date.now();
}

async function send(chatId, input, replyTo, picked, files) {
  if (files.sending) return; // Enter pressed again while files finish uploading
  const content = input.value.trim();
  // Sending the text of a failed message again (with no new files)
  // retries it under the same client_id and with the same files: if the
  // first attempt did reach the server, it is not stored twice.
  const map = messagesOf(chatId);
  const failed = files.empty
    ? [...map.values()].find((m) => m.pending && m.failed && m.content === content && (m.thread_root_id || null) === replyTo)
    : null;
  if (!content && files.empty && !failed) return;
  let attachments;
  files.sending = true;
  try {
    attachments = failed ? failed.attachments || [] : await files.ready();
  } finally {
    files.sending = false;
  }
  if (attachments === null) return; // a file failed: its error shows, ✕ removes it
  files.clear();
  const mentions = [...new Set([...picked].filter(([name, id]) => id !== "all" && content.includes(name)).map(([, id]) => id))];
  const mentionAll = [...picked].some(([name, id]) => id === "all" && content.includes(name));
  if (failed) map.delete(failed.id);
  const clientId = failed?.client_id || crypto.randomUUID();
  const body = { content, client_id: clientId };
  if (replyTo) body.reply_to = replyTo;
  if (mentions.length) body.mentions = mentions;
  if (mentionAll) body.mention_all = true;
  if (attachments.length) body.attachments = attachments.map((a) => a.id);
  const pending = {
    id: `pending-${clientId}`, chat_id: chatId, sender_id: state.me.id, content, role: "user",
    client_id: clientId, pending: true, reactions: [], thread_root_id: replyTo, mentions, attachments,
  };
  map.set(pending.id, pending);
  input.value = "";
  picked.clear();
  changed("messages");
  await deliver(chatId, pending, body, input);
}

/** Posts a pending message; on failure it stays, marked, and the text
 *  returns to the composer — sending again reuses its client_id. */
async function deliver(chatId, pending, body, input) {
  try {
    const stored = await client.request("POST", `/chats/${chatId}/messages`, body);
    const map = messagesOf(chatId);
    map.delete(pending.id);
    if (!map.has(stored.id)) map.set(stored.id, stored);
  } catch (e) {
    pending.failed = e.problem?.detail || true;
    if (!input.value) input.value = body.content;
  }
  changed();
}
