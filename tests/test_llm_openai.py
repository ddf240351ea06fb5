"""The openai integration: the real SDK against a loopback OpenAI API, inside real requests.

Every instrumented method runs in a sync view (Django's test Client) and in an
async view (AsyncClient), streamed and not; see tests/llm_site.py.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai
import pytest
from django.dispatch import receiver
from django.http import HttpResponse
from django.test import AsyncClient, Client
from openai.lib.streaming.chat import ChatCompletionStream, ChatCompletionStreamManager
from openai.resources.chat.completions import AsyncCompletions, Completions

from djdt_signalpanels import recording
from djdt_signalpanels.integrations import openai as integration
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

PROMPT = "hello there"  # 2 tokens; the answer "Echo: hello there" has 3


def get(client: Client, url: str) -> tuple[HttpResponse, list[dict[str, Any]]]:
    """The page, and the kwargs of each call the request recorded (from the store)."""
    response = client.get(url)
    assert response.status_code == 200
    return response, calls_of(response)


def aget(url: str) -> tuple[HttpResponse, list[dict[str, Any]]]:
    response = asyncio.run(AsyncClient().get(url))
    assert response.status_code == 200
    return response, calls_of(response)


CHAT = {
    "provider": "openai",
    "operation": "chat",
    "request_model": "gpt-4o-mini",
    "response_model": "gpt-4o-mini-2025-01-01",
    "input_tokens": 2,
    "output_tokens": 3,
    "cached_tokens": 1,
    "reasoning_tokens": 2,
    "finish_reasons": ["stop"],
}
RESPONSES = {**CHAT, "operation": "responses", "finish_reasons": ["completed"]}
EMBEDDINGS = {
    "provider": "openai",
    "operation": "embeddings",
    "request_model": "text-embedding-3-small",
    "response_model": "text-embedding-3-small",
}

CASES = [
    ("chat", {**CHAT, "stream": False}),
    ("chat_stream", {**CHAT, "stream": True}),
    ("chat_helper", {**CHAT, "stream": True}),
    ("responses", {**RESPONSES, "stream": False}),
    ("responses_stream", {**RESPONSES, "stream": True}),
    ("responses_helper", {**RESPONSES, "stream": True}),
]


# Each method, sync and async


@pytest.mark.parametrize(("op", "expected"), CASES)
def test_sync_call_is_recorded(
    client: Client, op: str, expected: dict[str, Any]
) -> None:
    response, (call,) = get(client, f"/openai/{op}/?prompt={PROMPT}")

    assert page_text(response) == "Echo: hello there"
    check_call(call, expected)


@pytest.mark.parametrize(("op", "expected"), CASES)
def test_async_call_is_recorded(op: str, expected: dict[str, Any]) -> None:
    response, (call,) = aget(f"/async/openai/{op}/?prompt={PROMPT}")

    assert page_text(response) == "Echo: hello there"
    check_call(call, expected)


def test_sync_embeddings(client: Client) -> None:
    response, (call,) = get(client, f"/openai/embeddings/?prompt={PROMPT}")

    assert page_text(response) == "2 embeddings"
    # Two inputs of two words each; embeddings neither stream nor answer.
    check_call(call, {**EMBEDDINGS, "input_tokens": 4})


def test_async_embeddings() -> None:
    response, (call,) = aget(f"/async/openai/embeddings/?prompt={PROMPT}")

    assert page_text(response) == "1 embeddings"
    check_call(call, {**EMBEDDINGS, "input_tokens": 2})


def test_several_calls_in_one_request(client: Client) -> None:
    _, calls = get(client, "/openai/chat/?calls=3")

    assert [call["operation"] for call in calls] == ["chat"] * 3


def test_finish_reason_length(client: Client) -> None:
    _, (chat,) = get(client, "/openai/chat_stream/?max=2")
    _, (response,) = get(client, "/openai/responses/?max=2")

    assert chat["finish_reasons"] == ["length"]
    assert chat["output_tokens"] == 2
    assert response["finish_reasons"] == ["max_output_tokens"]


# Streams left early: one call each, with what was known


@pytest.mark.parametrize(
    "url",
    [
        "/openai/chat_stream_break/",  # break, no close: the generator is collected
        "/openai/chat_stream_close/",  # next(), then the with block closes it
        "/openai/chat_helper_break/",  # break out of the stream helper's block
        "/async/openai/chat_stream_close/",  # async with, break
    ],
)
def test_stream_left_early(client: Client, url: str) -> None:
    response, (call,) = get(client, url)

    assert page_text(response) in ("stopped", "closed")
    assert call["stream"] is True
    assert call["response_model"] == "gpt-4o-mini-2025-01-01"
    assert "finish_reasons" not in call
    assert "output_tokens" not in call
    assert "error_type" not in call
    assert call["time_to_first_chunk"] <= call["duration"]


# Errors: recorded, and raised unchanged


@pytest.mark.parametrize(
    ("op", "model", "error"),
    [
        ("chat", "gpt-429", "RateLimitError"),
        ("chat", "gpt-500", "InternalServerError"),
        ("chat_stream", "gpt-429", "RateLimitError"),
        ("chat_helper", "gpt-429", "RateLimitError"),
        ("responses", "gpt-500", "InternalServerError"),
        ("responses_helper", "gpt-429", "RateLimitError"),
        ("embeddings", "emb-429", "RateLimitError"),
    ],
)
@pytest.mark.parametrize("prefix", ["", "/async"])
def test_api_error(
    client: Client, prefix: str, op: str, model: str, error: str
) -> None:
    url = f"{prefix}/openai/{op}/?model={model}"
    response, (call,) = get(client, url) if not prefix else aget(url)

    assert page_text(response) == error  # the view caught the SDK's own error
    assert call["error_type"] == error
    assert call["request_model"] == model
    assert "response_model" not in call
    assert call["duration"] > 0


@pytest.mark.parametrize("prefix", ["", "/async"])
def test_chat_stream_fails_midway(client: Client, prefix: str) -> None:
    url = f"{prefix}/openai/chat_stream/?model=gpt-cut"
    response, (call,) = get(client, url) if not prefix else aget(url)

    assert page_text(response) == "APIError"
    assert call["error_type"] == "APIError"
    assert call["response_model"] == "gpt-cut-2025-01-01"
    assert call["time_to_first_chunk"] <= call["duration"]
    assert "finish_reasons" not in call


def test_responses_stream_reports_failure(client: Client) -> None:
    """A Responses stream fails with an event, which the SDK does not raise."""
    response, (call,) = get(client, "/openai/responses_stream/?model=gpt-cut")

    assert page_text(response) == "Echo: hello"
    assert call["error_type"] == "server_error"
    assert call["finish_reasons"] == ["failed"]


@pytest.mark.parametrize("prefix", ["", "/async"])
def test_server_not_reachable(client: Client, settings: Any, prefix: str) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.LLM_LOOPBACK = {"openai": f"http://127.0.0.1:{port}/v1"}
    url = f"{prefix}/openai/chat_stream/"
    response, (call,) = get(client, url) if not prefix else aget(url)

    assert page_text(response) == "APIConnectionError"
    assert call["error_type"] == "APIConnectionError"
    assert "time_to_first_chunk" not in call


def test_errors_are_raised_unchanged(servers: Any) -> None:
    """The instrumented call raises the very error the SDK raises, with its details."""

    def failure() -> openai.RateLimitError:
        with openai.OpenAI(
            api_key="sk-x", base_url=servers[0].base_url, max_retries=0
        ) as sdk:
            with pytest.raises(openai.RateLimitError) as raised:
                sdk.chat.completions.create(
                    model="gpt-429", messages=[{"role": "user", "content": "x"}]
                )
        return raised.value

    plain = failure()
    active = recording.start(llm_call)
    try:
        recorded = failure()
        (event,) = active.events(llm_call)
    finally:
        recording.stop(active, llm_call)

    assert event.kwargs["error_type"] == "RateLimitError"
    assert type(recorded) is type(plain)
    assert (recorded.status_code, recorded.body, recorded.message) == (
        plain.status_code,
        plain.body,
        plain.message,
    )
    # Raised by the SDK, passed through: the innermost frame is the SDK's.
    tb = recorded.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    assert tb is not None
    assert tb.tb_frame.f_globals["__name__"].startswith("openai.")


# Previews and secrets


SECRET_PROMPT = "the zebra-marker crossed the quick brown fox"


@pytest.mark.parametrize(
    "url",
    [
        "/openai/chat/",
        "/openai/chat_stream/",
        "/openai/responses_helper/",
        "/openai/embeddings/",
        "/async/openai/chat_helper/",
    ],
)
def test_no_content_without_previews(client: Client, url: str) -> None:
    response = client.get(url, {"prompt": SECRET_PROMPT})
    rid = request_id(response.content.decode())
    stats = stored_panel(rid, PANEL).get_stats()
    content = render_panel(client, rid, PANEL)

    (call,) = [event["kwargs"] for event in stats["events"]]
    assert "input_preview" not in call
    assert "output_preview" not in call
    assert "zebra" not in json.dumps(stats)
    assert "zebra" not in content


@pytest.mark.parametrize(
    ("url", "output"),
    [
        ("/openai/chat/", "Echo: the ze…"),
        ("/openai/chat_stream/", "Echo: the ze…"),
        ("/openai/chat_helper/", "Echo: the ze…"),
        ("/openai/responses/", "Echo: the ze…"),
        ("/openai/responses_stream/", "Echo: the ze…"),
        ("/async/openai/responses_helper/", "Echo: the ze…"),
        ("/openai/embeddings/", None),
    ],
)
def test_previews(client: Client, settings: Any, url: str, output: str | None) -> None:
    settings.DJDT_SIGNALPANELS = {"LLM_PREVIEWS": True, "LLM_PREVIEW_LENGTH": 12}
    response = client.get(url, {"prompt": SECRET_PROMPT})
    rid = request_id(response.content.decode())

    (call,) = calls_of(response)
    content = render_panel(client, rid, PANEL)

    assert call["input_preview"] == "the zebra-ma…"
    assert call.get("output_preview") == output
    assert "the zebra-ma…" in content
    assert "crossed" not in content  # cut at 12 characters


def test_short_previews_are_whole(client: Client, settings: Any) -> None:
    settings.DJDT_SIGNALPANELS = {"LLM_PREVIEWS": True}
    response = client.get("/openai/chat_stream/", {"prompt": "hi"})

    (call,) = calls_of(response)
    assert call["input_preview"] == "hi"
    assert call["output_preview"] == "Echo: hi"


@pytest.mark.parametrize("previews", [False, True])
@pytest.mark.parametrize(
    "url",
    [
        "/openai/chat/",
        "/openai/chat_stream/?model=gpt-cut",
        "/openai/responses_helper/",
        "/openai/chat/?model=gpt-429",
        "/async/openai/embeddings/",
    ],
)
def test_api_key_is_never_recorded(
    client: Client, settings: Any, toolbar_config: Any, url: str, previews: bool
) -> None:
    settings.DJDT_SIGNALPANELS = {"LLM_PREVIEWS": previews}
    toolbar_config(ENABLE_STACKTRACES_LOCALS=True)
    assert_key_never_recorded(client, client.get(url), llm_site.OPENAI_KEY)


# The stack ends at the caller's line


@pytest.mark.parametrize(
    ("url", "function", "line"),
    [
        (
            "/openai/chat/",
            "openai_chat",
            "completion = client.chat.completions.create(",
        ),
        ("/openai/chat_stream/", "openai_chat_stream", "for chunk in stream:"),
        ("/openai/chat_stream_break/", "openai_chat_stream_break", "break"),
        (
            "/openai/chat_helper/",
            "openai_chat_helper",
            "with client.chat.completions.stream(",
        ),
        (
            "/openai/chat/?model=gpt-429",
            "openai_chat",
            "completion = client.chat.completions.create(",
        ),
        (
            "/openai/chat_helper/?model=gpt-429",
            "openai_chat_helper",
            "with client.chat.completions.stream(",
        ),
        (
            "/async/openai/chat/",
            "aopenai_chat",
            "completion = await client.chat.completions.create(",
        ),
        (
            "/async/openai/chat_stream/",
            "aopenai_chat_stream",
            "async for chunk in stream:",
        ),
        (
            "/async/openai/responses_helper/",
            "aopenai_responses_helper",
            "async with client.responses.stream(",
        ),
    ],
)
def test_stack_ends_at_the_calling_line(
    client: Client, url: str, function: str, line: str
) -> None:
    response = client.get(url) if not url.startswith("/async") else None
    if response is None:
        response = asyncio.run(AsyncClient().get(url))
    rid = request_id(response.content.decode())

    (event,) = stored_panel(rid, PANEL).get_stats()["events"]

    filename, _, name, source, _ = event["stack"][-1]
    assert filename == llm_site.__file__
    assert name == function
    assert source == line


# Near-zero cost: no request records, nothing is sent


def test_calls_outside_a_recording_send_nothing(servers: Any) -> None:
    sent: list[dict[str, Any]] = []

    @receiver(llm_call)
    def spy(sender: Any, **kwargs: Any) -> None:
        sent.append(kwargs)

    try:
        with openai.OpenAI(
            api_key="sk-x", base_url=servers[0].base_url, max_retries=0
        ) as sdk:
            sdk.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
            )
            stream = sdk.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "x"}],
                stream=True,
            )
            for _chunk in stream:
                pass
    finally:
        llm_call.disconnect(spy)

    assert sent == []
    assert type(stream) is openai.Stream  # not even wrapped


def test_a_failing_receiver_does_not_fail_the_call(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug in some receiver")

    llm_call.connect(broken)
    try:
        response, (call,) = get(client, "/openai/chat_stream/")
    finally:
        llm_call.disconnect(broken)

    assert page_text(response) == "Echo: hello there"
    assert call["output_tokens"] == 3
    # Django's send_robust() logs the receiver's error.
    assert "a bug in some receiver" in caplog.text


def test_disabled_panel_records_nothing(client: Client) -> None:
    client.cookies["djdtLLMPanel"] = "off"
    response, calls = get(client, "/openai/chat/")

    assert page_text(response) == "Echo: hello there"
    assert calls == []


# Installing


def test_install_is_idempotent_and_uninstall_restores() -> None:
    patched = Completions.create
    original = patched.__wrapped__

    assert integration.install() is True
    assert Completions.create is patched  # installed once, by the fixture

    integration.uninstall()
    try:
        assert not integration.is_installed()
        assert Completions.create is original
    finally:
        integration.install()
    assert Completions.create.__wrapped__ is original


def test_patched_methods_keep_their_nature() -> None:
    assert inspect.iscoroutinefunction(AsyncCompletions.create)
    assert not inspect.iscoroutinefunction(Completions.create)
    names = integration.patched_methods()
    assert "openai.resources.chat.completions.completions.Completions.create" in names
    assert "openai.resources.responses.responses.AsyncResponses.stream" in names
    assert "openai.resources.embeddings.Embeddings.create" in names
    assert len(names) == len(set(names)) == 10


@contextmanager
def recorded_calls() -> Iterator[list[dict[str, Any]]]:
    """Record llm_call as a request does, outside one; the calls' kwargs after the block."""
    calls: list[dict[str, Any]] = []
    active = recording.start(llm_call)
    try:
        yield calls
    finally:
        calls.extend(event.kwargs for event in active.events(llm_call))
        recording.stop(active, llm_call)


