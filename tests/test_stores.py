"""Panels render the same from every store (DjDT's and ours), and from the History panel.

Every store JSON round-trips the stats; the AJAX ``render_panel`` view and the
History panel render from that round-tripped data, long after the request.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from debug_toolbar.models import HistoryEntry
from debug_toolbar.store import BaseStore, MemoryStore, get_store
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.management import call_command
from django.test import Client, override_settings

from tests.pages import render_panel, request_id

STORES = {
    "MemoryStore": "debug_toolbar.store.MemoryStore",
    "DatabaseStore": "debug_toolbar.store.DatabaseStore",
    "CacheStore": "debug_toolbar.store.CacheStore",
    # This package's shared stores render the same.
    "RedisStore": "djdt_signalpanels.stores.RedisStore",
    "AsgiDatabaseStore": "djdt_signalpanels.stores.DatabaseStore",
}


@pytest.fixture(scope="session")
def history_table(django_db_setup: None, django_db_blocker: Any) -> None:
    """Apply DjDT's migration, as a project that uses DatabaseStore does.

    DjDT hides its migration (through MIGRATION_MODULES) unless DatabaseStore
    is configured when it starts, and the test settings use MemoryStore.
    """
    shown = {
        app: module
        for app, module in django_settings.MIGRATION_MODULES.items()
        if app != "debug_toolbar"
    }
    with django_db_blocker.unblock(), override_settings(MIGRATION_MODULES=shown):
        call_command("migrate", "debug_toolbar", verbosity=0)


@pytest.fixture(params=STORES)
def store(
    request: pytest.FixtureRequest,
    settings: Any,
    toolbar_config: Callable[..., None],
) -> Iterator[type[BaseStore]]:
    """DjDT configured with one store class, empty before and after the test."""
    name = request.param
    if name == "RedisStore":
        settings.DJDT_SIGNALPANELS = {"REDIS_URL": request.getfixturevalue("redis_url")}
    if name in ("DatabaseStore", "AsgiDatabaseStore"):
        request.getfixturevalue("history_table")
        request.getfixturevalue("db")
    if name == "CacheStore":
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": "test-stores",
            }
        }
    # The config is cached by DjDT and cleared on setting_changed; each
    # toolbar looks the store class up again in init_store().
    toolbar_config(TOOLBAR_STORE_CLASS=STORES[name])
    # DjDT annotates get_store() as returning an instance; it returns the class.
    store_class = cast("type[BaseStore]", get_store())
    assert f"{store_class.__module__}.{store_class.__name__}" == STORES[name]
    store_class.clear()
    MemoryStore.clear()
    yield store_class
    store_class.clear()
    if name == "CacheStore":
        caches["default"].clear()


def request_id_of(response: Any) -> str:
    return request_id(response.content.decode())


def send_rows(content: str, panel_id: str) -> list[str]:
    """The main row of each send, markup and all."""
    return re.findall(rf'<tr id="{panel_id}Send_\d+".*?</tr>', content, re.DOTALL)


def texts(fragment: str) -> list[str]:
    """The visible text pieces of an HTML fragment."""
    return [
        html.unescape(piece.strip())
        for piece in re.split(r"<[^>]*>", fragment)
        if piece.strip()
    ]


def stored_in(store: type[BaseStore], request_id: str) -> None:
    """The request really went to the configured store."""
    assert store.exists(request_id)
    if store.__name__ == "DatabaseStore":
        assert HistoryEntry.objects.filter(request_id=request_id).exists()
    else:
        assert not MemoryStore.exists(request_id) or store is MemoryStore


def test_panel_renders_the_sends_from_the_store(
    store: type[BaseStore], client: Client
) -> None:
    response = client.get("/sync/?tag=stored&n=3")
    request_id = request_id_of(response)
    stored_in(store, request_id)

    content = render_panel(client, request_id, "SearchPanel")
    rows = send_rows(content, "SearchPanel")
    assert len(rows) == 3
    # The toggle, the time, then the columns: query, hits, took (a duration).
    assert [texts(row)[2:] for row in rows] == [
        ["stored-0", "0", "0.50 ms"],
        ["stored-1", "1", "0.50 ms"],
        ["stored-2", "2", "0.50 ms"],
    ]
    headers = re.findall(r"<th[^>]*>(.*?)</th>", content)
    assert headers[1:] == ["Query", "Hits", "Took"]
    # Each send's stack, down to the view and the helper that sent.
    assert content.count('<span class="djdt-file">views.py</span>') >= 6
    assert '<span class="djdt-func">search</span>' in content
    assert '<span class="djdt-func">sync_view</span>' in content

    flags = render_panel(client, request_id, "FeatureFlagsPanel")
    flag_rows = send_rows(flags, "FeatureFlagsPanel")
    assert [texts(row)[2:4] for row in flag_rows] == [
        ["stored-flag", "True"],
        ["stored-flag", "False"],
        ["stored-flag", "True"],
    ]
    # The summary table is stored data too.
    assert "Changed in this request" in flags


def test_live_render_matches_the_render_from_the_store(
    store: type[BaseStore], client: Client, toolbar_config: Callable[..., None]
) -> None:
    toolbar_config(RENDER_PANELS=True)  # panel HTML inside the page itself
    page = client.get("/sync/?tag=live&n=4").content.decode()
    [request_id] = list(store.request_ids())
    stored_in(store, request_id)

    for panel_id, sends in (("SearchPanel", 4), ("FeatureFlagsPanel", 4)):
        match = re.search(
            rf'<div id="{panel_id}" class="djdt-panelContent.*?'
            r'<div class="djdt-scroll"[^>]*>(.*?)</div>',
            page,
            re.DOTALL,
        )
        assert match, f"{panel_id} was not rendered into the page"
        live = match.group(1)
        from_store = render_panel(client, request_id, panel_id)
        assert len(send_rows(live, panel_id)) == sends
        assert send_rows(live, panel_id) == send_rows(from_store, panel_id)
        assert live.strip() == from_store.strip()


def test_history_shows_the_older_request_with_its_own_data(
    store: type[BaseStore], client: Client
) -> None:
    older = request_id_of(client.get("/sync/?tag=older&n=2"))
    newer = request_id_of(client.get("/sync/?tag=newer&n=5"))
    stored_in(store, older)
    stored_in(store, newer)

    # The refresh lists both requests, each with its own URL.
    refresh = client.get("/__debug__/history_refresh/", {"request_id": newer})
    refreshed = refresh.json()["requests"]
    # DatabaseStore gives the ids as dashed UUIDs.
    by_id = {
        uuid.UUID(row["id"]).hex: html.unescape(row["content"]) for row in refreshed
    }
    assert set(by_id) == {older, newer}
    assert "/sync/?tag=older&n=2" in by_id[older]
    assert "/sync/?tag=newer&n=5" in by_id[newer]

    # Switching to the older request shows our panels with its counts...
    sidebar = client.get(
        "/__debug__/history_sidebar/",
        {"request_id": older, "exclude_history": "True"},
    ).json()
    assert {"SearchPanel", "FeatureFlagsPanel"} <= set(sidebar)
    assert "HistoryPanel" not in sidebar
    assert "2 sends" in sidebar["SearchPanel"]["button"]
    assert "2 evaluations of 1 flag" in sidebar["FeatureFlagsPanel"]["button"]
    assert 'id="SearchPanel"' in sidebar["SearchPanel"]["content"]

    # ...and their content, loaded for that request id, holds its sends only.
    content = render_panel(client, older, "SearchPanel")
    assert [texts(row)[2] for row in send_rows(content, "SearchPanel")] == [
        "older-0",
        "older-1",
    ]
    assert "newer-" not in content
    newer_content = render_panel(client, newer, "SearchPanel")
    assert [texts(row)[2] for row in send_rows(newer_content, "SearchPanel")] == [
        f"newer-{index}" for index in range(5)
    ]
    assert "older-" not in newer_content
