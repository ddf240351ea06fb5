"""Views that call the OpenAI and Anthropic APIs the way application code does.

The LLM tests point ``ROOT_URLCONF`` here and set ``LLM_LOOPBACK`` to the
loopback servers' URLs. Each view runs one operation, named in its URL, with the
real SDK client: ``/openai/<op>/`` and ``/anthropic/<op>/`` in sync views,
``/async/openai/<op>/`` and ``/async/anthropic/<op>/`` in async views. The query
string gives ``model``, ``prompt``, ``max`` (token limit) and ``calls`` (how
many times to run it). An API error is caught and its class name shown, so the
page (and the toolbar) still renders.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import anthropic
import openai
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.urls import include, path
from django.utils.html import escape

from djdt_signalpanels.integrations import anthropic as anthropic_integration
from djdt_signalpanels.integrations import openai as openai_integration
from tests.loopback.anthropic import AnthropicServer
from tests.loopback.openai import OpenAIServer

OPENAI_KEY = "sk-loopback-openai-KEY-7f3a9c"
ANTHROPIC_KEY = "sk-ant-loopback-KEY-4e8d1b"
PAGE = "<html><body><p>{}</p></body></html>"

Params = QueryDict


def _model(params: Params, default: str) -> str:
    return params.get("model", default)


def _messages(params: Params) -> list[dict[str, Any]]:
    return [{"role": "user", "content": params.get("prompt", "hello there")}]


def _limit(params: Params) -> int:
    return int(params.get("max", "100"))


# OpenAI, sync


def openai_chat(client: openai.OpenAI, params: Params) -> str:
    completion = client.chat.completions.create(
        model=_model(params, "gpt-4o-mini"), messages=_messages(params)
    )
    return completion.choices[0].message.content or ""


def openai_chat_stream(client: openai.OpenAI, params: Params) -> str:
    stream = client.chat.completions.create(
        model=_model(params, "gpt-4o-mini"),
        messages=_messages(params),
        max_completion_tokens=_limit(params),
        stream=True,
        stream_options={"include_usage": True},
    )
    text = ""
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
    return text


def openai_chat_stream_break(client: openai.OpenAI, params: Params) -> str:
    """Stops after two chunks and leaves the stream to the garbage collector."""
    stream = client.chat.completions.create(
        model=_model(params, "gpt-4o-mini"), messages=_messages(params), stream=True
    )
    for number, _chunk in enumerate(stream, 1):
        if number == 2:
            break
    return "stopped"


def openai_chat_stream_close(client: openai.OpenAI, params: Params) -> str:
    """Reads one chunk, then the ``with`` block closes the stream."""
    with client.chat.completions.create(
        model=_model(params, "gpt-4o-mini"), messages=_messages(params), stream=True
    ) as stream:
        next(stream)
    return "closed"


def openai_chat_helper(client: openai.OpenAI, params: Params) -> str:
    with client.chat.completions.stream(
        model=_model(params, "gpt-4o-mini"),
        messages=_messages(params),
        stream_options={"include_usage": True},
    ) as stream:
        completion = stream.get_final_completion()
    return completion.choices[0].message.content or ""


def openai_chat_helper_break(client: openai.OpenAI, params: Params) -> str:
    with client.chat.completions.stream(
        model=_model(params, "gpt-4o-mini"), messages=_messages(params)
    ) as stream:
        for _event in stream:
            break
    return "stopped"


def openai_responses(client: openai.OpenAI, params: Params) -> str:
    response = client.responses.create(
        model=_model(params, "gpt-4o-mini"),
        input=params.get("prompt", "hello there"),
        max_output_tokens=_limit(params),
    )
    return response.output_text


def openai_responses_stream(client: openai.OpenAI, params: Params) -> str:
    text = ""
    for event in client.responses.create(
        model=_model(params, "gpt-4o-mini"), input=_messages(params), stream=True
    ):
        if event.type == "response.output_text.delta":
            text += event.delta
    return text


def openai_responses_helper(client: openai.OpenAI, params: Params) -> str:
    with client.responses.stream(
        model=_model(params, "gpt-4o-mini"), input=params.get("prompt", "hello there")
    ) as stream:
        for _event in stream:
            pass
        return stream.get_final_response().output_text


def openai_embeddings(client: openai.OpenAI, params: Params) -> str:
    result = client.embeddings.create(
        model=_model(params, "text-embedding-3-small"),
        input=[params.get("prompt", "hello there"), "second text"],
    )
    return f"{len(result.data)} embeddings"


# OpenAI, async


async def aopenai_chat(client: openai.AsyncOpenAI, params: Params) -> str:
    completion = await client.chat.completions.create(
        model=_model(params, "gpt-4o-mini"), messages=_messages(params)
    )
    return completion.choices[0].message.content or ""


async def aopenai_chat_stream(client: openai.AsyncOpenAI, params: Params) -> str:
    stream = await client.chat.completions.create(
        model=_model(params, "gpt-4o-mini"),
        messages=_messages(params),
        max_completion_tokens=_limit(params),
        stream=True,
        stream_options={"include_usage": True},
    )
    text = ""
    async for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
    return text


async def aopenai_chat_stream_close(client: openai.AsyncOpenAI, params: Params) -> str:
    stream = await client.chat.completions.create(
        model=_model(params, "gpt-4o-mini"), messages=_messages(params), stream=True
    )
    async with stream:
        async for _chunk in stream:
            break
    return "closed"


async def aopenai_chat_helper(client: openai.AsyncOpenAI, params: Params) -> str:
    async with client.chat.completions.stream(
        model=_model(params, "gpt-4o-mini"),
        messages=_messages(params),
        stream_options={"include_usage": True},
    ) as stream:
        completion = await stream.get_final_completion()
    return completion.choices[0].message.content or ""


async def aopenai_responses(client: openai.AsyncOpenAI, params: Params) -> str:
    response = await client.responses.create(
        model=_model(params, "gpt-4o-mini"),
        input=params.get("prompt", "hello there"),
        max_output_tokens=_limit(params),
    )
    return response.output_text


async def aopenai_responses_stream(client: openai.AsyncOpenAI, params: Params) -> str:
    text = ""
    async for event in await client.responses.create(
        model=_model(params, "gpt-4o-mini"), input=_messages(params), stream=True
    ):
        if event.type == "response.output_text.delta":
            text += event.delta
    return text


async def aopenai_responses_helper(client: openai.AsyncOpenAI, params: Params) -> str:
    async with client.responses.stream(
        model=_model(params, "gpt-4o-mini"), input=params.get("prompt", "hello there")
    ) as stream:
        response = await stream.get_final_response()
    return response.output_text


async def aopenai_embeddings(client: openai.AsyncOpenAI, params: Params) -> str:
    result = await client.embeddings.create(
        model=_model(params, "text-embedding-3-small"),
        input=params.get("prompt", "hello there"),
    )
    return f"{len(result.data)} embeddings"


# Anthropic, sync


def anthropic_messages(client: anthropic.Anthropic, params: Params) -> str:
    message = client.messages.create(
        model=_model(params, "claude-haiku-4-5"),
        max_tokens=_limit(params),
        messages=_messages(params),
    )
    return "".join(block.text for block in message.content if block.type == "text")


def anthropic_messages_stream(client: anthropic.Anthropic, params: Params) -> str:
    text = ""
    for event in client.messages.create(
        model=_model(params, "claude-haiku-4-5"),
        max_tokens=_limit(params),
        messages=_messages(params),
        stream=True,
    ):
        if event.type == "content_block_delta" and event.delta.type == "text_delta":
            text += event.delta.text
    return text


def anthropic_messages_stream_break(client: anthropic.Anthropic, params: Params) -> str:
    """Stops after two events and leaves the stream to the garbage collector."""
    stream = client.messages.create(
        model=_model(params, "claude-haiku-4-5"),
        max_tokens=_limit(params),
        messages=_messages(params),
        stream=True,
    )
    for number, _event in enumerate(stream, 1):
        if number == 2:
            break
    return "stopped"


def anthropic_helper_text(client: anthropic.Anthropic, params: Params) -> str:
    with client.messages.stream(
        model=_model(params, "claude-haiku-4-5"),
        max_tokens=_limit(params),
        messages=_messages(params),
    ) as stream:
        return "".join(stream.text_stream)


def anthropic_helper_final(client: anthropic.Anthropic, params: Params) -> str:
    with client.messages.stream(
        model=_model(params, "claude-haiku-4-5"),
        max_tokens=_limit(params),
        messages=_messages(params),
    ) as stream:
        message = stream.get_final_message()
    return str(message.stop_reason)


def anthropic_helper_break(client: anthropic.Anthropic, params: Params) -> str:
    with client.messages.stream(
        model=_model(params, "claude-haiku-4-5"),
        max_tokens=_limit(params),
        messages=_messages(params),
    ) as stream:
        for _text in stream.text_stream:
            break
    return "stopped"


# Anthropic, async


async def aanthropic_messages(client: anthropic.AsyncAnthropic, params: Params) -> str:
    message = await client.messages.create(
        model=_model(params, "claude-haiku-4-5"),
        max_tokens=_limit(params),
        messages=_messages(params),
    )
    return "".join(block.text for block in message.content if block.type == "text")


async def aanthropic_messages_stream(
    client: anthropic.AsyncAnthropic, params: Params
) -> str:
    text = ""
    async for event in await client.messages.create(
        model=_model(params, "claude-haiku-4-5"),
        max_tokens=_limit(params),
        messages=_messages(params),
        stream=True,
    ):
        if event.type == "content_block_delta" and event.delta.type == "text_delta":
            text += event.delta.text
    return text


async def aanthropic_messages_stream_close(
    client: anthropic.AsyncAnthropic, params: Params
) -> str:
    stream = await client.messages.create(
        model=_model(params, "claude-haiku-4-5"),
        max_tokens=_limit(params),
        messages=_messages(params),
        stream=True,
    )
    async for _event in stream:
        break
    await stream.close()
    return "closed"


async def aanthropic_helper_text(
    client: anthropic.AsyncAnthropic, params: Params
) -> str:
    async with client.messages.stream(
        model=_model(params, "claude-haiku-4-5"),
        max_tokens=_limit(params),
        messages=_messages(params),
    ) as stream:
        return "".join([text async for text in stream.text_stream])


async def aanthropic_helper_final(
    client: anthropic.AsyncAnthropic, params: Params
) -> str:
    async with client.messages.stream(
        model=_model(params, "claude-haiku-4-5"),
        max_tokens=_limit(params),
        messages=_messages(params),
    ) as stream:
        message = await stream.get_final_message()
    return str(message.stop_reason)


async def aanthropic_helper_break(
    client: anthropic.AsyncAnthropic, params: Params
) -> str:
    async with client.messages.stream(
        model=_model(params, "claude-haiku-4-5"),
        max_tokens=_limit(params),
        messages=_messages(params),
    ) as stream:
        async for _text in stream.text_stream:
            break
    return "stopped"


SyncOp = Callable[[Any, Params], str]
AsyncOp = Callable[[Any, Params], Awaitable[str]]


def _ops(prefix: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """The operations defined so far whose names start with ``prefix``, by short name.

    Called before the helpers below, whose names share the prefixes.
    """
    return {
        name.removeprefix(prefix): value
        for name, value in namespace.items()
        if name.startswith(prefix) and callable(value)
    }


OPENAI_OPS: dict[str, SyncOp] = _ops("openai_", globals())
AOPENAI_OPS: dict[str, AsyncOp] = _ops("aopenai_", globals())
ANTHROPIC_OPS: dict[str, SyncOp] = _ops("anthropic_", globals())
AANTHROPIC_OPS: dict[str, AsyncOp] = _ops("aanthropic_", globals())


def _page(outcomes: list[str]) -> HttpResponse:
    return HttpResponse(PAGE.format(escape(" | ".join(outcomes))))


def openai_client() -> openai.OpenAI:
    return openai.OpenAI(
        api_key=OPENAI_KEY, base_url=settings.LLM_LOOPBACK["openai"], max_retries=0
    )


def anthropic_client() -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key=ANTHROPIC_KEY,
        base_url=settings.LLM_LOOPBACK["anthropic"],
        max_retries=0,
    )


def _run(
    ops: dict[str, SyncOp], client: Any, op: str, request: HttpRequest
) -> HttpResponse:
    if op not in ops:
        raise Http404(op)
    outcomes = []
    with client:
        for _ in range(int(request.GET.get("calls", "1"))):
            try:
                outcomes.append(ops[op](client, request.GET))
            except (openai.APIError, anthropic.APIError) as error:
                outcomes.append(type(error).__name__)
    return _page(outcomes)


async def _arun(
    ops: dict[str, AsyncOp], client: Any, op: str, request: HttpRequest
) -> HttpResponse:
    if op not in ops:
        raise Http404(op)
    outcomes = []
    async with client:
        for _ in range(int(request.GET.get("calls", "1"))):
            try:
                outcomes.append(await ops[op](client, request.GET))
            except (openai.APIError, anthropic.APIError) as error:
                outcomes.append(type(error).__name__)
    return _page(outcomes)


def openai_view(request: HttpRequest, op: str) -> HttpResponse:
    return _run(OPENAI_OPS, openai_client(), op, request)


def anthropic_view(request: HttpRequest, op: str) -> HttpResponse:
    return _run(ANTHROPIC_OPS, anthropic_client(), op, request)


async def async_openai_view(request: HttpRequest, op: str) -> HttpResponse:
    client = openai.AsyncOpenAI(
        api_key=OPENAI_KEY, base_url=settings.LLM_LOOPBACK["openai"], max_retries=0
    )
    return await _arun(AOPENAI_OPS, client, op, request)


async def async_anthropic_view(request: HttpRequest, op: str) -> HttpResponse:
    client = anthropic.AsyncAnthropic(
        api_key=ANTHROPIC_KEY,
        base_url=settings.LLM_LOOPBACK["anthropic"],
        max_retries=0,
    )
    return await _arun(AANTHROPIC_OPS, client, op, request)


urlpatterns = [
    path("openai/<str:op>/", openai_view),
    path("anthropic/<str:op>/", anthropic_view),
    path("async/openai/<str:op>/", async_openai_view),
    path("async/anthropic/<str:op>/", async_anthropic_view),
    path("__debug__/", include("debug_toolbar.urls")),
]


# For the tests' fixtures

PANELS = [
    "debug_toolbar.panels.history.HistoryPanel",
    "djdt_signalpanels.panels.LLMPanel",
]


@contextmanager
def loopback_servers() -> Iterator[tuple[OpenAIServer, AnthropicServer]]:
    with OpenAIServer() as openai_server, AnthropicServer() as anthropic_server:
        yield openai_server, anthropic_server


@contextmanager
def instrumented() -> Iterator[None]:
    """Both SDKs instrumented, as LLMPanel.ready() does at startup; undone after."""
    before = (openai_integration.is_installed(), anthropic_integration.is_installed())
    openai_integration.install()
    anthropic_integration.install()
    try:
        yield
    finally:
        if not before[0]:
            openai_integration.uninstall()
        if not before[1]:
            anthropic_integration.uninstall()


def configure(
    settings: Any, servers: tuple[OpenAIServer, AnthropicServer], toolbar_config: Any
) -> None:
    """List LLMPanel alone (with History), point the views at the servers."""
    settings.DEBUG_TOOLBAR_PANELS = PANELS
    settings.LLM_LOOPBACK = {
        "openai": servers[0].base_url,
        "anthropic": servers[1].url,
    }
    toolbar_config(
        TOOLBAR_STORE_CLASS="debug_toolbar.store.MemoryStore", RESULTS_CACHE_SIZE=1000
    )
