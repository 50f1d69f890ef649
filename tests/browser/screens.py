#!/usr/bin/env python3
"""Screenshots of the web client, with a believable conversation.

    python3 tests/browser/screens.py PATH/TO/missive [OUT_DIR]   # default: docs/screenshots

Starts the server on a random port with a fresh SQLite database (the
`Server` of chat.py), seeds three people over the REST API — a group
"Launch plan" with a dozen messages, reactions, a threaded reply and a
pin; direct chats (one with an unread message); an LLM transcript with
`assistant` turns rated thumbs-up — then signs in through the form and
saves:

    signin.png      the sign-in form, 1280x800
    chat-light.png  "Launch plan" open with a thread beside it, 1280x800, light scheme
    chat-dark.png   the LLM transcript chat (roles, rating, metadata), dark scheme
    phone.png       "Launch plan" open at 360x740, a touch screen

Every run starts from nothing and sends the same data in the same order,
so the pictures differ between runs only where the client shows times
(in UTC, en-US).
scripts/screenshots.sh (`make screenshots`) installs what this needs.
"""

import asyncio
import os
import shutil
import sys
import time
from pathlib import Path

from playwright.async_api import async_playwright

from audit import api_react, api_send, api_user, open_chat, rest, settle, sign_in
from chat import CHROMIUM, PASSWORD, Server, watch

ROOT = Path(__file__).resolve().parents[2]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
THUMBS_UP, HEART, PARTY = "%F0%9F%91%8D", "%E2%9D%A4%EF%B8%8F", "%F0%9F%8E%89"
GROUP = "Launch plan"
PLACE = {"locale": "en-US", "timezone_id": "UTC"}  # the same clock format wherever it runs


def seed(base):
    """The data of the pictures; answers Ada, who signs in."""
    ada = api_user(base, "ada@example.org", "Ada Lovelace")
    grace = api_user(base, "grace@example.org", "Grace Hopper")
    alan = api_user(base, "alan@example.org", "Alan Turing")

    def say(user, chat, content, **extra):
        return api_send(base, user, chat["id"], content, **extra)

    def chat(owner, body):
        return rest(base, "POST", "/chats", owner["token"], body)

    def read_all(user, chat_, message):
        rest(base, "POST", f"/chats/{chat_['id']}/read", user["token"], {"seq": message["seq"]})

    # An LLM transcript kept in Missive: user and assistant turns, rated.
    notes = chat(ada, {"kind": "group", "title": "Release notes assistant", "member_ids": [],
                       "metadata": {"app": "release-notes"}})
    say(ada, notes, "Summarise this week's changes for the changelog.", role="user")
    answer = say(ada, notes, "This week: reconnecting clients catch up from their sync token instead of "
                             "reloading; reactions became toggles with live counts; your newest message "
                             "shows who has seen it.", role="assistant", metadata={"model": "demo-model"})
    rest(base, "PATCH", f"/messages/{answer['id']}", ada["token"], {"rating": True})
    say(ada, notes, "Shorter, please: one line each.", role="user")
    say(ada, notes, "• Faster catch-up after a reconnect\n• Reactions as toggles\n• “Seen by” on your newest message",
        role="assistant", rating=True, metadata={"model": "demo-model"})

    # A direct chat, read.
    lunch = chat(ada, {"kind": "direct", "member_ids": [grace["id"]]})
    say(grace, lunch, "Lunch after the launch review?")
    say(ada, lunch, "Yes! 12:30 at the usual place?")
    last = say(grace, lunch, "See you there.")
    read_all(ada, lunch, last)

    # The group the pictures show.
    group = chat(ada, {"kind": "group", "title": GROUP, "member_ids": [grace["id"], alan["id"]]})
    say(ada, group, "Morning all: launch is Thursday 10:00 UTC. The checklist is pinned.")
    checklist = say(ada, group, "1. Freeze main Wednesday noon\n2. Final migration dry run\n"
                                "3. Status page entry and announcement drafted")
    rest(base, "PUT", f"/chats/{group['id']}/pins/{checklist['id']}", ada["token"])
    dry_run = say(grace, group, "Migration dry run done on staging: 4 min 12 s, no lock held over 200 ms.")
    api_react(base, ada, dry_run["id"], THUMBS_UP)
    api_react(base, alan, dry_run["id"], THUMBS_UP)
    api_react(base, alan, dry_run["id"], PARTY)
    say(alan, group, "Load test at three times last week's peak: p99 stayed under 80 ms.")
    say(grace, group, "Nice. Do we keep the old WebSocket endpoint for one more release?")
    say(ada, group, "Yes, one release with a deprecation header, then it goes.")
    announcement = say(grace, group, "The announcement draft is in the doc; comments welcome.")
    say(ada, group, "Read it: two small wording fixes, otherwise ship it.", reply_to=announcement["id"])
    say(alan, group, "I'll write the status page entry tonight.")
    rollback = say(alan, group, "Rollback plan: flip the feature flag; the schema change is additive.")
    api_react(base, ada, rollback["id"], THUMBS_UP)
    api_react(base, grace, rollback["id"], THUMBS_UP)
    say(grace, group, "Who is on call Thursday?")
    say(alan, group, "Me until 18:00, then Grace.")
    thanks = say(ada, group, "Perfect. The freeze starts tomorrow at noon. Thanks, everyone!")
    api_react(base, grace, thanks["id"], HEART)
    read_all(grace, group, thanks)
    read_all(alan, group, thanks)

    # The newest chat, unread: a badge in the list.
    review = chat(alan, {"kind": "direct", "member_ids": [ada["id"]]})
    say(alan, review, "Could you review the rollback PR before lunch?")
    return ada


