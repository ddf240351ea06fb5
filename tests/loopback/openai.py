"""A small OpenAI API on 127.0.0.1 that the real openai SDK accepts.

Point the SDK at it with ``OpenAI(api_key=..., base_url=server.base_url,
max_retries=0)``. It answers in the API's JSON shapes and wire formats:

- ``POST /v1/chat/completions``: a ``chat.completion``, or with ``"stream": true``
  ``chat.completion.chunk`` events ending with ``data: [DONE]``; the usage chunk
  (no choices) comes last when ``stream_options.include_usage`` is set;
- ``POST /v1/responses``: a ``response``, or with ``"stream": true`` the
  Responses events from ``response.created`` to ``response.completed`` (or
  ``response.incomplete``), the last one carrying the usage;
- ``POST /v1/embeddings``: a list of embeddings, as floats or base64 (the SDK
  asks for base64 unless told otherwise).

The answer to a prompt is ``"Echo: <last input text>"``, cut to
``max_tokens``/``max_completion_tokens``/``max_output_tokens`` words (finish
reason ``length``, or status ``incomplete``). A token is a word: input tokens
count the words of all input texts, output tokens those of the answer; half the
input tokens are reported as cached, and every answer reports
:data:`REASONING_TOKENS` reasoning tokens. The response's model is the request's
model with :data:`MODEL_SUFFIX` appended.

The model's name picks a failure:

- ``...-429``: 429 ``rate_limit_exceeded`` (the SDK raises ``RateLimitError``);
- ``...-500``: 500 ``server_error`` (``InternalServerError``);
- ``...-cut``: streams start, then fail after :data:`CUT_AFTER` chunks: an
  ``{"error": ...}`` chunk for chat completions (the SDK raises ``APIError``), a
  ``response.failed`` event for responses.

A request without ``Authorization: Bearer <key>`` gets 401.

Run it alone: ``python -m tests.loopback.openai --port 8001``.
"""

from __future__ import annotations

import argparse
import base64
import struct
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

MODEL_SUFFIX = "-2025-01-01"
REASONING_TOKENS = 2
CUT_AFTER = 2
CREATED = 1735689600
EMBEDDING_SIZE = 8

Body = dict[str, Any]


def error_body(message: str, kind: str, code: str | None) -> Body:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


RATE_LIMITED = error_body(
    "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1.",
    "requests",
    "rate_limit_exceeded",
)
SERVER_ERROR = error_body(
    "The server had an error while processing your request. Sorry about that!",
    "server_error",
    None,
)
UNAUTHORIZED = error_body(
    "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
)


