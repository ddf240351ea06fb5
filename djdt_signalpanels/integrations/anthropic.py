"""Sends :data:`~djdt_signalpanels.signals.llm_call` for calls made with the anthropic SDK.

:func:`install` replaces, on the SDK's resource classes (so every client,
existing or future, is covered), sync and async: ``messages.create``
(``"chat"``), streamed or not, and the ``messages.stream()`` helper, whose
``text_stream``, events and ``get_final_message()`` all read the recorded
stream. While no request records, a replaced method only checks a context
variable before calling the original.

Input tokens follow the OpenTelemetry convention: they include the tokens read
from and written to the prompt cache; ``cached_tokens`` are those read from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._llm import Call, Operation, Patches, field, is_count, last_message_text

PROVIDER = "anthropic"

_patches = Patches()


class MessagesReader:
    """``message`` answers and their streamed events."""

    def prompt(self, kwargs: Mapping[str, Any]) -> str | None:
        return last_message_text(kwargs.get("messages"))

    def result(self, call: Call, message: Any) -> None:
        call.set("response_model", getattr(message, "model", None))
        read_usage(call, getattr(message, "usage", None))
        call.finish_reason(getattr(message, "stop_reason", None))
        if call.preview_length:
            for block in getattr(message, "content", None) or ():
                if getattr(block, "type", None) == "text":
                    call.text(block.text)

    def item(self, call: Call, event: Any) -> None:
        kind = getattr(event, "type", None)
        if kind == "content_block_delta":
            if getattr(event.delta, "type", None) == "text_delta":
                call.text(event.delta.text)
        elif kind == "message_start":
            message = event.message
            call.set("response_model", getattr(message, "model", None))
            # Its output count is a placeholder until message_delta.
            read_usage(call, getattr(message, "usage", None), output=False)
        elif kind == "message_delta":
            call.finish_reason(getattr(event.delta, "stop_reason", None))
            read_usage(call, getattr(event, "usage", None))


def read_usage(call: Call, usage: Any, *, output: bool = True) -> None:
    """Usage from a message, or its update in ``message_delta`` (where counts may be None)."""
    if usage is None:
        return
    if output:
        call.count("output_tokens", field(usage, "output_tokens"))
    uncached = field(usage, "input_tokens")
    if not is_count(uncached):
        return
    read = field(usage, "cache_read_input_tokens")
    written = field(usage, "cache_creation_input_tokens")
    call.count(
        "input_tokens",
        uncached + sum(count for count in (read, written) if is_count(count)),
    )
    call.count("cached_tokens", read)


MESSAGES = Operation(PROVIDER, "chat", MessagesReader())


def install() -> bool:
    """Instrument the anthropic SDK, once; False when it is not installed."""
    return _patches.install(_apply)


uninstall = _patches.uninstall
is_installed = _patches.is_installed
patched_methods = _patches.patched_methods


def _apply() -> bool:
    try:
        import anthropic
        from anthropic.resources.messages import AsyncMessages, Messages
    except ImportError:
        return False
    streams = (anthropic.Stream, anthropic.AsyncStream)
    _patches.creates(Messages, AsyncMessages, MESSAGES, streams)
    # The helpers post their request themselves: the Call starts with the block.
    _patches.helpers(MESSAGES, Messages, AsyncMessages)
    return True
