"""LLMPanel: its table, summary, costs and checks; isolation of concurrent requests.

Calls are made by the real openai and anthropic SDKs against the loopback
servers, inside requests (tests/llm_site.py); the panel is read back from the
toolbar's store.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from debug_toolbar.store import CacheStore, MemoryStore
from django.core.checks import run_checks
from django.test import AsyncClient, Client

from djdt_signalpanels.integrations import anthropic as anthropic_integration
from djdt_signalpanels.integrations import openai as openai_integration
from djdt_signalpanels.panels import LLMPanel
from tests.llm_helpers import PANEL, servers_fixture, site_fixture  # noqa: F401
from tests.pages import (
    Row,
    detail_rows,
    render_panel,
    request_id,
    send_rows,
    stored_panel,
    table_rows,
)

pytestmark = pytest.mark.urls("tests.llm_site")

WARNING = "djDebugRowWarning"
ROOT = Path(__file__).resolve().parent.parent
PRICES = {
    "gpt-4o-mini": {"input": 1000, "cached_input": 500, "output": 2000},
    # Priced by the dated model the API answers with; no cached_input price.
    "claude-haiku-4-5-20250101": {"input": 3000, "output": 15000},
}


def page_of(client: Client, *urls: str) -> list[str]:
    return [client.get(url).content.decode() for url in urls]


def request_of(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return request_id(response.content.decode())


def texts(row: Row) -> list[str]:
    return [cell.text.strip() for cell in row.cells]


def headers(html: str) -> list[list[str]]:
    return [row.headers for row in table_rows(html) if row.headers]


def models_table(html: str) -> list[list[str]]:
    rows = table_rows(html)
    start = next(i for i, row in enumerate(rows) if row.headers)
    body = []
    for row in rows[start + 1 :]:
        if row.headers:
            break
        body.append(texts(row))
    return body


def recorded_models(request: str) -> list[str]:
    events = stored_panel(request, PANEL).get_stats()["events"]
    return [event["kwargs"]["request_model"] for event in events]


# The table


def test_columns_of_a_plain_call(client: Client) -> None:
    request = request_of(client, "/openai/chat/")
    content = render_panel(client, request, PANEL)

    (summary, sends) = headers(content)
    assert summary == ["Model", "Calls", "Input tokens", "Output tokens"]
    assert sends == [
        "Time",
        "Provider",
        "Operation",
        "Model",
        "Response model",
        "Input tokens",
        "Output tokens",
        "Cached tokens",
        "Reasoning tokens",
        "Finish reasons",
        "Duration",
        "Stream",
    ]
    (row,) = send_rows(content, PANEL)
    cells = texts(row)[2:]
    assert cells[:9] == [
        "openai",
        "chat",
        "gpt-4o-mini",
        "gpt-4o-mini-2025-01-01",
        "2",
        "3",
        "1",
        "2",
        '["stop"]',
    ]
    assert re.fullmatch(r"\d+\.\d\d ms", cells[9])
    assert cells[10] == "False"
    assert row.cells[4].tags == ["code"]  # the model
    (details,) = detail_rows(content)
    assert (
        "openai.resources.chat.completions.completions.Completions"
        in details.cells[1].text
    )


def test_optional_columns_appear_when_sent(client: Client, settings: Any) -> None:
    settings.DJDT_SIGNALPANELS = {"LLM_PREVIEWS": True}
    request = request_of(client, "/anthropic/messages_stream/?model=claude-cut")
    content = render_panel(client, request, PANEL)

    sends = headers(content)[-1]
    assert "First chunk" in sends
    assert "Error" in sends
    assert "Input" in sends and "Output" in sends
    assert "Reasoning tokens" not in sends  # anthropic does not report them
    (row,) = send_rows(content, PANEL)
    assert WARNING in row.classes  # a failed call stands out
    cells = dict(zip(sends[1:], texts(row)[2:], strict=True))  # "Time" spans 2
    assert cells["Error"] == "APIStatusError"
    assert cells["Output"] == "Echo: hello"
    assert cells["Input"] == "hello there"


# Summary


def test_subtitle_and_models(client: Client) -> None:
    request = request_of(client, "/openai/chat/?calls=2")
    panel = stored_panel(request, PANEL)
    events = panel.get_stats()["events"]
    total = sum(event["kwargs"]["duration"] for event in events)

    assert panel.nav_subtitle == f"2 calls, 10 tokens, {total:.2f} ms"
    content = render_panel(client, request, PANEL)
    assert models_table(content) == [["gpt-4o-mini", "2", "4", "6"]]


def test_subtitle_of_one_call(client: Client) -> None:
    request = request_of(client, "/openai/embeddings/?prompt=hi")
    subtitle = stored_panel(request, PANEL).nav_subtitle

    assert re.fullmatch(r"1 call, 3 tokens, \d+\.\d\d ms", subtitle)


def test_subtitle_of_no_calls(client: Client) -> None:
    request = request_of(client, "/openai/chat/?calls=0")
    panel = stored_panel(request, PANEL)

    assert panel.nav_subtitle == "0 calls, 0 tokens, 0.00 ms"
    assert "No sends in this request." in render_panel(client, request, PANEL)


def test_subtitle_in_the_page(client: Client) -> None:
    (page,) = page_of(client, "/openai/chat/")

    assert re.search(r"<small>1 call, 5 tokens, \d+\.\d\d ms</small>", page)


def test_tokens_have_thousands_separators(client: Client) -> None:
    prompt = " ".join(["word"] * 1200)
    request = request_of(client, f"/openai/chat/?prompt={prompt}")

    subtitle = stored_panel(request, PANEL).nav_subtitle
    assert subtitle.startswith("1 call, 2,401 tokens, ")


# Costs


def test_cost_column_and_totals(client: Client, settings: Any) -> None:
    settings.DJDT_SIGNALPANELS = {"LLM_PRICES": PRICES}
    # Per call: gpt-4o-mini 1 input + 1 cached input + 3 output tokens:
    # (1 * 1000 + 1 * 500 + 3 * 2000) / 1e6 = 0.0075. claude-haiku-4-5: 2 input
    # tokens (cached ones at the input price) and 3 output: 0.051.
    requests = [
        request_of(client, "/openai/chat/?calls=2"),
        request_of(client, "/anthropic/messages/"),
        request_of(client, "/openai/chat/?model=unpriced"),
        request_of(client, "/openai/chat/?model=gpt-4o-mini-429"),
    ]
    contents = [render_panel(client, request, PANEL) for request in requests]

    costs = []
    for content in contents:
        sends = headers(content)[-1]
        assert headers(content)[0] == [
            "Model",
            "Calls",
            "Input tokens",
            "Output tokens",
            "Cost",
        ]
        column = sends.index("Cost") if "Cost" in sends else None
        costs.append(
            [
                texts(row)[column + 1] if column is not None else None
                for row in send_rows(content, PANEL)
            ]
        )
    assert costs == [["0.007500", "0.007500"], ["0.051000"], [None], [None]]
    assert models_table(contents[0]) == [["gpt-4o-mini", "2", "4", "6", "0.015000"]]
    assert models_table(contents[1]) == [
        ["claude-haiku-4-5", "1", "2", "3", "0.051000"]
    ]
    assert models_table(contents[2]) == [["unpriced", "1", "2", "3", "—"]]
    # A failed call has no tokens, so no cost.
    assert models_table(contents[3]) == [["gpt-4o-mini-429", "1", "0", "0", "—"]]


def test_costs_are_stored_with_the_request(client: Client, settings: Any) -> None:
    """The prices of the time of the request: a later change does not alter it."""
    settings.DJDT_SIGNALPANELS = {"LLM_PRICES": PRICES}
    request = request_of(client, "/openai/chat/")
    settings.DJDT_SIGNALPANELS = {}

    (event,) = stored_panel(request, PANEL).get_stats()["events"]
    assert event["kwargs"]["cost"] == "0.007500"
    assert "0.007500" in render_panel(client, request, PANEL)


def test_no_cost_without_prices(client: Client) -> None:
    request = request_of(client, "/openai/chat/")
    content = render_panel(client, request, PANEL)

    (event,) = stored_panel(request, PANEL).get_stats()["events"]
    assert "cost" not in event["kwargs"]
    assert all("Cost" not in row for row in headers(content))


# The store round trip


@pytest.mark.parametrize("store", [MemoryStore, CacheStore])
def test_renders_from_each_store(
    client: Client, toolbar_config: Any, store: Any
) -> None:
    toolbar_config(TOOLBAR_STORE_CLASS=f"{store.__module__}.{store.__qualname__}")
    request = request_of(client, "/openai/chat_stream/")

    content = render_panel(client, request, PANEL)

    (row,) = send_rows(content, PANEL)
    assert texts(row)[2:5] == ["openai", "chat", "gpt-4o-mini"]
    assert "First chunk" in headers(content)[-1]
    assert re.fullmatch(
        r"1 call, 5 tokens, \d+\.\d\d ms", stored_panel(request, PANEL).nav_subtitle
    )


# Isolation: each request sees only its own calls


def test_concurrent_threads(servers: Any) -> None:
    def one(index: int) -> tuple[int, list[str]]:
        kind = ("openai/chat_stream", "anthropic/helper_text")[index % 2]
        model = f"model-t{index}"
        request = request_of(Client(), f"/{kind}/?model={model}&calls=3")
        return index, recorded_models(request)

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(one, range(12)))

    for index, models in results:
        assert models == [f"model-t{index}"] * 3


def test_concurrent_asyncio_tasks() -> None:
    async def one(index: int) -> tuple[int, str]:
        kind = ("openai/chat_stream", "anthropic/helper_final", "openai/responses")[
            index % 3
        ]
        response = await AsyncClient().get(
            f"/async/{kind}/?model=model-a{index}&calls=3"
        )
        return index, request_id(response.content.decode())

    async def all_of() -> list[tuple[int, str]]:
        return await asyncio.gather(*(one(index) for index in range(9)))

    for index, request in asyncio.run(all_of()):
        assert recorded_models(request) == [f"model-a{index}"] * 3


# ready() and the E011 check


def test_ready_installs_what_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    openai_integration.uninstall()
    anthropic_integration.uninstall()
    monkeypatch.setitem(sys.modules, "openai", None)  # as if not installed

    LLMPanel.ready()

    assert not openai_integration.is_installed()
    assert anthropic_integration.is_installed()
    monkeypatch.undo()
    LLMPanel.ready()
    assert openai_integration.is_installed()


@pytest.mark.parametrize(
    ("missing", "error"),
    [
        (("openai", "anthropic"), True),
        (("openai",), False),
        (("anthropic",), False),
        ((), False),
    ],
)
def test_e011_neither_sdk_installed(
    monkeypatch: pytest.MonkeyPatch, missing: tuple[str, ...], error: bool
) -> None:
    for name in missing:
        monkeypatch.setitem(sys.modules, name, None)

    errors = [e for e in run_checks() if (e.id or "").startswith("djdt_signalpanels.")]

    if not error:
        assert errors == []
        return
    (found,) = errors
    assert found.id == "djdt_signalpanels.E011"
    assert found.msg == (
        "djdt_signalpanels.panels.llm.LLMPanel is listed in DEBUG_TOOLBAR_PANELS, "
        "but neither openai nor anthropic is installed: it has no calls to record."
    )
    assert found.hint is not None
    assert "djdt-signalpanels[openai]" in found.hint
    assert found.obj is LLMPanel


SCRIPT = """
import sys
sys.modules["openai"] = None
sys.modules["anthropic"] = None
import django
django.setup()
from django.core.management import call_command
from django.test.utils import override_settings
import djdt_signalpanels.panels
from djdt_signalpanels.integrations import anthropic, openai
assert openai.install() is False and anthropic.install() is False
call_command("check")
panels = ["djdt_signalpanels.panels.LLMPanel"]
with override_settings(DEBUG_TOOLBAR_PANELS=panels):
    try:
        call_command("check")
    except Exception as error:
        print("CHECK FAILED:", error)
"""


def test_without_either_sdk_the_package_imports_and_checks() -> None:
    """In a fresh interpreter, warnings as errors, with neither SDK importable."""
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(SCRIPT)],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "CHECK FAILED:" in result.stdout
    assert "djdt_signalpanels.E011" in result.stdout