def text_of(content: Any) -> str:
    """The text of a message's content: a string, or a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "") for part in content if isinstance(part, dict)
        )
    return ""


def input_texts(body: Body) -> list[str]:
    """The texts of a chat request's messages or a Responses request's input."""
    if "messages" in body:
        return [text_of(message.get("content")) for message in body["messages"]]
    items = body.get("input")
    if isinstance(items, str):
        return [items]
    if isinstance(items, list):
        return [
            text_of(item.get("content")) for item in items if isinstance(item, dict)
        ]
    return []


def usage_numbers(body: Body, answer: str) -> tuple[int, int, int]:
    """(input, output, cached) tokens; a token is a word."""
    prompt = sum(len(words(text)) for text in input_texts(body))
    return prompt, len(words(answer)), prompt // 2


def answer_for(body: Body, limit: Any) -> tuple[str, bool]:
    """The answer text, and whether it was cut at ``limit`` words."""
    texts = input_texts(body)
    answer = words(f"Echo: {texts[-1] if texts else ''}")
    if isinstance(limit, int) and len(answer) > limit:
        return " ".join(answer[:limit]), True
    return " ".join(answer), False


def pieces(answer: str) -> list[str]:
    """The answer in streamed pieces: one word each, spaces kept."""
    parts = answer.split(" ")
    return [part if index == 0 else f" {part}" for index, part in enumerate(parts)]


class OpenAIServer(LoopbackServer):
    """Serves chat completions, responses and embeddings on 127.0.0.1."""

    name = "loopback-openai"

    @property
    def base_url(self) -> str:
        """What to pass as the SDK's ``base_url``."""
        return f"{self.url}/v1"

    def respond(self, request: Request) -> Json | EventStream:
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return Json(401, UNAUTHORIZED)
        body = request.body if isinstance(request.body, dict) else {}
        model = str(body.get("model", ""))
        if model.endswith("-429"):
            return Json(429, RATE_LIMITED, {"retry-after": "20"})
        if model.endswith("-500"):
            return Json(500, SERVER_ERROR)
        headers = {
            "x-request-id": f"req_{self.next_id()}",
            "openai-version": "2020-10-01",
        }
        path = request.path.split("?")[0]
        if path == "/v1/chat/completions":
            if body.get("stream"):
                return EventStream(self.chat_chunks(body), headers)
            return Json(200, self.chat_completion(body), headers)
        if path == "/v1/responses":
            if body.get("stream"):
                return EventStream(self.response_events(body), headers)
            return Json(200, self.response(body), headers)
        if path == "/v1/embeddings":
            return Json(200, self.embeddings(body), headers)
        return Json(
            404,
            error_body(f"Invalid URL (POST {path})", "invalid_request_error", None),
        )

    # Chat completions

    def chat_usage(self, body: Body, answer: str) -> Body:
        prompt, completion, cached = usage_numbers(body, answer)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": REASONING_TOKENS,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def _chat_answer(self, body: Body) -> tuple[str, str]:
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        answer, cut = answer_for(body, limit)
        return answer, "length" if cut else "stop"

    def chat_completion(self, body: Body) -> Body:
        answer, finish_reason = self._chat_answer(body)
        choices = int(body.get("n") or 1)
        return {
            "id": f"chatcmpl-loopback{self.next_id()}",
            "object": "chat.completion",
            "created": CREATED,
            "model": body["model"] + MODEL_SUFFIX,
            "choices": [
                {
                    "index": index,
                    "message": {
                        "role": "assistant",
                        "content": answer,
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
                for index in range(choices)
            ],
            "usage": self.chat_usage(body, answer),
            "service_tier": "default",
            "system_fingerprint": "fp_loopback",
        }

    def chat_chunks(self, body: Body) -> Iterator[tuple[str | None, Any]]:
        answer, finish_reason = self._chat_answer(body)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        base = {
            "id": f"chatcmpl-loopback{self.next_id()}",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": body["model"] + MODEL_SUFFIX,
            "service_tier": "default",
            "system_fingerprint": "fp_loopback",
        }
        if include_usage:
            base["usage"] = None

        def chunk(delta: Body, finish: str | None = None) -> Body:
            return {
                **base,
                "choices": [
                    {
                        "index": 0,
                        "delta": delta,
                        "logprobs": None,
                        "finish_reason": finish,
                    }
                ],
            }

        yield None, chunk({"role": "assistant", "content": "", "refusal": None})
        for number, piece in enumerate(pieces(answer), 1):
            yield None, chunk({"content": piece})
            if number == CUT_AFTER and body["model"].endswith("-cut"):
                yield None, SERVER_ERROR
                return
        yield None, chunk({}, finish_reason)
        if include_usage:
            yield None, {**base, "choices": [], "usage": self.chat_usage(body, answer)}
        yield None, "[DONE]"

    # Responses

    def response(self, body: Body, *, status: str | None = None) -> Body:
        """A Responses API ``response``, finished unless ``status`` says otherwise."""
        answer, cut = answer_for(body, body.get("max_output_tokens"))
        prompt, completion, cached = usage_numbers(body, answer)
        number = self.next_id()
        finished = status is None
        final_status = "incomplete" if cut else "completed"
        return {
            "id": f"resp_loopback{number}",
            "object": "response",
            "created_at": CREATED,
            "status": final_status if finished else status,
            "background": False,
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"}
            if finished and cut
            else None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "model": body["model"] + MODEL_SUFFIX,
            "output": [self.output_message(number, answer)] if finished else [],
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None},
            "service_tier": "default",
            "store": True,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": "auto",
            "tools": [],
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": {
                "input_tokens": prompt,
                "input_tokens_details": {"cached_tokens": cached},
                "output_tokens": completion,
                "output_tokens_details": {"reasoning_tokens": REASONING_TOKENS},
                "total_tokens": prompt + completion,
            }
            if finished
            else None,
            "user": None,
            "metadata": {},
        }

    @staticmethod
    def output_message(number: int, text: str, status: str = "completed") -> Body:
        return {
            "id": f"msg_loopback{number}",
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": [
                {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            ]
            if text or status == "completed"
            else [],
        }

    def response_events(self, body: Body) -> Iterator[tuple[str | None, Any]]:
        sequence = 0

        def event(kind: str, **data: Any) -> tuple[str, Body]:
            nonlocal sequence
            sequence += 1
            return kind, {"type": kind, "sequence_number": sequence - 1, **data}

        final = self.response(body)
        started = {**self.response(body, status="in_progress"), "id": final["id"]}
        answer = final["output"][0]["content"][0]["text"]
        item_id = final["output"][0]["id"]
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        where = {"item_id": item_id, "output_index": 0, "content_index": 0}
        yield event("response.created", response=started)
        yield event("response.in_progress", response=started)
        yield event(
            "response.output_item.added",
            output_index=0,
            item={**final["output"][0], "status": "in_progress", "content": []},
        )
        yield event("response.content_part.added", **where, part=part)
        for number, piece in enumerate(pieces(answer), 1):
            yield event("response.output_text.delta", **where, delta=piece, logprobs=[])
            if number == CUT_AFTER and body["model"].endswith("-cut"):
                failed = {
                    **started,
                    "status": "failed",
                    "error": {"code": "server_error", "message": "The model failed."},
                }
                yield event("response.failed", response=failed)
                return
        yield event("response.output_text.done", **where, text=answer, logprobs=[])
        yield event(
            "response.content_part.done", **where, part={**part, "text": answer}
        )
        yield event(
            "response.output_item.done", output_index=0, item=final["output"][0]
        )
        kind = (
            "response.incomplete"
            if final["status"] == "incomplete"
            else "response.completed"
        )
        yield event(kind, response=final)

    # Embeddings

    def embeddings(self, body: Body) -> Body:
        items = body.get("input")
        texts = [items] if isinstance(items, str) else list(items or [])
        size = int(body.get("dimensions") or EMBEDDING_SIZE)
        data = []
        for index in range(len(texts)):
            vector = [((index + 1) * (position + 1)) / 100 for position in range(size)]
            embedding: Any = vector
            if body.get("encoding_format") == "base64":
                packed = struct.pack(f"<{size}f", *vector)
                embedding = base64.b64encode(packed).decode()
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        prompt = sum(len(words(text)) for text in texts if isinstance(text, str))
        return {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, default=8001)
    server = OpenAIServer(port=parser.parse_args().port)
    serve_forever(server, "a loopback OpenAI API")


if __name__ == "__main__":
    main()