async def quiet(page):
    """No focus ring, no caret, nothing moving: the picture is of the page."""
    await settle(page)
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    await page.mouse.move(0, 0)
    await page.wait_for_timeout(200)


async def shoot(page, path):
    await page.screenshot(path=str(path), animations="disabled", caret="hide")
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", flush=True)


async def main(binary, out):
    out.mkdir(parents=True, exist_ok=True)
    server = Server(binary)
    server.start()
    problems = []
    started = time.monotonic()
    try:
        ada = seed(server.base)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])

            context = await browser.new_context(viewport=DESKTOP, color_scheme="light", **PLACE)
            page = await context.new_page()
            watch(page, problems)
            await page.goto(server.base + "/")
            await page.fill("#email", ada["email"])
            await page.fill("#password", PASSWORD)
            await quiet(page)
            await shoot(page, out / "signin.png")
            await context.close()

            for name, viewport, scheme in (("chat-light.png", DESKTOP, "light"),
                                           ("chat-dark.png", DESKTOP, "dark"),
                                           ("phone.png", PHONE, "light")):
                context = await browser.new_context(viewport=viewport, color_scheme=scheme,
                                                    has_touch=viewport is PHONE, **PLACE)
                page = await context.new_page()
                watch(page, problems)
                await sign_in(page, server.base, ada)
                if name == "chat-dark.png":
                    # The transcript view: role labels, the rating, metadata.
                    await page.click("nav.chats li button:has-text('Release notes assistant')")
                    await page.wait_for_selector("article.message.role-assistant")
                    await page.locator("article.message.role-assistant summary").last.click()
                else:
                    await open_chat(page, GROUP)
                if name == "chat-light.png":
                    # A thread open beside the conversation.
                    await page.click("#message-list button.thread-summary")
                    await page.wait_for_selector(".thread article.message >> nth=1")
                await quiet(page)
                await shoot(page, out / name)
                await context.close()
            await browser.close()
    finally:
        server.stop()
    if problems:
        print("problems seen in the page:\n  " + "\n  ".join(problems))
        print(f"server log: {os.path.join(server.dir, 'server.log')}")
        return 1
    shutil.rmtree(server.dir, ignore_errors=True)
    print(f"screenshots took {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    sys.exit(asyncio.run(main(sys.argv[1], Path(sys.argv[2]) if len(sys.argv) == 3 else ROOT / "docs/screenshots")))
