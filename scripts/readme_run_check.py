#!/usr/bin/env python3
"""Client side of scripts/readme-run.sh: talks to a server started with the
README's run command, the way a new user's first session would.

    readme_run_check.py wait  [--base URL] [--timeout SECS] [--pid PID] [--log FILE]
    readme_run_check.py check [--base URL]

`wait` polls GET /health/ready until it answers 200 (giving up after
--timeout seconds, or as soon as process --pid has exited, e.g. because the
build failed). `check` registers two users, creates a group chat, opens a
WebSocket as the second user, sends a message over REST and expects it over
the WebSocket, then fetches the documentation pages.

Standard library only: CI machines have python3 but no guaranteed packages,
so the WebSocket client below is a minimal RFC 6455 implementation (client
handshake, masked client frames, unmasked server frames with 7/16/64-bit
lengths, fragmentation, ping answered with pong, close).

Prints one PASS/FAIL line per check; exit code 0 only if every check passed.
"""

import argparse
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class CheckFailed(Exception):
    pass


def passed(what):
    print(f"PASS {what}", flush=True)


def fail(what):
    raise CheckFailed(what)


# --- HTTP -----------------------------------------------------------------


def http(method, url, body=None, token=None, timeout=10):
    """Returns (status, headers, body bytes, final url); never raises on 4xx/5xx."""
    headers = {"accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read(), response.geturl()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read(), url


def expect_json(method, url, status, body=None, token=None):
    got, _, raw, _ = http(method, url, body, token)
    if got != status:
        fail(f"{method} {url}: expected {status}, got {got}: {raw[:500]!r}")
    try:
        return json.loads(raw)
    except ValueError:
        fail(f"{method} {url}: answer is not JSON: {raw[:500]!r}")


# --- WebSocket --------------------------------------------------------------


class WebSocket:
    def __init__(self, url, timeout=10):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "ws":
            raise ValueError(f"only ws:// is supported, not {url}")
        host, port = parts.hostname, parts.port or 80
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""
        key = base64.b64encode(os.urandom(16)).decode()
        host_header = host if port == 80 else f"{host}:{port}"
        self.sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\n"
                f"Host: {host_header}\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n"
                "\r\n"
            ).encode()
        )
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buffer:
            self._fill(deadline)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)  # keep any frame bytes after it
        lines = head.decode("iso-8859-1").split("\r\n")
        status = lines[0]
        if " 101 " not in status + " ":
            raise CheckFailed(f"WebSocket upgrade refused: {status!r} {self.buffer[:300]!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != accept:
            raise CheckFailed(f"bad Sec-WebSocket-Accept: {headers.get('sec-websocket-accept')!r}")

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError from None
        if not chunk:
            raise ConnectionError("server closed the TCP connection")
        self.buffer += chunk

    def _take(self, n, deadline):
        while len(self.buffer) < n:
            self._fill(deadline)
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _send_frame(self, opcode, payload):
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send_text(self, text):
        self._send_frame(0x1, text.encode())

    def _read_frame(self, deadline):
        b0, b1 = self._take(2, deadline)
        fin, opcode = b0 & 0x80, b0 & 0x0F
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", self._take(2, deadline))
        elif n == 127:
            (n,) = struct.unpack("!Q", self._take(8, deadline))
        mask = self._take(4, deadline) if b1 & 0x80 else None
        payload = self._take(n, deadline)
        if mask:  # servers must not mask, but accept it anyway
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return fin, opcode, payload

    def recv_text(self, timeout):
        """The next text message (reassembling fragments); pings are answered,
        pongs ignored. Raises TimeoutError or ConnectionError (on close)."""
        deadline = time.monotonic() + timeout
        message, message_opcode = b"", None
        while True:
            fin, opcode, payload = self._read_frame(deadline)
            if opcode == 0x9:
                self._send_frame(0xA, payload)
                continue
            if opcode == 0xA:
                continue
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                raise ConnectionError(f"server closed the WebSocket: code {code} {payload[2:]!r}")
            if opcode in (0x1, 0x2):
                message, message_opcode = payload, opcode
            elif opcode == 0x0:
                message += payload
            if fin:
                if message_opcode == 0x1:
                    return message.decode()
                message, message_opcode = b"", None  # binary: not part of the protocol; skip

    def close(self):
        try:
            self._send_frame(0x8, struct.pack("!H", 1000))
            deadline = time.monotonic() + 2
            while True:  # until the server's close frame or EOF
                _, opcode, _ = self._read_frame(deadline)
                if opcode == 0x8:
                    break
        except Exception:
            pass
        self.sock.close()


def recv_event(ws, wanted, timeout, match=lambda event: True):
    """Waits for the first frame of type `wanted` satisfying `match`; others are skipped."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        remaining = deadline - time.monotonic()
        try:
            frame = ws.recv_text(max(remaining, 0.001))
        except TimeoutError:
            fail(f"no {wanted!r} frame within {timeout} s (frames seen meanwhile: {seen})")
        except ConnectionError as e:
            fail(f"waiting for {wanted!r}: {e} (frames seen: {seen})")
        event = json.loads(frame)
        if event.get("type") == wanted and match(event):
            return event
        seen.append(frame[:300])


# --- the checks -------------------------------------------------------------


def alive(pid):
    """False once the process has exited (an unreaped zombie counts as exited)."""
    if os.path.isdir("/proc/self"):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rpartition(")")[2].split()[0] != "Z"
        except OSError:
            return False
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def last_line(path):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(f.tell() - 4096, 0))
            lines = [l.strip() for l in f.read().decode(errors="replace").splitlines() if l.strip()]
        return lines[-1][:120] if lines else ""
    except OSError:
        return ""


def wait_ready(base, timeout, pid, log=None):
    url = base + "/health/ready"
    start = time.monotonic()
    last = "no answer yet"
    next_note = start + 60
    while time.monotonic() - start < timeout:
        if pid and not alive(pid):
            print(f"FAIL the server process (pid {pid}) exited before {url} answered 200 ({last})")
            return 1
        try:
            status, _, _, _ = http("GET", url, timeout=2)
            if status == 200:
                passed(f"GET {url} -> 200 after {time.monotonic() - start:.0f} s (build included)")
                return 0
            last = f"last answer {status}"
        except (OSError, urllib.error.URLError) as e:
            last = f"last error: {getattr(e, 'reason', e)}"
        if time.monotonic() > next_note:
            note = f"; output: {last_line(log)}" if log else ""
            print(f"  ... still waiting for {url} ({time.monotonic() - start:.0f} s, {last}{note})", flush=True)
            next_note += 60
        time.sleep(1)
    print(f"FAIL {url} did not answer 200 within {timeout} s ({last})")
    return 1


def check(base):
    api = base + "/api/v1"
    run = uuid.uuid4().hex[:8]

    users = []
    for name in ("Ada", "Bob"):
        body = {
            "email": f"{name.lower()}-{run}@example.org",
            "password": "correct horse battery",
            "full_name": f"{name} Readme",
        }
        answer = expect_json("POST", api + "/auth/register", 201, body)
        token, user_id = answer.get("access_token"), (answer.get("user") or {}).get("id")
        if not token or not user_id:
            fail(f"register {name}: no access_token or user.id in {answer}")
        users.append((token, user_id))
    (ada_token, ada_id), (bob_token, bob_id) = users
    passed("POST /api/v1/auth/register -> 201 with access_token and user.id (2 users)")

    chat = expect_json(
        "POST",
        api + "/chats",
        201,
        {"kind": "group", "title": f"README check {run}", "member_ids": [bob_id]},
        ada_token,
    )
    chat_id = chat.get("id")
    if not chat_id:
        fail(f"create chat: no id in {chat}")
    passed(f"POST /api/v1/chats (group with the second user) -> 201, chat {chat_id}")

    ws_url = base.replace("http://", "ws://", 1) + "/api/v1/ws?access_token=" + urllib.parse.quote(bob_token)
    ws = WebSocket(ws_url)
    try:
        ready = recv_event(ws, "ready", 10)
        if ready.get("user_id") != bob_id:
            fail(f"ready frame names user {ready.get('user_id')}, expected {bob_id}: {ready}")
        passed("WebSocket /api/v1/ws?access_token=… upgraded; first frame is ready with the user's id")

        content = f"hello from the README check {run}"
        message = expect_json("POST", f"{api}/chats/{chat_id}/messages", 201, {"content": content}, ada_token)
        if message.get("content") != content:
            fail(f"send: stored content {message.get('content')!r}, expected {content!r}")
        passed(f"POST /api/v1/chats/{{id}}/messages -> 201, seq {message.get('seq')}")

        sent = time.monotonic()
        event = recv_event(
            ws,
            "message.created",
            10,
            lambda e: (e.get("message") or {}).get("id") == message.get("id"),
        )
        got = event["message"]
        if got.get("content") != content or got.get("chat_id", chat_id) != chat_id:
            fail(f"message.created carries {got}, expected content {content!r} in chat {chat_id}")
        passed(f"message.created with the content arrived over the WebSocket after {1000 * (time.monotonic() - sent):.0f} ms")
    finally:
        ws.close()

    for path, kind in (("/docs", "html"), ("/redoc", "html"), ("/openapi.json", "json")):
        status, headers, raw, final = http("GET", base + path)
        if status != 200:
            fail(f"GET {path}: expected 200, got {status}: {raw[:300]!r}")
        content_type = headers.get("content-type", "")
        where = "" if final == base + path else f" (via {final[len(base):]})"
        if kind == "html":
            if "text/html" not in content_type or b"<html" not in raw[:2000].lower():
                fail(f"GET {path}{where}: not an HTML page ({content_type}): {raw[:300]!r}")
            passed(f"GET {path} -> 200 HTML{where}")
        else:
            try:
                doc = json.loads(raw)
            except ValueError:
                fail(f"GET {path}: not JSON: {raw[:300]!r}")
            if not str(doc.get("openapi", "")).startswith("3.") or not doc.get("paths"):
                fail(f"GET {path}: not an OpenAPI 3 document: {raw[:300]!r}")
            passed(f"GET {path} -> 200, OpenAPI {doc['openapi']} with {len(doc['paths'])} paths")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["wait", "check"])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--timeout", type=float, default=1200)
    parser.add_argument("--pid", type=int, help="wait: give up as soon as this process has exited")
    parser.add_argument("--log", help="wait: show this file's last line while waiting")
    args = parser.parse_args()
    base = args.base.rstrip("/")
    if args.command == "wait":
        return wait_ready(base, args.timeout, args.pid, args.log)
    try:
        return check(base)
    except CheckFailed as e:
        print(f"FAIL {e}", flush=True)
    except Exception as e:  # noqa: BLE001 - any surprise is a failure to report, not a traceback
        print(f"FAIL unexpected {type(e).__name__}: {e}", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
