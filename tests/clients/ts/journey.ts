// The same journey as tests/clients/python_journey.py, with openapi-fetch
// typed by the types that openapi-typescript generates from the server's
// own /openapi.json (schema.d.ts). scripts/client-journeys.sh copies this
// file beside the generated schema.d.ts in target/clients/ts, type-checks
// it with `tsc --noEmit --strict`, compiles it and runs it with Node:
//
//   node target/clients/ts/out/journey.js http://127.0.0.1:PORT
//
// `typeProbes` below is never called: each of its lines must be a type
// error (`@ts-expect-error`), so the check fails if the generated types
// stop catching a wrong field, path parameter or enum value.
//
// Prints one PASS line per step; exits non-zero at the first failure.

import { randomUUID } from "node:crypto";
import { isDeepStrictEqual as same } from "node:util";
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Schemas = components["schemas"];
type Message = Schemas["Message"];
type Problem = Schemas["Problem"];
type Api = ReturnType<typeof createClient<paths>>;

const PASSWORD = "correct horse battery";
const METADATA = { model: "gpt-journey", tokens: 42, tags: ["typescript", "generated"] };

class Failed extends Error {}

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Failed(what);
}

/** The body of an answer with the expected status, or a failure that says what came instead. */
function expect<T>(
  answer: { data?: T; error?: unknown; response: Response },
  status: number,
): T {
  const got = answer.response.status;
  if (got !== status || answer.data === undefined) {
    throw new Failed(`status ${got}, expected ${status}: ${JSON.stringify(answer.error ?? answer.data)}`);
  }
  return answer.data;
}

async function journey(base: string): Promise<number> {
  const stamp = Math.random().toString(16).slice(2, 10);
  const anonymous = createClient<paths>({ baseUrl: base });
  const steps: [string, () => Promise<void>][] = [];
  const step = (name: string, run: () => Promise<void>) => steps.push([name, run]);

  let ada!: Schemas["User"];
  let bearer!: Api;
  let key!: Api;
  let bob!: Schemas["TokenResponse"];
  let chat!: Schemas["Chat"];
  let message!: Message;
  const clientId = `journey-${stamp}`;

  step("register: 201, a TokenResponse with a bearer token and the User", async () => {
    const email = `ada-${stamp}@example.org`;
    const answer = expect(
      await anonymous.POST("/api/v1/auth/register", {
        body: { email, password: PASSWORD, full_name: "Ada Lovelace" },
      }),
      201,
    );
    check(answer.token_type === "bearer", `token_type ${answer.token_type}`);
    check(answer.expires_in > 0, "expires_in");
    check(answer.user.email === email, "user");
    ada = answer.user;
    bearer = createClient<paths>({
      baseUrl: base,
      headers: { Authorization: `Bearer ${answer.access_token}` },
    });
  });

  step("create_api_key with the bearer token: 201, CreatedApiKey with its secret", async () => {
    const created: Schemas["CreatedApiKey"] = expect(
      await bearer.POST("/api/v1/api-keys", { body: { name: "journey" } }),
      201,
    );
    check(created.key.startsWith("msv_"), "key starts with msv_");
    check(created.key.startsWith(created.prefix), "prefix is the key's start");
    check(created.name === "journey", "name");
    key = createClient<paths>({ baseUrl: base, headers: { "X-API-Key": created.key } });
  });

  step("get_me with X-API-Key: the same User", async () => {
    const me = expect(await key.GET("/api/v1/users/me"), 200);
    check(me.id === ada.id, "same user id");
  });

  step("create_chat: a group with a second registered user, 201 Chat", async () => {
    bob = expect(
      await anonymous.POST("/api/v1/auth/register", {
        body: { email: `bob-${stamp}@example.org`, password: PASSWORD, full_name: "Bob" },
      }),
      201,
    );
    const body: Schemas["CreateChatRequest"] = { kind: "group", title: "Journey", member_ids: [bob.user.id] };
    chat = expect(await key.POST("/api/v1/chats", { body }), 201);
    check(chat.kind === "group", `kind ${chat.kind}`);
    check(chat.title === "Journey", "title");
    const roles = Object.fromEntries(chat.members.map((m) => [m.user_id, m.role]));
    check(same(roles, { [ada.id]: "owner", [bob.user.id]: "member" }), `members ${JSON.stringify(roles)}`);
    check(chat.last_seq === 0 && chat.last_message == null, "empty chat");
  });

  // Bodies are declared with their schema type: openapi-fetch infers the
  // options object generically, so a misspelt optional field written inline
  // in the call is not reported (openapi-typescript issue 1769); a typed
  // constant gets TypeScript's excess property check.
  const sendBody: Schemas["SendMessageRequest"] = {
    content: "Rocket telemetry nominal",
    role: "assistant",
    rating: true,
    metadata: METADATA,
    client_id: clientId,
  };
  const send = () =>
    key.POST("/api/v1/chats/{chat_id}/messages", { params: { path: { chat_id: chat.id } }, body: sendBody });

  step("send_message: role assistant, rating, metadata, client_id — 201 Message", async () => {
    message = expect(await send(), 201);
    check(message.seq === 1, `seq ${message.seq}`);
    check(message.role === "assistant", `role ${message.role}`);
    check(message.rating === true, `rating ${message.rating}`);
    check(message.client_id === clientId, "client_id");
    check(same(message.metadata, METADATA), `metadata ${JSON.stringify(message.metadata)}`);
    check(message.sender_id === ada.id, "sender");
  });

  step("send_message again with the same client_id: 200, the same message", async () => {
    const again = expect(await send(), 200);
    check(again.id === message.id, "same id");
    check(again.seq === message.seq, "same seq");
    check(again.created_at === message.created_at, "unchanged");
  });

  step("get_chat_history: a MessagePage with exactly that one message", async () => {
    const page: Schemas["MessagePage"] = expect(
      await key.GET("/api/v1/chats/{chat_id}/messages", {
        params: { path: { chat_id: chat.id }, query: { limit: 50 } },
      }),
      200,
    );
    check(page.has_more === false, "has_more");
    check(page.items.length === 1, `${page.items.length} messages`);
    const only = page.items[0]!;
    check(only.id === message.id, "its id");
    check(only.role === "assistant", `role ${only.role}`);
    check(only.rating === true, "rating");
    check(same(only.metadata, METADATA), `metadata ${JSON.stringify(only.metadata)}`);
    check(only.metadata["model"] === "gpt-journey", "metadata item access");
  });

  step("search_messages: q, chat_id and role find it (SearchResults)", async () => {
    const results: Schemas["SearchResults"] = expect(
      await key.GET("/api/v1/messages/search", {
        params: { query: { q: "rock TELEMETRY", chat_id: chat.id, role: "assistant" } },
      }),
      200,
    );
    check(same(results.items.map((m) => m.id), [message.id]), "found once");
    check(results.next_cursor == null, "no next page");
    const none = expect(
      await key.GET("/api/v1/messages/search", { params: { query: { q: "telemetry", role: "user" } } }),
      200,
    );
    check(none.items.length === 0, "role filter excludes it");
  });

  const notFound = async (chatId: string) => {
    const { data, error, response } = await key.GET("/api/v1/chats/{chat_id}", {
      params: { path: { chat_id: chatId } },
    });
    check(response.status === 404, `status ${response.status}`);
    check(data === undefined && error !== undefined, "an error, no data");
    check(
      (response.headers.get("content-type") ?? "").startsWith("application/problem+json"),
      `content-type ${response.headers.get("content-type")}`,
    );
    // `error` is typed from the document: the union of the error responses' bodies, all Problem.
    const problem: Problem = error;
    check(problem.code === "not_found", `code ${problem.code}`);
    check(problem.status === 404, "status");
    check(problem.type === "urn:missive:problem:not_found", `type ${problem.type}`);
  };

  step("get_chat of an id that does not exist: 404, typed as Problem not_found", async () => {
    await notFound(randomUUID());
  });

  step("get_chat of another user's chat: 404 Problem not_found, never 403", async () => {
    const bobClient = createClient<paths>({
      baseUrl: base,
      headers: { Authorization: `Bearer ${bob.access_token}` },
    });
    const theirs = expect(
      await bobClient.POST("/api/v1/chats", { body: { kind: "group", title: "Bob alone", member_ids: [] } }),
      201,
    );
    await notFound(theirs.id);
  });

  let passed = 0;
  for (const [name, run] of steps) {
    const started = performance.now();
    try {
      await run();
    } catch (error) {
      console.log(`FAIL ${name}: ${error instanceof Failed ? error.message : String(error)}`);
      if (!(error instanceof Failed)) console.error(error);
      console.log(`typescript journey: ${passed} passed, 1 failed`);
      return 1;
    }
    passed += 1;
    console.log(`PASS ${name} (${Math.round(performance.now() - started)} ms)`);
  }
  console.log(`typescript journey: ${passed} passed, 0 failed`);
  return 0;
}

