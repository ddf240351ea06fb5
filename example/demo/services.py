"""Where the demo's clients connect: the services the environment names, or loopback servers.

With nothing configured, each client talks to a small server from
``tests/loopback`` that speaks the real API on 127.0.0.1 (a free port). A
server starts the first time a page needs it, in a background thread of the
process serving the page: never during ``migrate``, and never in the parent
process of runserver's autoreloader, which serves no page.

These environment variables point the demo at real services instead:

- ``DEMO_ELASTICSEARCH_URL``, such as ``http://localhost:9200`` (and
  ``DEMO_ELASTICSEARCH_API_KEY`` if the cluster wants one). The demo creates
  and fills the ``demo-products`` index on first use if it is missing.
- ``OPENAI_API_KEY`` (and ``OPENAI_BASE_URL``, read by the openai SDK);
  ``DEMO_OPENAI_MODEL`` picks the model.
- ``ANTHROPIC_API_KEY`` (and ``ANTHROPIC_BASE_URL``, read by the anthropic
  SDK); ``DEMO_ANTHROPIC_MODEL`` picks the model.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable
from typing import Any

from elasticsearch import Elasticsearch

from tests.loopback.anthropic import AnthropicServer
from tests.loopback.elasticsearch import ElasticsearchServer
from tests.loopback.openai import OpenAIServer

PLACEHOLDER_KEY = "demo-key"  # the loopback servers accept any key

OPENAI_MODEL = os.environ.get("DEMO_OPENAI_MODEL", "gpt-4o-mini")
ANTHROPIC_MODEL = os.environ.get("DEMO_ANTHROPIC_MODEL", "claude-haiku-4-5")

INDEX = "demo-products"
PRODUCTS = [
    {"name": "Espresso beans", "description": "Dark roast coffee", "in_stock": True},
    {"name": "Burr grinder", "description": "Grinds coffee evenly", "in_stock": True},
    {"name": "Coffee filters", "description": "Paper, size 4", "in_stock": False},
    {"name": "Pour-over kettle", "description": "Gooseneck spout", "in_stock": True},
    {"name": "Green tea", "description": "Sencha leaves", "in_stock": True},
]

_lock = threading.Lock()
_started: dict[str, Any] = {}
_seeded: set[str] = set()  # real clusters whose index is known to be there


# The loopback servers, by name: each started once per process, on first use.
LOOPBACK: dict[str, Callable[[], Any]] = {
    "elasticsearch": lambda: ElasticsearchServer(indices={INDEX: PRODUCTS}),
    "openai": OpenAIServer,
    "anthropic": AnthropicServer,
}


def _loopback(name: str) -> Any:
    with _lock:
        if name not in _started:
            _started[name] = LOOPBACK[name]().start()
        return _started[name]


def elasticsearch_options() -> dict[str, Any]:
    """Keyword arguments for ``Elasticsearch(...)`` and ``AsyncElasticsearch(...)``.

    For a real cluster, the first call creates the index if it is missing: a
    blocking call, once per process, even from an async view.
    """
    url = os.environ.get("DEMO_ELASTICSEARCH_URL")
    if not url:
        return {"hosts": _loopback("elasticsearch").url}
    options: dict[str, Any] = {"hosts": url}
    if api_key := os.environ.get("DEMO_ELASTICSEARCH_API_KEY"):
        options["api_key"] = api_key
    with _lock:
        if url not in _seeded:
            # Once per process, in an empty context: the toolbar records the
            # page's own queries, not this setup.
            contextvars.Context().run(_create_index, options)
            _seeded.add(url)
    return options


def _create_index(options: dict[str, Any]) -> None:
    with Elasticsearch(**options) as client:
        if not client.indices.exists(index=INDEX):
            operations: list[dict[str, Any]] = []
            for product in PRODUCTS:
                operations += [{"index": {"_index": INDEX}}, product]
            client.bulk(operations=operations, refresh=True)


def openai_options() -> dict[str, Any]:
    """Keyword arguments for ``OpenAI(...)`` and ``AsyncOpenAI(...)``."""
    if os.environ.get("OPENAI_API_KEY"):
        return {}  # the SDK reads OPENAI_API_KEY and OPENAI_BASE_URL itself
    return {"api_key": PLACEHOLDER_KEY, "base_url": _loopback("openai").base_url}


def anthropic_options() -> dict[str, Any]:
    """Keyword arguments for ``Anthropic(...)`` and ``AsyncAnthropic(...)``."""
    if os.environ.get("ANTHROPIC_API_KEY"):
        return {}  # the SDK reads ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL itself
    return {"api_key": PLACEHOLDER_KEY, "base_url": _loopback("anthropic").url}


def describe() -> list[tuple[str, str]]:
    """What each client talks to, for the index page (starts nothing, shows no secret)."""
    loopback = "a loopback server on 127.0.0.1, started on first use"
    return [
        (
            "Elasticsearch",
            "the cluster at DEMO_ELASTICSEARCH_URL"
            if os.environ.get("DEMO_ELASTICSEARCH_URL")
            else loopback,
        ),
        (
            "OpenAI",
            f"the OpenAI API ({OPENAI_MODEL}), as OPENAI_API_KEY is set"
            if os.environ.get("OPENAI_API_KEY")
            else loopback,
        ),
        (
            "Anthropic",
            f"the Anthropic API ({ANTHROPIC_MODEL}), as ANTHROPIC_API_KEY is set"
            if os.environ.get("ANTHROPIC_API_KEY")
            else loopback,
        ),
    ]
