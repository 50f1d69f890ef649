#!/usr/bin/env python3
"""A user's journey through the Python client that openapi-python-client
generates from the server's own /openapi.json (scripts/client-journeys.sh
generates it into target/clients/python and installs it first).

    python tests/clients/python_journey.py http://127.0.0.1:PORT

Only the generated package is used: its operation functions
(`missive_client.api.<tag>.<operation_id>`), its models and its two
clients — `Client` for registration, `AuthenticatedClient` with a bearer
token, then with an API key (`auth_header_name="X-API-Key"`, no prefix)
for everything else. No raw HTTP.

Prints one PASS line per step (a NOTE line for what the generated client
cannot express) and exits non-zero at the first failure.
"""

import sys
import time
import traceback
import uuid
from http import HTTPStatus

from missive_client import AuthenticatedClient, Client
from missive_client.api.api_keys import create_api_key
from missive_client.api.auth import register
from missive_client.api.chats import create_chat, get_chat
from missive_client.api.messages import get_chat_history, search_messages, send_message
from missive_client.api.users import get_me
from missive_client.models import (
    Chat,
    ChatKind,
    CreateApiKeyRequest,
    CreateChatRequest,
    CreatedApiKey,
    MemberRole,
    Message,
    MessagePage,
    MessageRole,
    Problem,
    RegisterRequest,
    SearchResults,
    SendMessageRequest,
    # One shared free-form `Metadata` schema: one model.
    Metadata,
    TokenResponse,
    User,
)

PASSWORD = "correct horse battery"
METADATA = {"model": "gpt-journey", "tokens": 42, "tags": ["python", "generated"]}