/** Never called: proof that the generated types reject what the server would. */
export async function typeProbes(api: Api, chatId: string, m: Message): Promise<void> {
  // @ts-expect-error: a misspelt body field (contnet) is not in SendMessageRequest
  const body: Schemas["SendMessageRequest"] = { contnet: "x", role: "assistant" };
  await api.POST("/api/v1/chats/{chat_id}/messages", { params: { path: { chat_id: chatId } }, body });
  // @ts-expect-error: a misspelt field (membr_ids) is not in CreateChatRequest
  const chat: Schemas["CreateChatRequest"] = { kind: "group", title: "t", membr_ids: [] };
  await api.POST("/api/v1/chats", { body: chat });
  // @ts-expect-error: a misspelt query parameter (befor_seq) of get_chat_history
  await api.GET("/api/v1/chats/{chat_id}/messages", { params: { path: { chat_id: chatId }, query: { befor_seq: 3 } } });
  // @ts-expect-error: the path parameter is chat_id, not chatId
  await api.GET("/api/v1/chats/{chat_id}", { params: { path: { chatId } } });
  // @ts-expect-error: "robot" is not a MessageRole
  await api.POST("/api/v1/chats/{chat_id}/messages", { params: { path: { chat_id: chatId } }, body: { content: "x", role: "robot" } });
  // @ts-expect-error: a misspelt response field (sequence) is not in Message
  void m.sequence;
  // @ts-expect-error: no such path
  await api.GET("/api/v1/chat/{chat_id}", { params: { path: { chat_id: chatId } } });
  // @ts-expect-error: kind is required when creating a chat
  await api.POST("/api/v1/chats", { body: { title: "no kind", member_ids: [] } });
}

const base = process.argv[2];
if (!base) {
  console.error("usage: node journey.js http://127.0.0.1:PORT");
  process.exit(2);
}
process.exitCode = await journey(base.replace(/\/$/, ""));
