#!/usr/bin/env python3
"""The README's Python example (section "Storing LLM conversations"), run
by CI against a real server (scripts/fuzz-api.sh):

    python3 scripts/llm_transcript_example.py http://127.0.0.1:8000

Registers a throwaway user, creates an API key, and stores, rates, finds
and exports a conversation with httpx.
"""
import sys
import uuid

import httpx


def store_conversation(base_url: str, api_key: str) -> None:
    api = httpx.Client(base_url=f"{base_url}/api/v1", headers={"x-api-key": api_key})
    conversation = str(uuid.uuid4())  # the application's own id
    api.post("/chats", json={"id": conversation, "kind": "group", "title": "Support #42",
                             "metadata": {"app": "helpdesk"}}).raise_for_status()
    turns = [
        {"role": "system", "content": "You are a helpful support agent."},
        {"role": "user", "content": "My order is late"},
        {"role": "assistant", "content": "It ships tomorrow.",
         "metadata": {"model": "gpt-5", "usage": {"input_tokens": 31, "output_tokens": 6}}},
    ]
    for i, turn in enumerate(turns):
        turn["client_id"] = f"{conversation}:{i}"  # a retried import stores nothing twice
    stored = api.post(f"/chats/{conversation}/messages/batch", json={"items": turns})
    stored.raise_for_status()
    answer = stored.json()["items"][-1]
    api.patch(f"/messages/{answer['id']}", json={"rating": True}).raise_for_status()
    by_model = api.get("/messages", params={"metadata.model": "gpt-5", "chat_id": conversation})
    assert [m["content"] for m in by_model.json()["items"]] == ["It ships tomorrow."]
    with api.stream("GET", f"/chats/{conversation}/export") as export:
        lines = [line for line in export.iter_lines() if line]
    assert len(lines) == 3


def main() -> None:
    base_url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
    email = f"example-{uuid.uuid4().hex[:12]}@example.org"
    registered = httpx.post(f"{base_url}/api/v1/auth/register", json={
        "email": email, "password": "correct horse battery", "full_name": "Example"})
    registered.raise_for_status()
    token = registered.json()["access_token"]
    key = httpx.post(f"{base_url}/api/v1/api-keys", json={"name": "example"},
                     headers={"authorization": f"Bearer {token}"})
    key.raise_for_status()
    store_conversation(base_url, key.json()["key"])
    print("llm_transcript_example: PASS")


if __name__ == "__main__":
    main()
