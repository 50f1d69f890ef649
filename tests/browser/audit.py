#!/usr/bin/env python3
"""Accessibility and layout audit of the web client in a real Chromium.

    python3 tests/browser/audit.py PATH/TO/missive

Starts the server on a random port with a fresh SQLite database (the
`Server` of chat.py), seeds users, chats and messages over the REST API,
then:

- axe: runs axe-core on each screen — the sign-in form, the signed-in shell
  with no chat open, a direct chat with messages open, each side panel
  opened by a button named "Members", "Pinned messages" or "Search
  messages", and a thread opened by its "N replies" button (a screen whose
  button is absent is skipped) — in the light and dark colour schemes at
  1280x800 and 360x740. A violation of impact
  "serious" or "critical" fails the screen; each is printed with its id,
  impact and first target selectors (a panel's scan names only what the
  chat behind it did not have). The pointer rests outside the page for
  each scan; at 1280 px the chat is also scanned with the pointer over a
  message of the other person's and over one of yours (tools shown on
  hover), and at 360 px the context is a touch screen (no hover). Moderate and minor ones are listed at the
  end as notes and fail nothing.
- phone layout: at 360 px wide no screen scrolls sideways, the chat list
  and the composer can be reached (the phone layout shows the list or the
  conversation, and "Back to chats" returns to the list), and a long
  unbroken word in a message wraps.
- keyboard: with the keyboard alone (Tab, Shift+Tab, Enter, typing) a
  person registers, starts a direct chat with someone registered over the
  REST API, and sends a message that arrives; every focus stop on the way
  is visible and has a visible focus indicator (an outline or a shadow).
  And a keyboard user's focus (on a message's Edit button) stays put when
  a new message arrives and the conversation re-renders.

axe-core comes from target/browser-node/node_modules/axe-core/axe.min.js
(scripts/browser-tests.sh installs it, pinned; AXE_JS overrides the path).
The app's Content-Security-Policy forbids inline scripts, so axe is put in
the page with `page.evaluate`, which the policy does not govern.

Prints one PASS/FAIL line per test; exits non-zero if any failed.
"""

import asyncio
import json
import re
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from playwright.async_api import async_playwright

from chat import CHROMIUM, PASSWORD, Server, register, send, watch

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = Path(os.environ.get("AXE_JS", ROOT / "target/browser-node/node_modules/axe-core/axe.min.js"))
SCHEMES = ("light", "dark")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
VIEWPORTS = (DESKTOP, PHONE)


def device(viewport):
    """Context options for a viewport: below the client's phone breakpoint,
    a touch screen (no hover: what a phone shows)."""
    return {"viewport": viewport, "has_touch": viewport["width"] <= 640}
# Side panels: (screen name, the accessible name of the button that opens it).
PANELS = (("members", "Members"), ("pinned-messages", "Pinned messages"),
          ("search-messages", "Search messages"), ("thread", re.compile(r"\d+ repl(y|ies)")))
BLOCKING = ("serious", "critical")
TIMEOUT = 10_000  # ms: a client that never shows a screen fails in seconds
LONG_WORD = "https://example.org/" + "a-very-long-path-segment-without-spaces" * 4


# ------------------------------------------------------------ REST helpers

class ApiFailure(Exception):
    pass