class Failed(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failed(what)


def expect(response, status, model):
    """The status and the parsed model of a `sync_detailed` answer."""
    check(
        response.status_code == status,
        f"status {int(response.status_code)}, expected {int(status)}: {response.content[:300]!r}",
    )
    check(
        isinstance(response.parsed, model),
        f"parsed as {type(response.parsed).__name__}, expected {model.__name__}",
    )
    return response.parsed


def main(base):
    stamp = uuid.uuid4().hex[:8]
    anonymous = Client(base_url=base, raise_on_unexpected_status=True)
    steps = []

    def step(name):
        def wrap(fn):
            steps.append((name, fn))
            return fn
        return wrap

    state = {}

    @step("register: 201, a TokenResponse with a bearer token and the User")
    def _():
        email = f"ada-{stamp}@example.org"
        answer = expect(
            register.sync_detailed(
                client=anonymous,
                body=RegisterRequest(email=email, password=PASSWORD, full_name="Ada Lovelace"),
            ),
            HTTPStatus.CREATED,
            TokenResponse,
        )
        check(answer.token_type == "bearer", f"token_type {answer.token_type!r}")
        check(answer.expires_in > 0, "expires_in")
        check(isinstance(answer.user, User) and answer.user.email == email, "user")
        state["ada"] = answer.user
        state["bearer"] = AuthenticatedClient(
            base_url=base, token=answer.access_token, raise_on_unexpected_status=True
        )

    @step("create_api_key with the bearer token: 201, CreatedApiKey with its secret")
    def _():
        created = expect(
            create_api_key.sync_detailed(
                client=state["bearer"], body=CreateApiKeyRequest(name="journey")
            ),
            HTTPStatus.CREATED,
            CreatedApiKey,
        )
        check(created.key.startswith("msv_"), "key starts with msv_")
        check(created.key.startswith(created.prefix), "prefix is the key's start")
        check(created.name == "journey", "name")
        # From here on only the key: X-API-Key, without a "Bearer" prefix.
        state["key"] = AuthenticatedClient(
            base_url=base,
            token=created.key,
            prefix="",
            auth_header_name="X-API-Key",
            raise_on_unexpected_status=True,
        )

    @step("get_me with X-API-Key: the same User")
    def _():
        me = expect(get_me.sync_detailed(client=state["key"]), HTTPStatus.OK, User)
        check(me.id == state["ada"].id, "same user id")

    @step("create_chat: a group with a second registered user, 201 Chat")
    def _():
        bob = expect(
            register.sync_detailed(
                client=anonymous,
                body=RegisterRequest(
                    email=f"bob-{stamp}@example.org", password=PASSWORD, full_name="Bob"
                ),
            ),
            HTTPStatus.CREATED,
            TokenResponse,
        )
        state["bob"] = bob
        chat = expect(
            create_chat.sync_detailed(
                client=state["key"],
                body=CreateChatRequest(
                    kind=ChatKind.GROUP, title="Journey", member_ids=[bob.user.id]
                ),
            ),
            HTTPStatus.CREATED,
            Chat,
        )
        check(chat.kind is ChatKind.GROUP, f"kind {chat.kind!r}")
        check(chat.title == "Journey", "title")
        roles = {m.user_id: m.role for m in chat.members}
        check(
            roles == {state["ada"].id: MemberRole.OWNER, bob.user.id: MemberRole.MEMBER},
            f"members {roles}",
        )
        check(chat.last_seq == 0 and chat.last_message is None, "empty chat")
        state["chat"] = chat

    def send():
        return send_message.sync_detailed(
            state["chat"].id,
            client=state["key"],
            body=SendMessageRequest(
                content="Rocket telemetry nominal",
                role=MessageRole.ASSISTANT,
                rating=True,
                metadata=Metadata.from_dict(METADATA),
                client_id=f"journey-{stamp}",
            ),
        )

    @step("send_message: role assistant, rating, metadata, client_id — 201 Message")
    def _():
        message = expect(send(), HTTPStatus.CREATED, Message)
        check(message.seq == 1, f"seq {message.seq}")
        check(message.role is MessageRole.ASSISTANT, f"role {message.role!r}")
        check(message.rating is True, f"rating {message.rating!r}")
        check(message.client_id == f"journey-{stamp}", "client_id")
        check(message.metadata.to_dict() == METADATA, f"metadata {message.metadata.to_dict()}")
        check(message.sender_id == state["ada"].id, "sender")
        state["message"] = message

    @step("send_message again with the same client_id: 200, the same message")
    def _():
        again = expect(send(), HTTPStatus.OK, Message)
        check(again.id == state["message"].id, "same id")
        check(again.seq == state["message"].seq, "same seq")
        check(again.created_at == state["message"].created_at, "unchanged")

    @step("get_chat_history: a MessagePage with exactly that one message")
    def _():
        page = expect(
            get_chat_history.sync_detailed(state["chat"].id, client=state["key"], limit=50),
            HTTPStatus.OK,
            MessagePage,
        )
        check(page.has_more is False, "has_more")
        check(len(page.items) == 1, f"{len(page.items)} messages")
        only = page.items[0]
        check(only.id == state["message"].id, "its id")
        check(only.role is MessageRole.ASSISTANT, f"role {only.role!r}")
        check(only.rating is True, "rating")
        check(only.metadata.to_dict() == METADATA, f"metadata {only.metadata.to_dict()}")
        check(only.metadata["model"] == "gpt-journey", "metadata item access")

    @step("search_messages: q, chat_id and role find it (SearchResults)")
    def _():
        results = expect(
            search_messages.sync_detailed(
                client=state["key"],
                q="rock TELEMETRY",
                chat_id=state["chat"].id,
                role=MessageRole.ASSISTANT,
            ),
            HTTPStatus.OK,
            SearchResults,
        )
        check([m.id for m in results.items] == [state["message"].id], "found once")
        check(results.next_cursor is None, "no next page")
        none = expect(
            search_messages.sync_detailed(
                client=state["key"], q="telemetry", role=MessageRole.USER
            ),
            HTTPStatus.OK,
            SearchResults,
        )
        check(none.items == [], "role filter excludes it")

    @step("get_chat of an id that does not exist: 404, parsed as Problem not_found")
    def _():
        response = get_chat.sync_detailed(uuid.uuid4(), client=state["key"])
        problem = expect(response, HTTPStatus.NOT_FOUND, Problem)
        check(problem.code == "not_found", f"code {problem.code!r}")
        check(problem.status == 404, "status")
        check(problem.type_ == "urn:missive:problem:not_found", f"type {problem.type_!r}")
        check(
            response.headers["content-type"].startswith("application/problem+json"),
            response.headers["content-type"],
        )

    @step("get_chat of another user's chat: 404 Problem not_found, never 403")
    def _():
        bob = AuthenticatedClient(
            base_url=base, token=state["bob"].access_token, raise_on_unexpected_status=True
        )
        theirs = expect(
            create_chat.sync_detailed(
                client=bob,
                body=CreateChatRequest(kind=ChatKind.GROUP, title="Bob alone", member_ids=[]),
            ),
            HTTPStatus.CREATED,
            Chat,
        )
        problem = expect(
            get_chat.sync_detailed(theirs.id, client=state["key"]),
            HTTPStatus.NOT_FOUND,
            Problem,
        )
        check(problem.code == "not_found", f"code {problem.code!r}")

    passed = failed = 0
    for name, fn in steps:
        started = time.monotonic()
        try:
            fn()
        except Exception as error:  # noqa: BLE001 - report and stop
            print(f"FAIL {name}: {error}")
            if not isinstance(error, Failed):
                traceback.print_exc()
            failed = 1
            break
        passed += 1
        print(f"PASS {name} ({(time.monotonic() - started) * 1000:.0f} ms)")

    # Not asserted: the document's `metadata.KEY` query parameter (a
    # placeholder for metadata.<any key>=VALUE) becomes one fixed keyword.
    print(
        "NOTE search_messages(metadata_key=...) sends the literal query "
        "parameter 'metadata.KEY'; the generated client cannot filter on "
        "metadata.model=... (see the report in scripts/client-journeys.sh)"
    )
    print(f"python journey: {passed} passed, {failed} failed")
    return failed


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1].rstrip("/")))
