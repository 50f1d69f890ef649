// Missive's JavaScript SDK: REST calls and one live WebSocket with
// automatic reconnect and resume by sync token, and sends that are safe
// to retry. No DOM, no build step, no dependency: served at
// /sdk/missive.js (types: /sdk/missive.d.ts) for any front end, used by
// the web client, and runs in Node (pass `WebSocket` there before Node 22).
// See the README's "Sync" section for the algorithm it follows.

export class ApiError extends Error {
  constructor(status, problem, retryAfter = null) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    /** Seconds to wait (a 429's or 503's `Retry-After`), when given. */
    this.retryAfter = retryAfter;
  }
}

export class Missive {
  /** `base`: the server's origin ("" for this page's); `token`: a bearer
   *  access token, or `apiKey`; `onUnauthorized`: called once credentials
   *  stop working; `WebSocket` and `fetch`: implementations to use where
   *  the platform has none (Node before 22 has no WebSocket). */
  constructor({ base = "", token = null, apiKey = null, onUnauthorized = () => {},
    WebSocket: socketClass = globalThis.WebSocket, fetch: fetchImpl = globalThis.fetch?.bind(globalThis) } = {}) {
    this.base = base;
    this.token = token;
    this.apiKey = apiKey;
    this.onUnauthorized = onUnauthorized;
    this.WebSocket = socketClass;
    this.fetch = fetchImpl;
    this.socket = null;
    this.retry = 0;
    this.timer = null;
  }

  /** One REST call under `/api/v1`: the parsed JSON answer (null for 204);
   *  an `ApiError` carrying the problem document otherwise. */
  async request(method, path, body) {
    const headers = { accept: "application/json", ...this.credentials() };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await this.fetch(`${this.base}/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      if (response.status === 401 && (this.token || this.apiKey)) this.onUnauthorized();
      throw new ApiError(response.status, data, Number(response.headers.get("retry-after")) || null);
    }
    return data;
  }

  /** The headers that authenticate a request. */
  credentials() {
    if (this.token) return { authorization: `Bearer ${this.token}` };
    if (this.apiKey) return { "x-api-key": this.apiKey };
    return {};
  }

  /** Registers (or, with `login: true`, signs in) and keeps the token. */
  async signIn({ email, password, full_name: fullName, login = false }) {
    const answer = await this.request("POST", login ? "/auth/login" : "/auth/register",
      login ? { email, password } : { email, password, full_name: fullName });
    this.token = answer.access_token;
    return answer;
  }

  /** Sends a message, safe to retry: it carries a `client_id` (given, or
   *  made here), and a network failure, 429, 503 or 5xx is retried up to
   *  `retries` times with the same one — the server stores it once and
   *  answers the stored message to every repeat. */
  async sendMessage(chatId, body, { retries = 3 } = {}) {
    const message = { ...body, client_id: body.client_id || globalThis.crypto.randomUUID() };
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.request("POST", `/chats/${chatId}/messages`, message);
      } catch (error) {
        const transient = !(error instanceof ApiError) || error.status === 0 || error.status === 429 || error.status >= 500;
        if (!transient || attempt >= retries) throw error;
        const wait = error.retryAfter || 0.2 * 2 ** attempt;
        await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      }
    }
  }

  /** Uploads a file (`POST /uploads`, the file as the body), reporting
   *  progress as a fraction; the upload object. XMLHttpRequest, because
   *  fetch cannot report an upload's progress. `signal` cancels it. */
  upload(file, { onProgress = () => {}, signal } = {}) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", `${this.base}/api/v1/uploads?filename=${encodeURIComponent(file.name || "file")}`);
      for (const [name, value] of Object.entries(this.credentials())) xhr.setRequestHeader(name, value);
      xhr.setRequestHeader("content-type", file.type || "application/octet-stream");
      xhr.setRequestHeader("accept", "application/json");
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
        if (xhr.status === 201) resolve(data);
        else {
          if (xhr.status === 401 && this.token) this.onUnauthorized();
          reject(new ApiError(xhr.status, data));
        }
      };
      xhr.onerror = () => reject(new ApiError(0, { detail: "the upload failed (network)" }));
      xhr.onabort = () => reject(new ApiError(0, { detail: "cancelled" }));
      signal?.addEventListener("abort", () => xhr.abort());
      xhr.send(file);
    });
  }

  /** A download as a Blob (`path` under `/api/v1`, with the credentials a
   *  plain link or <img> could not carry). */
  async blob(path) {
    const response = await this.fetch(`${this.base}/api/v1${path}`, { headers: this.credentials() });
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    return response.blob();
  }

  /** Every page of a cursor-paged list. */
  async all(path, limit = 100) {
    const items = [];
    let cursor = null;
    do {
      const join = path.includes("?") ? "&" : "?";
      const page = await this.request("GET", `${path}${join}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return items;
  }

  /** Opens the live connection and keeps it open: `since()` gives the
   *  token to resume from at each (re)connection; `onEvent` gets every
   *  frame; `onStatus` "connecting" | "live" | "offline"; `onExpired` when
   *  the token is too old to resume (reload the state, then connect anew). */
  connect({ since, onEvent, onStatus = () => {}, onExpired = () => {} }) {
    this.live = { since, onEvent, onStatus, onExpired };
    this.open();
  }

  open() {
    if (!this.live || !(this.token || this.apiKey)) return;
    const { since, onEvent, onStatus, onExpired } = this.live;
    onStatus("connecting");
    const origin = this.base || globalThis.location.origin;
    const url = new URL(`${origin}/api/v1/ws`);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    if (this.token) url.searchParams.set("access_token", this.token);
    else url.searchParams.set("api_key", this.apiKey);
    const token = since();
    if (token) url.searchParams.set("since", token);
    const socket = new this.WebSocket(url);
    this.socket = socket;
    socket.onmessage = (frame) => {
      let event;
      try {
        event = JSON.parse(frame.data);
      } catch {
        return;
      }
      onEvent(event);
      if (event.type === "synced" || event.type === "ready") {
        this.retry = 0;
        onStatus("live");
      }
    };
    socket.onclose = (close) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (close.code === 4001) return this.onUnauthorized();
      if (close.code === 4010) return onExpired();
      onStatus("offline");
      this.retry = Math.min(this.retry + 1, 6);
      this.timer = setTimeout(() => this.open(), 250 * 2 ** this.retry);
    };
  }

  /** Sends a command frame (e.g. `{type: "typing", chat_id}`) when live. */
  command(frame) {
    if (this.socket?.readyState !== 1) return false; // OPEN
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  close() {
    this.live = null;
    clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
  }
}