def rest(base, method, path, token=None, body=None):
    """One call to the server's REST API; the decoded JSON answer, or None."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + "/api/v1" + path, data=data, method=method)
    request.add_header("accept", "application/json")
    if body is not None:
        request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            raw = answer.read()
    except urllib.error.HTTPError as error:
        raise ApiFailure(f"{method} {path}: {error.code} {error.read()[:300]!r}") from None
    return json.loads(raw) if raw else None


def api_user(base, email, name):
    """Registers a user over REST: {"token", "id", "email", "name"}."""
    answer = rest(base, "POST", "/auth/register", body={"email": email, "password": PASSWORD, "full_name": name})
    return {"token": answer["access_token"], "id": answer["user"]["id"], "email": email, "name": name}


def api_send(base, user, chat_id, content, **extra):
    return rest(base, "POST", f"/chats/{chat_id}/messages", user["token"], {"content": content, **extra})


def api_react(base, user, message_id, emoji="%F0%9F%91%8D"):
    return rest(base, "PUT", f"/messages/{message_id}/reactions/{emoji}", user["token"])


# ------------------------------------------------------------ page helpers

async def sign_in(page, base, user):
    await page.goto(base + "/")
    await page.fill("#email", user["email"])
    await page.fill("#password", PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.wait_for_selector("#chat-list")
    await settle(page)


async def settle(page):
    """Waits for the live connection (if the client shows it) and for the
    requests in flight to finish, so a scan sees a screen at rest."""
    if await page.locator("#live-status").count():
        try:
            await page.wait_for_selector("#live-status:has-text('Live')", timeout=5_000)
        except Exception:  # noqa: BLE001 - a client that words it otherwise is fine
            pass
    try:
        await page.wait_for_load_state("networkidle", timeout=5_000)
    except Exception:  # noqa: BLE001
        pass
    await page.wait_for_timeout(150)


async def open_chat(page, title):
    await page.locator("#chat-list button", has_text=title).first.click()
    await page.wait_for_selector("#composer-input", state="visible")
    await page.wait_for_selector("article.message")
    # Senders' names arrive after the messages: wait until every one shows.
    await page.wait_for_function(
        "[...document.querySelectorAll('article.message .meta')].every((m) => m.textContent.trim())",
        timeout=10_000)
    await settle(page)


async def panel_button(page, name):
    button = page.get_by_role("button", name=name, exact=True) if isinstance(name, str) \
        else page.get_by_role("button", name=name)
    return button.first if await button.count() else None


async def open_panel(page, name):
    """Opens a side panel by its button; False if the button is absent."""
    button = await panel_button(page, name)
    if button is None:
        return False
    await button.click()
    await settle(page)
    box = page.locator("input[type=search]:visible")
    if name == "Search messages" and await box.count():
        # A query, so the scan sees results (with their highlighted words).
        await box.first.fill("release")
        await box.first.press("Enter")
        await settle(page)
    return True


# ------------------------------------------------------------------- seed

_seeded = 0


def seed(base):
    """A fresh viewer with a direct chat (a few messages both ways, reactions
    both ways, one in a thread) with a peer, and a group with unread
    messages; answers (viewer, peer)."""
    global _seeded
    _seeded += 1
    n = _seeded
    viewer = api_user(base, f"viewer{n}@example.org", "Ada Lovelace")
    peer = api_user(base, f"peer{n}@example.org", "Bob Marsh")
    third = api_user(base, f"third{n}@example.org", "Chen Wu")
    direct = rest(base, "POST", "/chats", viewer["token"], {"kind": "direct", "member_ids": [peer["id"]]})
    first = api_send(base, peer, direct["id"], "Morning! Did last night's build go green?")
    mine = api_send(base, viewer, direct["id"], "It did, and the release notes are drafted.")
    api_send(base, peer, direct["id"], "Great: I'll tell the team at stand-up.")
    api_send(base, viewer, direct["id"], "The flaky test was a timeout.", reply_to=first["id"])
    api_react(base, peer, mine["id"])
    api_react(base, viewer, first["id"])
    rest(base, "POST", f"/chats/{direct['id']}/read", peer["token"], {"seq": mine["seq"]})
    group = rest(base, "POST", "/chats", peer["token"],
                 {"kind": "group", "title": "Launch plan", "member_ids": [viewer["id"], third["id"]]})
    api_send(base, peer, group["id"], "Checklist is in the doc; please have a look.")
    api_send(base, third, group["id"], "Looks good to me.")
    return viewer, peer


# -------------------------------------------------------------------- axe

class Scanner:
    def __init__(self):
        self.source = AXE_JS.read_text(encoding="utf-8")
        self.notes = {}  # (id, impact) -> set of screens

    async def scan(self, page, label, known=None):
        """Runs axe on the page; answers the blocking violations. With known
        (what an earlier scan answered), only the kinds of node (markup and
        failure) it did not list: a panel's scan names what the panel adds,
        not the page behind it."""
        if not await page.evaluate("typeof window.axe !== 'undefined'"):
            await page.evaluate(self.source + "\n;true")
        violations = await page.evaluate("""async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            const why = (n) => [...n.any, ...n.all, ...n.none].map((c) => c.message).filter(Boolean)[0] || "";
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => ({
                    target: n.target.map(String).join(" >>> "),
                    // What the node is, not where: the same kind of element
                    // failing the same way in a panel as in the chat matches.
                    kind: `${n.html.replace(/\s(id|data-[\w-]+)="[^"]*"/g, "")} ${why(n)}`,
                    why: why(n),
                })),
            }));
        }""")
        if known is not None:
            seen = {(v["id"], n["kind"]) for v in known for n in v["nodes"]}
            for v in violations:
                v["nodes"] = [n for n in v["nodes"] if (v["id"], n["kind"]) not in seen]
            violations = [v for v in violations if v["nodes"]]
        blocking = [v for v in violations if v["impact"] in BLOCKING]
        for v in violations:
            if v["impact"] not in BLOCKING:
                self.notes.setdefault((v["id"], v["impact"], v["help"]), set()).add(label)
        return blocking


def describe(violations):
    lines = []
    for v in violations:
        count = len(v["nodes"])
        lines.append(f"    {v['id']} ({v['impact']}, {count} node{'s' if count != 1 else ''}): {v['help']}")
        for node in v["nodes"][:3]:
            lines.append(f"      {node['target']}")
        if v["nodes"][0]["why"]:
            lines.append(f"      first: {v['nodes'][0]['why']}")
    return "\n".join(lines)


async def axe_screens(browser, server, scanner, scheme, viewport, report):
    """Scans every screen in one colour scheme and viewport; reports each."""
    size = f"{viewport['width']}x{viewport['height']}"
    viewer, peer = seed(server.base)
    context = await browser.new_context(color_scheme=scheme, **device(viewport))
    context.set_default_timeout(TIMEOUT)
    page = await context.new_page()
    problems = []
    watch(page, problems)
    try:
        async def check(screen, known=None, rest=True):
            if rest:  # no hover state where the pointer happened to stop
                await page.mouse.move(0, 0)
            blocking = await scanner.scan(page, f"{screen} {scheme} {size}", known)
            name = f"axe {screen} {scheme} {size}"
            if blocking:
                more = " more than the chat behind it" if known is not None else ""
                report(name, False, f"{len(blocking)} serious/critical violation(s){more}\n{describe(blocking)}")
            else:
                report(name, True)
            return blocking

        await page.goto(server.base + "/")
        await page.wait_for_selector("#email")
        await settle(page)
        await check("sign-in")
        await sign_in(page, server.base, viewer)
        await check("shell")
        await open_chat(page, peer["name"])
        chat = await check("chat")
        if await page.evaluate("matchMedia('(hover: hover)').matches"):
            # What a pointer over a message shows (tools revealed on hover).
            for whose, selector in (("theirs", "article.message:not(.mine)"), ("mine", "article.message.mine")):
                message = page.locator(selector)
                if await message.count():
                    await message.last.hover()
                    await page.wait_for_timeout(400)  # past any fade-in
                    await check(f"chat:hover-{whose}", known=chat, rest=False)
        for screen, button_name in PANELS:
            if await panel_button(page, button_name) is None:
                continue
            if await open_panel(page, button_name):
                await check("panel:" + screen, known=chat)
            # Back to the chat with no panel, whatever closing a panel takes.
            await page.reload()
            await page.wait_for_selector("#chat-list")
            await settle(page)
            await open_chat(page, peer["name"])
    except Exception as error:
        raise RuntimeError(f"{error!r}; the page said: {problems}") from None
    finally:
        await context.close()


# ------------------------------------------------------------ phone layout

async def overflow(page):
    return await page.evaluate(
        "({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")


async def reachable(page, selector):
    """Whether the element is shown, fits the viewport once scrolled to, and
    is not covered at its centre; a reason when it is not."""
    target = page.locator(selector).first
    if not await target.count():
        return f"{selector} is not in the page"
    if not await target.is_visible():
        return f"{selector} is not visible"
    await target.scroll_into_view_if_needed()
    return await target.evaluate("""(el) => {
        const r = el.getBoundingClientRect();
        if (r.left < -1 || r.right > innerWidth + 1) return `${el.id || el.tagName} spans x ${r.left}..${r.right} of ${innerWidth}`;
        if (r.top < -1 || r.top > innerHeight - 8) return `${el.id || el.tagName} starts at y ${r.top} of ${innerHeight}`;
        const x = r.left + Math.min(r.width / 2, 20), y = r.top + Math.min(r.height / 2, 10);
        const hit = document.elementFromPoint(x, y);
        if (hit && hit !== el && !el.contains(hit)) return `${el.id || el.tagName} is covered by ${hit.tagName.toLowerCase()}.${hit.className}`;
        return null;
    }""")


async def phone_layout(browser, server):
    problems = []
    viewer, peer = seed(server.base)
    context = await browser.new_context(**device(PHONE))
    context.set_default_timeout(TIMEOUT)
    page = await context.new_page()
    watch(page, problems)

    async def no_overflow(screen):
        sizes = await overflow(page)
        if sizes["scroll"] > sizes["inner"]:
            problems.append(f"{screen}: scrolls sideways (scrollWidth {sizes['scroll']} > innerWidth {sizes['inner']})")

    try:
        await page.goto(server.base + "/")
        await page.wait_for_selector("#email")
        await no_overflow("sign-in")
        await sign_in(page, server.base, viewer)
        await no_overflow("shell")
        if why := await reachable(page, "#chat-list"):
            problems.append(f"shell: chat list not reachable: {why}")
        await open_chat(page, peer["name"])
        # A long unbroken word must wrap, not widen the page.
        await send(page, LONG_WORD)
        await page.wait_for_selector(f"article.message:not(.pending):has-text('{LONG_WORD[:40]}')", timeout=10_000)
        await no_overflow("chat")
        if not await page.locator(".shell.open").count():
            problems.append("chat: the shell is not marked open (.shell.open)")
        if await page.locator("#chat-list").is_visible():
            problems.append("chat: the chat list still shows beside the conversation at 360 px")
        if why := await reachable(page, "#composer-input"):
            problems.append(f"chat: composer not reachable: {why}")
        for screen, button_name in PANELS:
            if await open_panel(page, button_name):
                await no_overflow("panel " + screen)
                await page.reload()
                await page.wait_for_selector("#chat-list")
                await open_chat(page, peer["name"])
        back = page.get_by_role("button", name="Back to chats", exact=True)
        if not await back.count() or not await back.first.is_visible():
            problems.append("chat: no visible 'Back to chats' button")
        else:
            await back.first.click()
            await page.wait_for_timeout(200)
            if why := await reachable(page, "#chat-list"):
                problems.append(f"after 'Back to chats': chat list not reachable: {why}")
            await no_overflow("shell after back")
        # The register form too, with a long address typed in.
        await page.evaluate("sessionStorage.clear()")
        await register(page, server.base, "phone.person.with.a.rather.long.address@example.org", "Phone Person")
        await no_overflow("shell of a new user")
        assert not problems, "\n    " + "\n    ".join(problems)
    finally:
        await context.close()


# ---------------------------------------------------------------- keyboard

FOCUS_JS = """() => {
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement) return null;
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    const transparent = (c) => c === "transparent" || /rgba\\(.*,\\s*0\\)$/.test(c);
    const label = el.getAttribute("aria-label")
        || (el.labels && el.labels.length ? el.labels[0].textContent : "")
        || (el.tagName === "INPUT" || el.tagName === "TEXTAREA" ? el.placeholder : el.textContent) || "";
    return {
        tag: el.tagName.toLowerCase(), id: el.id, name: label.trim().replace(/\\s+/g, " ").slice(0, 60),
        visible: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight
            && r.left < innerWidth && el.checkVisibility({opacityProperty: true, visibilityProperty: true}),
        outline: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0 && !transparent(s.outlineColor),
        shadow: !!s.boxShadow && s.boxShadow !== "none",
        style: `outline: ${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}; box-shadow: ${s.boxShadow}`,
    };
}"""


def show(focus):
    if focus is None:
        return "(nothing: focus left the page)"
    ident = f"#{focus['id']}" if focus["id"] else ""
    return f"<{focus['tag']}{ident} {focus['name']!r}>"


class Walk:
    """Keyboard steps that check every focus stop."""

    def __init__(self, page):
        self.page = page
        self.issues = []
        self.steps = 0
        self.stops = 0
        self.trace = os.environ.get("AUDIT_TRACE") == "1"

    async def focus(self):
        return await self.page.evaluate(FOCUS_JS)

    async def press(self, key):
        await self.page.keyboard.press(key)
        self.steps += 1
        focus = await self.focus()
        if self.trace:
            print(f"  {self.steps:3} {key:9} {show(focus)}")
        if focus is not None and key in ("Tab", "Shift+Tab"):
            self.stops += 1
            if not focus["visible"]:
                self.issues.append(f"step {self.steps} ({key}): {show(focus)} has the focus but is not visible")
            elif not (focus["outline"] or focus["shadow"]):
                self.issues.append(f"step {self.steps} ({key}): {show(focus)} has no visible focus indicator"
                                   f" ({focus['style']})")
        return focus

    async def to(self, wanted, what, key="Tab", limit=40):
        """Presses key until the focus satisfies wanted (or already does)."""
        focus = await self.focus()
        seen = []
        for _ in range(limit):
            if focus is not None and wanted(focus):
                return focus
            focus = await self.press(key)
            seen.append(show(focus))
        raise AssertionError(f"{what} not reached with {limit} × {key}; went through: {', '.join(seen)}")


def button(name):
    return lambda f: f["tag"] == "button" and f["name"] == name


def by_id(element_id):
    return lambda f: f["id"] == element_id


async def keyboard_walkthrough(browser, server):
    problems = []
    peer = api_user(server.base, "kim.keys@example.org", "Kim Keys")
    context = await browser.new_context(**device(DESKTOP))
    context.set_default_timeout(TIMEOUT)
    page = await context.new_page()
    watch(page, problems)
    walk = Walk(page)
    keys = page.keyboard
    try:
        await page.goto(server.base + "/")
        await page.wait_for_selector("#email")
        # Register with the form.
        await walk.to(by_id("email"), "the e-mail field")
        await keys.type("keyboard.only@example.org")
        await walk.to(by_id("password"), "the password field")
        await keys.type(PASSWORD)
        await walk.to(by_id("full-name"), "the name field")
        await keys.type("Kay Board")
        await walk.to(button("Register"), "the Register button")
        await keys.press("Enter")
        try:
            await page.wait_for_selector("#chat-list", timeout=10_000)
        except Exception:
            error = await page.locator("[role=alert]").all_inner_texts()
            raise AssertionError(f"registering with the keyboard failed: {error}") from None
        await settle(page)
        # A direct chat with the person registered over REST.
        await walk.to(by_id("new-chat-emails"), "the new chat's e-mail field")
        await keys.type(peer["email"])
        await walk.to(button("Start chat"), "the Start chat button")
        await keys.press("Enter")
        await page.wait_for_selector("#composer-input", timeout=10_000)
        await settle(page)
        # Send a message with Enter.
        await walk.to(by_id("composer-input"), "the composer")
        text = "Typed without a mouse"
        await keys.type(text)
        await keys.press("Enter")
        await page.wait_for_selector(f"article.message:not(.pending):has-text('{text}')", timeout=10_000)
        chats = rest(server.base, "GET", "/chats", peer["token"])["items"]
        assert chats, "the peer has no chat"
        received = rest(server.base, "GET", f"/chats/{chats[0]['id']}/messages", peer["token"])["items"]
        assert [m["content"] for m in received] == [text], received
        await settle(page)
        # Back through the conversation to the message list, then once round
        # the whole page: every stop must show where the focus is.
        await walk.to(by_id("message-list"), "the message list", key="Shift+Tab", limit=20)
        await walk.to(by_id("composer-input"), "the composer again")
        await walk.press("Tab")
        await walk.to(by_id("composer-input"), "the composer, round the whole page", limit=80)
        if walk.issues:
            problems.extend(walk.issues)
        assert not problems, "\n    " + "\n    ".join(problems)
        return f"{walk.stops} focus stops checked"
    finally:
        await context.close()


async def focus_survives_live_updates(browser, server):
    """A keyboard user's focus stays where it is when a message arrives."""
    viewer, peer = seed(server.base)
    context = await browser.new_context(**device(DESKTOP))
    context.set_default_timeout(TIMEOUT)
    page = await context.new_page()
    try:
        await sign_in(page, server.base, viewer)
        await open_chat(page, peer["name"])
        walk = Walk(page)
        await walk.to(by_id("composer-input"), "the composer")
        before = await walk.to(button("Edit this message"), "an Edit button", key="Shift+Tab", limit=20)
        chats = rest(server.base, "GET", "/chats", peer["token"])["items"]
        direct = next(c for c in chats if c["kind"] == "direct")
        api_send(server.base, peer, direct["id"], "Are you still there?")
        await page.wait_for_selector("article.message:has-text('Are you still there?')", timeout=10_000)
        await settle(page)
        after = await walk.focus()
        assert after is not None and after["tag"] == before["tag"] and after["name"] == before["name"], \
            f"the focus was on {show(before)}; after a message arrived it is on {show(after)}"
        assert not walk.issues, "\n    " + "\n    ".join(walk.issues)
    finally:
        await context.close()


