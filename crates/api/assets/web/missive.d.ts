// Types of Missive's JavaScript SDK (/sdk/missive.js). The shapes follow
// /openapi.json (REST) and /asyncapi.json (WebSocket frames).

/** An RFC 9457 problem document, as every error answers. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { field: string; message: string }[];
}

export declare class ApiError extends Error {
  /** HTTP status (0: the network failed). */
  status: number;
  problem: Problem | null;
  /** Seconds to wait before retrying (429, 503), when the server said. */
  retryAfter: number | null;
}

export type MessageRole = "user" | "assistant" | "system" | "developer" | "tool";

export interface Upload {
  id: string;
  filename: string;
  content_type: string;
  size: number;
  sha256: string;
  width?: number;
  height?: number;
  thumbnail: boolean;
  created_at: string;
}

export interface Message {
  id: string;
  chat_id: string;
  seq: number;
  sender_id: string;
  content: string;
  role: MessageRole;
  rating: boolean | null;
  client_id: string | null;
  reply_to: string | null;
  thread_root_id: string | null;
  mentions: string[];
  mention_all: boolean;
  sent_at: string;
  created_at: string;
  edited_at: string | null;
  deleted: boolean;
  metadata: Record<string, unknown>;
  pinned: { by: string; at: string } | null;
  reactions?: { reaction: string; count: number; me: boolean }[];
  attachments: Upload[];
  [field: string]: unknown;
}

export interface SendMessage {
  content?: string;
  client_id?: string;
  role?: MessageRole;
  rating?: boolean;
  sent_at?: string;
  reply_to?: string;
  metadata?: Record<string, unknown>;
  mentions?: string[];
  mention_all?: boolean;
  attachments?: string[];
}

/** A server frame: `type` and the event's fields (see /asyncapi.json). */
export type ServerEvent =
  | { type: "ready"; user_id: string; token?: string }
  | { type: "synced"; token: string }
  | { type: "message.created" | "message.updated" | "message.deleted" | "message.pinned" | "message.unpinned"; message: Message; token?: string }
  | { type: "reaction.added" | "reaction.removed"; chat_id: string; message_id: string; seq: number; reaction: string; user_id: string; count?: number; token?: string }
  | { type: "thread.updated"; chat_id: string; root_id: string; thread: unknown; token?: string }
  | { type: "chat.created" | "chat.updated"; chat: Record<string, unknown>; token?: string }
  | { type: "chat.deleted"; chat_id: string; token?: string }
  | { type: "member.added" | "member.removed"; chat_id: string; user_id: string; token?: string }
  | { type: "chat.read"; chat_id: string; user_id: string; last_read_seq: number; token?: string }
  | { type: "typing"; chat_id: string; user_id: string }
  | { type: "ack"; ref: unknown; message?: Message }
  | { type: "error"; ref: unknown; error: Problem; retry_after?: number }
  | { type: "pong"; ref?: unknown };

export interface MissiveOptions {
  /** The server's origin, e.g. "https://chat.example.org" ("" in a page it served). */
  base?: string;
  token?: string | null;
  apiKey?: string | null;
  onUnauthorized?: () => void;
  /** A WebSocket implementation (Node before 22: the `ws` package). */
  WebSocket?: unknown;
  fetch?: typeof fetch;
}

export declare class Missive {
  constructor(options?: MissiveOptions);
  token: string | null;
  apiKey: string | null;
  /** One REST call under /api/v1: the parsed answer (null for 204). */
  request<T = any>(method: string, path: string, body?: unknown): Promise<T>;
  /** Every page of a cursor-paged list. */
  all<T = any>(path: string, limit?: number): Promise<T[]>;
  /** Registers (or signs in) and keeps the token. */
  signIn(account: { email: string; password: string; full_name?: string; login?: boolean }): Promise<{ access_token: string; user: Record<string, unknown> }>;
  /** Sends a message with a client_id, retried on transient failures (stored once). */
  sendMessage(chatId: string, body: SendMessage, options?: { retries?: number }): Promise<Message>;
  /** Uploads a file with progress (browsers). */
  upload(file: Blob & { name?: string }, options?: { onProgress?: (fraction: number) => void; signal?: AbortSignal }): Promise<Upload>;
  /** A download as a Blob. */
  blob(path: string): Promise<Blob>;
  /** Opens the live connection, reconnecting with `since()` after any drop. */
  connect(handlers: {
    since: () => string | null;
    onEvent: (event: ServerEvent) => void;
    onStatus?: (status: "connecting" | "live" | "offline") => void;
    onExpired?: () => void;
  }): void;
  /** Sends a command frame when live; false otherwise. */
  command(frame: { type: string; [field: string]: unknown }): boolean;
  close(): void;
}
