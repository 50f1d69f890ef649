// Missive's web client: plain ES modules, no framework, no request beyond
// this server. Every user-supplied string reaches the page through
// `textContent` (never HTML), so message text, names and titles render as
// text whatever they contain. It follows the sync algorithm of the README:
// a token first, then state over REST, then one WebSocket resumed with
// `?since=` the last token applied.

import { newChatForm, renderChats } from "./chats.js";
import { closeChat, markRead, openChat, renderConversation, renderTyping, scrollToNewest } from "./conversation.js";
import { closePanel, renderPanel } from "./panels.js";
import { el } from "./dom.js";
import { apply, client, dropToken, loadChats, onChange, state, storeToken } from "./store.js";

const app = document.getElementById("app");

/** Ends the session and starts from a clean page, so nothing of this
 *  user stays in memory or on screen for the next one. */
function signOut(notice = "") {
  client.close();
  sessionStorage.removeItem("missive.access_token");
  if (notice) sessionStorage.setItem("missive.notice", notice);
  location.reload();
}
client.onUnauthorized = () => signOut("Your session ended: sign in again.");

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
      const answer = await client.request("POST", `/auth/${kind}`, body);
      client.token = answer.access_token;
      sessionStorage.setItem("missive.access_token", client.token);
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

async function start() {
  state.me = await client.request("GET", "/users/me");
  state.names.set(state.me.id, state.me.full_name);
  // 1. The token first, then the state: changes in between come again.
  // (This client keeps no state across visits, so a token kept from an
  // earlier one is not reused.)
  storeToken((await client.request("GET", "/sync")).next_token);
  await loadChats();
  renderShell();
  client.connect({
    since: () => state.sync,
    onEvent: (event) => {
      apply(event);
      if (event.token) storeToken(event.token);
    },
    onStatus: setLive,
    onExpired: () => {
      dropToken();
      location.reload();
    },
  });
}

function setLive(status) {
  state.live = status;
  const node = document.getElementById("live-status");
  if (node) node.textContent = status === "live" ? "Live" : status === "connecting" ? "Connecting…" : "Offline — reconnecting";
}

function renderShell() {
  const shell = el("main", { class: "shell", id: "shell" },
    el("nav", { class: "chats", "aria-label": "Chats" },
      newChatForm(openChat),
      el("ul", { id: "chat-list", role: "list" })),
    el("section", { class: "conversation", id: "conversation", "aria-label": "Conversation" }),
    el("aside", { id: "panel", class: "side", "aria-label": "Details", hidden: true }));
  app.replaceChildren(
    el("header", { class: "top" },
      el("h1", { class: "brand", text: "Missive" }),
      el("span", { id: "live-status", class: "status", role: "status", text: "" }),
      el("p", { id: "notice", class: "status", role: "status" }),
      el("span", { class: "who", text: state.me.full_name }),
      el("button", { type: "button", "aria-label": "Keyboard shortcuts", "aria-expanded": "false", "aria-controls": "shortcuts",
        onclick: toggleHelp, text: "⌨" }),
      el("button", { type: "button", onclick: () => signOut(), text: "Sign out" })),
    help(),
    shell);
  setLive(state.live);
  render("all");
}

function render(what) {
  if (what === "typing") return renderTyping();
  if (what === "panel") {
    renderConversation();
    return renderPanel();
  }
  if (what !== "messages") renderChats(openChat);
  if (what !== "chats") {
    renderConversation();
    renderPanel();
  }
}
onChange(render);

const SHORTCUTS = [
  ["Enter", "send (Shift+Enter: a new line)"],
  ["↑ in an empty composer", "edit your last message"],
  ["Escape", "cancel the edit, close the panel or the menu"],
  ["Ctrl+K or /", "search messages"],
  ["Alt+↑ / Alt+↓", "previous / next chat"],
  ["End (in the history)", "jump to the newest message"],
  ["@", "mention a member (arrows and Enter to pick)"],
];

function help() {
  return el("section", { id: "shortcuts", class: "shortcuts", hidden: true, "aria-label": "Keyboard shortcuts" },
    el("h2", { text: "Keyboard shortcuts" }),
    el("dl", {}, ...SHORTCUTS.flatMap(([keys, what]) => [el("dt", { text: keys }), el("dd", { text: what })])));
}

function toggleHelp(event) {
  const box = document.getElementById("shortcuts");
  box.hidden = !box.hidden;
  event.currentTarget.setAttribute("aria-expanded", String(!box.hidden));
}

/** The chats in the list's order, to move through with Alt+arrows. */
function chatOrder() {
  return [...document.querySelectorAll("#chat-list button[data-chat]")].map((b) => b.dataset.chat);
}

document.addEventListener("keydown", (e) => {
  if (!state.me || !document.getElementById("shell")) return;
  const typing = e.target.closest?.("input, textarea, select");
  if ((e.key === "k" && (e.ctrlKey || e.metaKey)) || (e.key === "/" && !typing)) {
    e.preventDefault();
    state.panel = { kind: "search", chatId: state.current };
    render("panel");
    document.getElementById("search-input")?.focus();
  } else if (e.altKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
    const order = chatOrder();
    if (!order.length) return;
    e.preventDefault();
    const at = order.indexOf(state.current);
    const next = e.key === "ArrowDown" ? Math.min(at + 1, order.length - 1) : Math.max(at - 1, 0);
    openChat(order[at === -1 ? 0 : next]);
  } else if (e.key === "End" && e.target.id === "message-list") {
    e.preventDefault();
    scrollToNewest();
  } else if (e.key === "Escape") {
    if (state.picker) {
      state.picker = null;
      render("messages");
    } else if (state.panel) closePanel();
    else if (!document.getElementById("shortcuts").hidden) document.getElementById("shortcuts").hidden = true;
    else if (window.matchMedia("(max-width: 640px)").matches && state.current) closeChat();
  }
});

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && state.current) markRead(state.current);
});

if (client.token) {
  start().catch(() => signOut("Missive could not load your chats: sign in again."));
} else {
  const notice = sessionStorage.getItem("missive.notice") || "";
  sessionStorage.removeItem("missive.notice");
  renderAuth(notice);
}
