"""The anthropic integration: the real SDK against a loopback Messages API, inside real requests.

``messages.create`` (streamed or not) and the ``messages.stream()`` helper
(``text_stream``, events, ``get_final_message()``) run in sync views (Django's
test Client) and async views (AsyncClient); see tests/llm_site.py.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

import anthropic
import pytest
from anthropic.lib.streaming import MessageStreamManager
from anthropic.resources.messages import AsyncMessages, Messages
from django.http import HttpResponse
from django.test import AsyncClient, Client

from djdt_signalpanels import recording
from djdt_signalpanels.integrations import anthropic as integration
from djdt_signalpanels.signals import llm_call
from tests import llm_site
from tests.llm_helpers import (  # noqa: F401 (the fixtures)
    PANEL,
    assert_key_never_recorded,
    calls_of,
    check_call,
    page_text,
    servers_fixture,
    site_fixture,
)
from tests.pages import render_panel, request_id, stored_panel

pytestmark = pytest.mark.urls("tests.llm_site")

# 2 words: the server reports 1 as read from the cache and 1 as input; the
# answer "Echo: hello there" has 3.
PROMPT = "hello there"


def fetch(client: Client, url: str) -> HttpResponse:
    if url.startswith("/async/"):
        response = asyncio.run(AsyncClient().get(url))
    else:
        response = client.get(url)
    assert response.status_code == 200
    return response


MESSAGE = {
    "provider": "anthropic",
    "operation": "chat",
    "request_model": "claude-haiku-4-5",
    "response_model": "claude-haiku-4-5-20250101",
    "input_tokens": 2,  # input_tokens + cache_read_input_tokens
    "cached_tokens": 1,
    "output_tokens": 3,
    "finish_reasons": ["end_turn"],
}

CASES = [
    ("messages", "Echo: hello there", {**MESSAGE, "stream": False}),
    ("messages_stream", "Echo: hello there", {**MESSAGE, "stream": True}),
    ("helper_text", "Echo: hello there", {**MESSAGE, "stream": True}),
    ("helper_final", "end_turn", {**MESSAGE, "stream": True}),
]


@pytest.mark.parametrize("prefix", ["", "/async"])
@pytest.mark.parametrize(("op", "page", "expected"), CASES)
def test_call_is_recorded(
    client: Client, prefix: str, op: str, page: str, expected: dict[str, Any]
) -> None:
    response = fetch(client, f"{prefix}/anthropic/{op}/?prompt={PROMPT}")

    (call,) = calls_of(response)
    assert page_text(response) == page
    check_call(call, expected)


def test_max_tokens(client: Client) -> None:
    response = fetch(client, "/anthropic/helper_final/?max=2")

    (call,) = calls_of(response)
    assert page_text(response) == "max_tokens"
    assert call["finish_reasons"] == ["max_tokens"]
    assert call["output_tokens"] == 2


def test_several_calls_in_one_request(client: Client) -> None:
    response = fetch(client, "/async/anthropic/messages_stream/?calls=3")

    assert [call["stream"] for call in calls_of(response)] == [True] * 3


# Streams left early: one call each, with what was known


@pytest.mark.parametrize(
    "url",
    [
        "/anthropic/messages_stream_break/",  # break, no close: collected
        "/anthropic/helper_break/",  # break out of text_stream in the helper's block
        "/async/anthropic/messages_stream_close/",  # break, then await close()
        "/async/anthropic/helper_break/",
    ],
)
def test_stream_left_early(client: Client, url: str) -> None:
    response = fetch(client, url)

    (call,) = calls_of(response)
    assert page_text(response) in ("stopped", "closed")
    assert call["stream"] is True
    assert call["response_model"] == "claude-haiku-4-5-20250101"
    assert call["input_tokens"] == 2  # message_start has them
    # Only message_delta tells the output tokens and the stop reason.
    assert "output_tokens" not in call
    assert "finish_reasons" not in call
    assert "error_type" not in call


# Errors: recorded, and raised unchanged


@pytest.mark.parametrize(
    ("model", "error"),
    [
        ("claude-429", "RateLimitError"),
        ("claude-500", "InternalServerError"),
        ("claude-529", "OverloadedError"),
    ],
)
@pytest.mark.parametrize("op", ["messages", "messages_stream", "helper_text"])
@pytest.mark.parametrize("prefix", ["", "/async"])
def test_api_error(
    client: Client, prefix: str, op: str, model: str, error: str
) -> None:
    response = fetch(client, f"{prefix}/anthropic/{op}/?model={model}")

    (call,) = calls_of(response)
    assert page_text(response) == error  # the view caught the SDK's own error
    assert call["error_type"] == error
    assert call["request_model"] == model
    assert "response_model" not in call


@pytest.mark.parametrize("op", ["messages_stream", "helper_text"])
@pytest.mark.parametrize("prefix", ["", "/async"])
def test_stream_fails_midway(client: Client, prefix: str, op: str) -> None:
    response = fetch(client, f"{prefix}/anthropic/{op}/?model=claude-cut")

    (call,) = calls_of(response)
    assert page_text(response) == "APIStatusError"  # an error event in a 200 stream
    assert call["error_type"] == "APIStatusError"
    assert call["response_model"] == "claude-cut-20250101"
    assert call["time_to_first_chunk"] <= call["duration"]
    assert "finish_reasons" not in call


def test_errors_are_raised_unchanged(servers: Any) -> None:
    def failure() -> anthropic.OverloadedError:
        with anthropic.Anthropic(
            api_key="sk-x", base_url=servers[1].url, max_retries=0
        ) as sdk:
            with pytest.raises(anthropic.OverloadedError) as raised:
                with sdk.messages.stream(
                    model="claude-529",
                    max_tokens=10,
                    messages=[{"role": "user", "content": "x"}],
                ):
                    pass
        return raised.value

    plain = failure()
    active = recording.start(llm_call)
    try:
        recorded = failure()
        (event,) = active.events(llm_call)
    finally:
        recording.stop(active, llm_call)

    assert event.kwargs["error_type"] == "OverloadedError"
    assert type(recorded) is type(plain)
    assert recorded.status_code == plain.status_code == 529
    # The same answer but for the server's request id.
    assert recorded.body["error"] == plain.body["error"]  # type: ignore[index]
    assert (
        recorded.message.split("'request_id'")[0]
        == plain.message.split("'request_id'")[0]
    )


# Previews and secrets


SECRET_PROMPT = "the zebra-marker crossed the quick brown fox"


@pytest.mark.parametrize(
    "url",
    [
        "/anthropic/messages/",
        "/anthropic/messages_stream/",
        "/async/anthropic/helper_text/",
        "/anthropic/helper_final/",
    ],
)
def test_no_content_without_previews(client: Client, url: str) -> None:
    response = client.get(url, {"prompt": SECRET_PROMPT})
    rid = request_id(response.content.decode())
    stats = stored_panel(rid, PANEL).get_stats()

    (call,) = [event["kwargs"] for event in stats["events"]]
    assert "input_preview" not in call
    assert "output_preview" not in call
    assert "zebra" not in json.dumps(stats)
    assert "zebra" not in render_panel(client, rid, PANEL)


@pytest.mark.parametrize(
    "url",
    [
        "/anthropic/messages/",
        "/anthropic/messages_stream/",
        "/anthropic/helper_text/",
        "/async/anthropic/helper_final/",
    ],
)
def test_previews(client: Client, settings: Any, url: str) -> None:
    settings.DJDT_SIGNALPANELS = {"LLM_PREVIEWS": True, "LLM_PREVIEW_LENGTH": 12}
    response = client.get(url, {"prompt": SECRET_PROMPT})
    rid = request_id(response.content.decode())

    (call,) = calls_of(response)
    content = render_panel(client, rid, PANEL)

    assert call["input_preview"] == "the zebra-ma…"
    assert call["output_preview"] == "Echo: the ze…"
    assert "the zebra-ma…" in content
    assert "crossed" not in content


def test_previews_of_content_blocks(client: Client, settings: Any) -> None:
    settings.DJDT_SIGNALPANELS = {"LLM_PREVIEWS": True}
    response = client.get("/anthropic/messages/", {"prompt": "short"})

    (call,) = calls_of(response)
    assert call["input_preview"] == "short"
    assert call["output_preview"] == "Echo: short"


@pytest.mark.parametrize("previews", [False, True])
@pytest.mark.parametrize(
    "url",
    [
        "/anthropic/messages/",
        "/anthropic/helper_text/?model=claude-cut",
        "/async/anthropic/messages_stream/?model=claude-429",
    ],
)
def test_api_key_is_never_recorded(
    client: Client, settings: Any, toolbar_config: Any, url: str, previews: bool
) -> None:
    settings.DJDT_SIGNALPANELS = {"LLM_PREVIEWS": previews}
    toolbar_config(ENABLE_STACKTRACES_LOCALS=True)
    assert_key_never_recorded(client, fetch(client, url), llm_site.ANTHROPIC_KEY)


# The stack ends at the caller's line


@pytest.mark.parametrize(
    ("url", "function", "line"),
    [
        (
            "/anthropic/messages/",
            "anthropic_messages",
            "message = client.messages.create(",
        ),
        (
            "/anthropic/messages_stream/",
            "anthropic_messages_stream",
            "for event in client.messages.create(",
        ),
        (
            "/anthropic/helper_text/",
            "anthropic_helper_text",
            "with client.messages.stream(",
        ),
        (
            "/anthropic/helper_text/?model=claude-429",
            "anthropic_helper_text",
            "with client.messages.stream(",
        ),
        (
            "/async/anthropic/messages/",
            "aanthropic_messages",
            "message = await client.messages.create(",
        ),
        (
            "/async/anthropic/helper_final/",
            "aanthropic_helper_final",
            "async with client.messages.stream(",
        ),
    ],
)
def test_stack_ends_at_the_calling_line(
    client: Client, url: str, function: str, line: str
) -> None:
    response = fetch(client, url)
    rid = request_id(response.content.decode())

    (event,) = stored_panel(rid, PANEL).get_stats()["events"]

    filename, _, name, source, _ = event["stack"][-1]
    assert filename == llm_site.__file__
    assert name == function
    assert source == line


# Installing


def test_install_is_idempotent_and_uninstall_restores() -> None:
    patched = Messages.stream
    original = patched.__wrapped__

    assert integration.install() is True
    assert Messages.stream is patched

    integration.uninstall()
    try:
        assert not integration.is_installed()
        assert Messages.stream is original
    finally:
        integration.install()
    assert Messages.stream.__wrapped__ is original


def test_patched_methods() -> None:
    assert inspect.iscoroutinefunction(AsyncMessages.create)
    assert integration.patched_methods() == [
        "anthropic.resources.messages.messages.Messages.create",
        "anthropic.resources.messages.messages.AsyncMessages.create",
        "anthropic.resources.messages.messages.Messages.stream",
        "anthropic.resources.messages.messages.AsyncMessages.stream",
    ]


def sdk(servers: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="sk-x", base_url=servers[1].url, max_retries=0)


def stream_x(client: anthropic.Anthropic) -> MessageStreamManager:
    return client.messages.stream(
        model="claude-haiku-4-5",
        max_tokens=10,
        messages=[{"role": "user", "content": "x"}],
    )


def test_helper_outside_a_recording_is_the_sdks_own(servers: Any) -> None:
    with sdk(servers) as client:
        manager = stream_x(client)
        with manager as stream:
            text = stream.get_final_text()

    assert type(manager).__name__ == "MessageStreamManager"
    assert type(stream._raw_stream) is anthropic.Stream
    assert text == "Echo: x"


def test_recorded_helper_keeps_its_sdk_classes(servers: Any) -> None:
    active = recording.start(llm_call)
    try:
        with sdk(servers) as client:
            manager = stream_x(client)
            assert isinstance(manager, MessageStreamManager)
            with manager as stream:
                assert isinstance(stream._raw_stream, anthropic.Stream)
                text = stream.get_final_text()
        (event,) = active.events(llm_call)
    finally:
        recording.stop(active, llm_call)

    assert text == "Echo: x"
    assert event.kwargs["output_tokens"] == 2
