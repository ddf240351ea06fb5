"""A small Anthropic Messages API on 127.0.0.1 that the real anthropic SDK accepts.

Point the SDK at it with ``Anthropic(api_key=..., base_url=server.url,
max_retries=0)``. ``POST /v1/messages`` answers with a ``message``, or with
``"stream": true`` with the API's server-sent events: ``message_start``,
``content_block_start``, ``ping``, ``content_block_delta`` (``text_delta``),
``content_block_stop``, ``message_delta`` (``stop_reason`` and the output
usage) and ``message_stop``.

The answer to a prompt is ``"Echo: <last message text>"``, cut to
``max_tokens`` words (stop reason ``max_tokens``, else ``end_turn``). A token
is a word: of the words of all messages (and ``system``), half are reported as
read from the cache (``cache_read_input_tokens``) and the rest as
``input_tokens``; ``output_tokens`` counts the answer's words. The response's
model is the request's model with :data:`MODEL_SUFFIX` appended.

The model's name picks a failure, in the API's error shape
(``{"type": "error", "error": {"type": ..., "message": ...}}``):

- ``...-429``: 429 ``rate_limit_error`` (the SDK raises ``RateLimitError``);
- ``...-500``: 500 ``api_error`` (``InternalServerError``);
- ``...-529``: 529 ``overloaded_error`` (``OverloadedError``);
- ``...-cut``: streams start, then an ``error`` event (``overloaded_error``)
  follows :data:`CUT_AFTER` text deltas (the SDK raises ``APIStatusError``:
  the stream's HTTP status was 200).

A request with neither an ``x-api-key`` header nor ``Authorization: Bearer``
gets 401.

Run it alone: ``python -m tests.loopback.anthropic --port 8002``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

from tests.loopback._http import (
    EventStream,
    Json,
    LoopbackServer,
    Request,
    serve_forever,
    words,
)

MODEL_SUFFIX = "-20250101"
CUT_AFTER = 2

Body = dict[str, Any]

FAILURES = {
    "-429": (
        429,
        "rate_limit_error",
        "Number of request tokens has exceeded your per-minute rate limit.",
    ),
    "-500": (500, "api_error", "Internal server error"),
    "-529": (529, "overloaded_error", "Overloaded"),
}


def error_body(kind: str, message: str, request_id: str) -> Body:
    return {
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": request_id,
    }


def text_of(content: Any) -> str:
    """The text of a message's content: a string, or a list of text blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            block.get("text", "")
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        )
    return ""


class AnthropicServer(LoopbackServer):
    """Serves the Messages API on 127.0.0.1."""

    name = "loopback-anthropic"

    def respond(self, request: Request) -> Json | EventStream:
        request_id = f"req_loopback{self.next_id()}"
        headers = {"request-id": request_id}
        # Older SDKs send x-api-key, newer ones a bearer token.
        bearer = request.headers.get("authorization", "").startswith("Bearer ")
        if not (request.headers.get("x-api-key") or bearer):
            return Json(
                401,
                error_body("authentication_error", "invalid x-api-key", request_id),
                headers,
            )
        if request.path.split("?")[0] != "/v1/messages":
            return Json(
                404, error_body("not_found_error", "Not found", request_id), headers
            )
        body = request.body if isinstance(request.body, dict) else {}
        model = str(body.get("model", ""))
        for suffix, (status, kind, message) in FAILURES.items():
            if model.endswith(suffix):
                return Json(status, error_body(kind, message, request_id), headers)
        if body.get("stream"):
            return EventStream(self.events(body), headers)
        return Json(200, self.message(body), headers)

    def answer(self, body: Body) -> tuple[str, str]:
        """The answer text and its stop reason."""
        messages = body.get("messages") or []
        last = text_of(messages[-1].get("content")) if messages else ""
        answer = words(f"Echo: {last}")
        limit = body.get("max_tokens")
        if isinstance(limit, int) and len(answer) > limit:
            return " ".join(answer[:limit]), "max_tokens"
        return " ".join(answer), "end_turn"

    def usage(self, body: Body, answer: str) -> Body:
        texts = [
            text_of(message.get("content")) for message in body.get("messages") or []
        ]
        texts.append(text_of(body.get("system")))
        prompt = sum(len(words(text)) for text in texts)
        cached = prompt // 2
        return {
            "input_tokens": prompt - cached,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": cached,
            "output_tokens": len(words(answer)),
            "service_tier": "standard",
        }

    def message(self, body: Body, *, started: bool = False) -> Body:
        answer, stop_reason = self.answer(body)
        usage = self.usage(body, answer)
        return {
            "id": f"msg_loopback{self.next_id()}",
            "type": "message",
            "role": "assistant",
            "model": body["model"] + MODEL_SUFFIX,
            "content": [] if started else [{"type": "text", "text": answer}],
            "stop_reason": None if started else stop_reason,
            "stop_sequence": None,
            "usage": {**usage, "output_tokens": 1} if started else usage,
        }

    def events(self, body: Body) -> Iterator[tuple[str | None, Any]]:
        answer, stop_reason = self.answer(body)
        usage = self.usage(body, answer)

        def event(kind: str, **data: Any) -> tuple[str, Body]:
            return kind, {"type": kind, **data}

        yield event("message_start", message=self.message(body, started=True))
        yield event(
            "content_block_start", index=0, content_block={"type": "text", "text": ""}
        )
        yield event("ping")
        pieces = answer.split(" ")
        for number, piece in enumerate(pieces, 1):
            text = piece if number == 1 else f" {piece}"
            yield event(
                "content_block_delta",
                index=0,
                delta={"type": "text_delta", "text": text},
            )
            if number == CUT_AFTER and body["model"].endswith("-cut"):
                yield (
                    "error",
                    {
                        "type": "error",
                        "error": {"type": "overloaded_error", "message": "Overloaded"},
                    },
                )
                return
        yield event("content_block_stop", index=0)
        yield event(
            "message_delta",
            delta={"stop_reason": stop_reason, "stop_sequence": None},
            usage={"output_tokens": usage["output_tokens"]},
        )
        yield event("message_stop")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, default=8002)
    server = AnthropicServer(port=parser.parse_args().port)
    serve_forever(server, "a loopback Anthropic API")


if __name__ == "__main__":
    main()
