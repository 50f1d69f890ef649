// Missive's client API layer: REST calls and one live WebSocket with
// automatic reconnect and resume by sync token. No DOM, no state beyond
// the connection: the web client's views build on it, and any front end
// can (see the README's "Sync" section for the algorithm it follows).

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export class Missive {
  /** `base`: the server's origin ("" for this page's); `token`: a bearer
   *  access token; `onUnauthorized`: called once credentials stop working. */
  constructor({ base = "", token = null, onUnauthorized = () => {} } = {}) {
    this.base = base;
    this.token = token;
    this.onUnauthorized = onUnauthorized;
    this.socket = null;
    this.retry = 0;
    this.timer = null;
  }

  /** One REST call under `/api/v1`: the parsed JSON answer (null for 204);
   *  an `ApiError` carrying the problem document otherwise. */
  async request(method, path, body) {
    const headers = { accept: "application/json" };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${this.base}/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      if (response.status === 401 && this.token) this.onUnauthorized();
      throw new ApiError(response.status, data);
    }
    return data;
  }

  /** Uploads a file (`POST /uploads`, the file as the body), reporting
   *  progress as a fraction; the upload object. XMLHttpRequest, because
   *  fetch cannot report an upload's progress. `signal` cancels it. */
  upload(file, { onProgress = () => {}, signal } = {}) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", `${this.base}/api/v1/uploads?filename=${encodeURIComponent(file.name || "file")}`);
      if (this.token) xhr.setRequestHeader("authorization", `Bearer ${this.token}`);
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
    const headers = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const response = await fetch(`${this.base}/api/v1${path}`, { headers });
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
    if (!this.live || !this.token) return;
    const { since, onEvent, onStatus, onExpired } = this.live;
    onStatus("connecting");
    const origin = this.base || location.origin;
    const url = new URL(`${origin}/api/v1/ws`);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("access_token", this.token);
    const token = since();
    if (token) url.searchParams.set("since", token);
    const socket = new WebSocket(url);
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
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
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
