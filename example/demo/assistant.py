"""Pages that ask a model with the openai and anthropic SDKs, sync and async.

Nothing here knows about the toolbar: listing LLMPanel instruments both SDKs.
"""

from __future__ import annotations

import asyncio
from typing import Any

from anthropic import Anthropic, AsyncAnthropic
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from openai import AsyncOpenAI, OpenAI

from .services import (
    ANTHROPIC_MODEL,
    OPENAI_MODEL,
    anthropic_options,
    openai_options,
)

QUESTION = "Which grind size suits a pour-over?"  # unless ?q= asks another
MAX_TOKENS = 60  # short answers: a real API bills each token


def question_of(request: HttpRequest) -> str:
    """The question in ?q=, or the demo's own."""
    return request.GET.get("q") or QUESTION


def messages_for(question: str) -> list[Any]:
    return [{"role": "user", "content": question}]


def text_of(message: Any) -> str:
    """The text blocks of an Anthropic message."""
    return "".join(block.text for block in message.content if block.type == "text")


def assistant(request: HttpRequest) -> HttpResponse:
    question = question_of(request)
    messages = messages_for(question)
    answers = {}
    with OpenAI(**openai_options()) as client:
        completion = client.chat.completions.create(
            model=OPENAI_MODEL, messages=messages, max_completion_tokens=MAX_TOKENS
        )
        answers["OpenAI chat completion"] = completion.choices[0].message.content
        stream = client.chat.completions.create(
            model=OPENAI_MODEL,
            messages=messages,
            max_completion_tokens=MAX_TOKENS,
            stream=True,
            stream_options={"include_usage": True},  # token counts in the last chunk
        )
        answers["OpenAI, streamed"] = "".join(
            chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices
        )
    with Anthropic(**anthropic_options()) as client:
        message = client.messages.create(
            model=ANTHROPIC_MODEL, max_tokens=MAX_TOKENS, messages=messages
        )
        answers["Anthropic message"] = text_of(message)
        with client.messages.stream(
            model=ANTHROPIC_MODEL, max_tokens=MAX_TOKENS, messages=messages
        ) as events:
            answers["Anthropic, streamed"] = "".join(events.text_stream)
    context = {
        "title": "Assistant",
        "form": True,
        "question": question,
        "answers": answers,
    }
    return render(request, "demo/assistant.html", context)


async def openai_streamed(client: AsyncOpenAI, messages: list[Any]) -> str:
    stream = await client.chat.completions.create(
        model=OPENAI_MODEL,
        messages=messages,
        max_completion_tokens=MAX_TOKENS,
        stream=True,
        stream_options={"include_usage": True},
    )
    return "".join(
        [
            chunk.choices[0].delta.content or ""
            async for chunk in stream
            if chunk.choices
        ]
    )


async def async_assistant(request: HttpRequest) -> HttpResponse:
    question = question_of(request)
    messages = messages_for(question)
    # Clients per request: an async client belongs to the event loop that made it.
    async with (
        AsyncOpenAI(**openai_options()) as openai_client,
        AsyncAnthropic(**anthropic_options()) as anthropic_client,
    ):
        # Both providers at once, from concurrent tasks.
        streamed, message = await asyncio.gather(
            openai_streamed(openai_client, messages),
            anthropic_client.messages.create(
                model=ANTHROPIC_MODEL, max_tokens=MAX_TOKENS, messages=messages
            ),
        )
    answers = {"OpenAI, streamed": streamed, "Anthropic message": text_of(message)}
    context = {"title": "Async assistant", "question": question, "answers": answers}
    return render(request, "demo/assistant.html", context)