def sdk(servers: Any) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-x", base_url=servers[0].base_url, max_retries=0)


X = [{"role": "user", "content": "x"}]


def test_recorded_stream_keeps_its_sdk_class(servers: Any) -> None:
    with recorded_calls() as calls, sdk(servers) as client:
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=X, stream=True
        )
        assert isinstance(stream, openai.Stream)
        assert type(stream).__name__ == "Stream"
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    assert text == "Echo: x"
    (call,) = calls
    assert call["stream"] is True


def test_recorded_helper_keeps_its_sdk_class(servers: Any) -> None:
    with recorded_calls() as calls, sdk(servers) as client:
        manager = client.chat.completions.stream(model="gpt-4o-mini", messages=X)
        assert isinstance(manager, ChatCompletionStreamManager)
        with manager as stream:
            assert isinstance(stream, ChatCompletionStream)
            text = "".join(e.delta for e in stream if e.type == "content.delta")

    assert text == "Echo: x"
    (call,) = calls
    assert call["finish_reasons"] == ["stop"]


def test_raw_responses_are_recorded_without_usage(servers: Any) -> None:
    """with_raw_response hands back the unread answer: nothing to read it from."""
    with recorded_calls() as calls, sdk(servers) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=X
        )
        completion = raw.parse()

    assert completion.usage is not None
    assert completion.usage.total_tokens == 3
    (call,) = calls
    assert set(call) == {"provider", "operation", "request_model", "stream", "duration"}
