"""Fixtures and helpers the LLM test modules share (their site is tests/llm_site.py).

A module uses the fixtures by importing them::

    from tests.llm_helpers import servers_fixture, site_fixture  # noqa: F401

``servers_fixture`` is the ``servers`` fixture (module-scoped: both loopback
API servers); ``site_fixture`` is autouse: LLMPanel listed, the views pointed
at the servers, both SDKs instrumented, the store cleared before and after.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from debug_toolbar.store import MemoryStore
from django.http import HttpResponse
from django.test import Client

from tests import llm_site
from tests.loopback.anthropic import AnthropicServer
from tests.loopback.openai import OpenAIServer
from tests.pages import render_panel, request_id, stored_panel

PANEL = "LLMPanel"


@pytest.fixture(scope="module", name="servers")
def servers_fixture() -> Iterator[tuple[OpenAIServer, AnthropicServer]]:
    with llm_site.loopback_servers() as running:
        yield running


@pytest.fixture(autouse=True, name="site")
def site_fixture(servers: Any, settings: Any, toolbar_config: Any) -> Iterator[None]:
    llm_site.configure(settings, servers, toolbar_config)
    MemoryStore.clear()
    with llm_site.instrumented():
        yield
    MemoryStore.clear()


def calls_of(response: HttpResponse) -> list[dict[str, Any]]:
    """The kwargs of each call the request recorded (from the store)."""
    stats = stored_panel(request_id(response.content.decode()), PANEL).get_stats()
    return [event["kwargs"] for event in stats.get("events", [])]


def page_text(response: HttpResponse) -> str:
    html = response.content.decode()
    return html[html.index("<p>") + 3 : html.index("</p>")]


def check_call(recorded: dict[str, Any], expected: dict[str, Any]) -> None:
    timings = {"duration", "time_to_first_chunk"}
    assert {k: v for k, v in recorded.items() if k not in timings} == expected
    assert recorded["duration"] > 0
    if expected.get("stream"):
        assert 0 < recorded["time_to_first_chunk"] <= recorded["duration"]
    else:
        assert "time_to_first_chunk" not in recorded


def assert_key_never_recorded(client: Client, response: HttpResponse, key: str) -> None:
    """Neither the stored stats, the rendered panel nor the page hold ``key``."""
    rid = request_id(response.content.decode())
    stats = stored_panel(rid, PANEL).get_stats()
    content = render_panel(client, rid, PANEL)

    assert stats["events"]
    for text in (json.dumps(stats), content, response.content.decode()):
        assert key not in text
        assert "Bearer" not in text
