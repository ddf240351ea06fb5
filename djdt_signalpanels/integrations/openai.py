"""Sends :data:`~djdt_signalpanels.signals.llm_call` for calls made with the openai SDK.

:func:`install` replaces, on the SDK's resource classes (so every client,
existing or future, is covered), these methods, sync and async:

- ``chat.completions.create`` (``"chat"``), streamed or not, and the
  ``chat.completions.stream()`` helper (``beta.chat.completions.stream()`` in
  openai 1.40 to 1.91);
- ``responses.create`` (``"responses"``), streamed or not, and the
  ``responses.stream()`` helper (openai 1.66 and later);
- ``embeddings.create`` (``"embeddings"``).

A method the installed version lacks is left out. While no request records, a
replaced method only checks a context variable before calling the original.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from ._llm import Call, Operation, Patches, field, last_message_text, text_of

PROVIDER = "openai"

_patches = Patches()


class ChatReader:
    """``chat.completion`` answers and ``chat.completion.chunk`` streams."""

    def prompt(self, kwargs: Mapping[str, Any]) -> str | None:
        return last_message_text(kwargs.get("messages"))

    def result(self, call: Call, completion: Any) -> None:
        call.set("response_model", getattr(completion, "model", None))
        read_chat_usage(call, getattr(completion, "usage", None))
        choices = getattr(completion, "choices", None) or ()
        for choice in choices:
            call.finish_reason(choice.finish_reason, choice.index)
        if choices:
            call.text(getattr(choices[0].message, "content", None))

    def item(self, call: Call, chunk: Any) -> None:
        if "response_model" not in call.fields:
            call.set("response_model", getattr(chunk, "model", None))
        read_chat_usage(call, getattr(chunk, "usage", None))
        for choice in getattr(chunk, "choices", None) or ():
            call.finish_reason(choice.finish_reason, choice.index)
            if choice.index == 0 and choice.delta is not None:
                call.text(choice.delta.content)


def read_chat_usage(call: Call, usage: Any) -> None:
    if usage is None:
        return
    call.count("input_tokens", field(usage, "prompt_tokens"))
    call.count("output_tokens", field(usage, "completion_tokens"))
    details = field(usage, "prompt_tokens_details")
    call.count("cached_tokens", field(details, "cached_tokens"))
    details = field(usage, "completion_tokens_details")
    call.count("reasoning_tokens", field(details, "reasoning_tokens"))


class ResponsesReader:
    """Responses API ``response`` answers and their streamed events."""

    FINAL = ("completed", "incomplete", "failed", "cancelled")

    def prompt(self, kwargs: Mapping[str, Any]) -> str | None:
        given = kwargs.get("input")
        if isinstance(given, str):
            return given
        return last_message_text(given)

    def result(self, call: Call, response: Any) -> None:
        self.read(call, response)
        if call.preview_length:
            call.text(getattr(response, "output_text", None))

    def item(self, call: Call, event: Any) -> None:
        kind = getattr(event, "type", None)
        if kind == "response.output_text.delta":
            call.text(event.delta)
        elif kind == "error":  # reported in the stream, not raised by the SDK
            call.set("error_type", getattr(event, "code", None) or "error")
        elif isinstance(kind, str) and kind.startswith("response."):
            response = getattr(event, "response", None)
            if response is not None:
                self.read(call, response)

    def read(self, call: Call, response: Any) -> None:
        call.set("response_model", getattr(response, "model", None))
        usage = getattr(response, "usage", None)
        if usage is not None:
            call.count("input_tokens", field(usage, "input_tokens"))
            call.count("output_tokens", field(usage, "output_tokens"))
            details = field(usage, "input_tokens_details")
            call.count("cached_tokens", field(details, "cached_tokens"))
            details = field(usage, "output_tokens_details")
            call.count("reasoning_tokens", field(details, "reasoning_tokens"))
        status = getattr(response, "status", None)
        if status in self.FINAL:
            incomplete = getattr(response, "incomplete_details", None)
            call.finish_reason(getattr(incomplete, "reason", None) or status)
        error = getattr(response, "error", None)
        if status == "failed" and error is not None:
            call.set("error_type", getattr(error, "code", None) or "failed")


class EmbeddingsReader:
    def prompt(self, kwargs: Mapping[str, Any]) -> str | None:
        given = kwargs.get("input")
        if isinstance(given, str):
            return given
        if isinstance(given, list):
            texts = [text_of(item) for item in given]
            return "\n".join(text for text in texts if text) or None
        return None

    def result(self, call: Call, response: Any) -> None:
        call.set("response_model", getattr(response, "model", None))
        call.count(
            "input_tokens", field(getattr(response, "usage", None), "prompt_tokens")
        )

    def item(self, call: Call, item: Any) -> None:
        pass  # embeddings do not stream


CHAT = Operation(PROVIDER, "chat", ChatReader())
RESPONSES = Operation(PROVIDER, "responses", ResponsesReader())
EMBEDDINGS = Operation(PROVIDER, "embeddings", EmbeddingsReader(), streams=False)


def install() -> bool:
    """Instrument the openai SDK, once; False when it is not installed."""
    return _patches.install(_apply)


uninstall = _patches.uninstall
is_installed = _patches.is_installed
patched_methods = _patches.patched_methods


def _apply() -> bool:
    try:
        import openai
        from openai.resources.chat.completions import AsyncCompletions, Completions
        from openai.resources.embeddings import AsyncEmbeddings, Embeddings
    except ImportError:
        return False
    streams = (openai.Stream, openai.AsyncStream)
    _patches.creates(Completions, AsyncCompletions, CHAT, streams)
    # The helpers' request goes through the patched create().
    _patches.helpers(None, Completions, AsyncCompletions)
    _patches.creates(Embeddings, AsyncEmbeddings, EMBEDDINGS, streams)
    try:  # openai 1.40 to 1.91: the helper lives in the beta namespace
        beta = importlib.import_module("openai.resources.beta.chat.completions")
    except ImportError:
        pass
    else:
        _patches.helpers(None, beta.Completions, beta.AsyncCompletions)
    try:  # openai 1.66 and later
        from openai.resources.responses import AsyncResponses, Responses
    except ImportError:
        pass
    else:
        _patches.creates(Responses, AsyncResponses, RESPONSES, streams)
        _patches.helpers(None, Responses, AsyncResponses)
    return True
