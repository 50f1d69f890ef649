// The JavaScript SDK as served (/sdk/missive.js), in Node's test runner,
// against a real server: MISSIVE_URL=http://127.0.0.1:PORT node --test
// (scripts/sdk-tests.sh sets it up). Node 20 has no WebSocket: the `ws`
// package is passed in, as the SDK's docs say.
import { test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { ApiError, Missive } from "./missive.js";

const base = process.env.MISSIVE_URL;
const password = "correct horse battery staple";
let n = 0;

async function user(name) {
  const client = new Missive({ base, WebSocket });
  n += 1;
  const answer = await client.signIn({ email: `${name}${n}-${Date.now()}@example.org`, password, full_name: name });
  return { client, id: answer.user.id };
}

/** Events of a live connection, awaited one type at a time. */
function live(client, since = () => null) {
  const events = [];
  const waiting = [];
  let token = null;
  client.connect({
    since: () => token ?? since(),
    onEvent: (event) => {
      if (event.token) token = event.token;
      events.push(event);
      for (const w of waiting.splice(0)) w();
    },
  });
  return {
    events,
    token: () => token,
    async next(type, count = 1) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const found = events.filter((e) => e.type === type);
        if (found.length >= count) return found;
        if (Date.now() > deadline) throw new Error(`no ${count} × ${type}: ${JSON.stringify(events)}`);
        await new Promise((resolve) => { waiting.push(resolve); setTimeout(resolve, 200); });
      }
    },
  };
}

test("a send is stored once, with its role, whatever the repeats", async () => {
  const ada = await user("Ada");
  const chat = await ada.client.request("POST", "/chats", { kind: "group", title: "SDK", member_ids: [] });
  const first = await ada.client.sendMessage(chat.id, { content: "hello", role: "assistant", client_id: "k-1" });
  const again = await ada.client.sendMessage(chat.id, { content: "hello", client_id: "k-1" });
  assert.equal(again.id, first.id);
  assert.equal(first.role, "assistant");
  const page = await ada.client.request("GET", `/chats/${chat.id}/messages`);
  assert.equal(page.items.length, 1);
});

test("an answer lost on the way is retried under the same client_id and stored once", async () => {
  const ada = await user("Ada");
  let lost = 1;
  // The request reaches the server; its answer is "lost" once.
  const flaky = async (...args) => {
    const response = await fetch(...args);
    if (lost > 0 && args[1]?.method === "POST" && String(args[0]).endsWith("/messages")) {
      lost -= 1;
      throw new TypeError("fetch failed");
    }
    return response;
  };
  const client = new Missive({ base, token: ada.client.token, fetch: flaky });
  const chat = await client.request("POST", "/chats", { kind: "group", title: "Flaky", member_ids: [] });
  const stored = await client.sendMessage(chat.id, { content: "once" });
  const page = await client.request("GET", `/chats/${chat.id}/messages`);
  assert.deepEqual(page.items.map((m) => m.id), [stored.id]);
  assert.equal(lost, 0);
});

test("errors are ApiErrors carrying the problem document", async () => {
  const ada = await user("Ada");
  await assert.rejects(ada.client.request("GET", "/chats/0199a1b2-0000-7000-8000-000000000001"), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 404);
    assert.equal(error.problem.code, "not_found");
    return true;
  });
});

test("events arrive live, and a reconnection resumes with every missed change", async () => {
  const ada = await user("Ada");
  const bob = await user("Bob");
  const chat = await ada.client.request("POST", "/chats", { kind: "group", title: "Live", member_ids: [bob.id] });
  const bobLive = live(bob.client);
  await bobLive.next("ready");
  await ada.client.sendMessage(chat.id, { content: "one" });
  const [created] = await bobLive.next("message.created");
  assert.equal(created.message.content, "one");
  assert.ok(created.token, "changes carry a token");
  const token = bobLive.token();
  bob.client.close();

  // Missed while away; then a new connection from the token.
  await ada.client.sendMessage(chat.id, { content: "two" });
  await ada.client.sendMessage(chat.id, { content: "three" });
  const again = new Missive({ base, token: bob.client.token, WebSocket });
  const resumed = live(again, () => token);
  await resumed.next("synced");
  const replayed = resumed.events.filter((e) => e.type === "message.created").map((e) => e.message.content);
  assert.deepEqual(replayed, ["two", "three"]);
  again.close();
});

test("an API key works for REST and the WebSocket", async () => {
  const ada = await user("Ada");
  const key = await ada.client.request("POST", "/api-keys", { name: "sdk test" });
  const service = new Missive({ base, apiKey: key.key, WebSocket });
  const me = await service.request("GET", "/users/me");
  assert.equal(me.id, ada.id);
  const events = live(service);
  const [ready] = await events.next("ready");
  assert.equal(ready.user_id, ada.id);
  service.close();
});