# -------------------------------------------------------------------- main

async def main(binary):
    if not AXE_JS.is_file():
        print(f"FAIL setup: {AXE_JS} is missing (scripts/browser-tests.sh installs axe-core)")
        return 1
    server = Server(binary)
    server.start()
    failed = passed = 0
    started = time.monotonic()

    def report(name, ok, detail=""):
        nonlocal failed, passed
        if ok:
            passed += 1
            print(f"PASS {name}", flush=True)
        else:
            failed += 1
            print(f"FAIL {name}: {detail}", flush=True)

    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            scanner = Scanner()
            only = os.environ.get("AUDIT_ONLY", "")  # e.g. "keyboard": the tests whose names contain it
            for scheme in SCHEMES if only in "axe" else ():
                for viewport in VIEWPORTS:
                    try:
                        await axe_screens(browser, server, scanner, scheme, viewport, report)
                    except Exception as error:  # noqa: BLE001 - report every failure
                        report(f"axe {scheme} {viewport['width']}x{viewport['height']}", False, repr(error))
            for test in (phone_layout, keyboard_walkthrough, focus_survives_live_updates):
                if only not in test.__name__:
                    continue
                try:
                    said = await test(browser, server)
                    report(test.__name__ + (f" ({said})" if said else ""), True)
                except AssertionError as error:
                    report(test.__name__, False, str(error) or repr(error))
                except Exception as error:  # noqa: BLE001
                    report(test.__name__, False, repr(error))
            await browser.close()
            if scanner.notes:
                print("notes (axe, moderate or minor: not failing):")
                for (rule, impact, help_text), screens in sorted(scanner.notes.items()):
                    print(f"  {rule} ({impact}): {help_text} — on {len(screens)} screen(s), e.g. {sorted(screens)[0]}")
    finally:
        server.stop()
    print(f"audit took {time.monotonic() - started:.0f} s")
    print(f"audit: {passed} passed, {failed} failed")
    if failed:
        print(f"server log: {os.path.join(server.dir, 'server.log')}")
    else:
        shutil.rmtree(server.dir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
