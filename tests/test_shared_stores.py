"""The shared stores: DjDT's store contract, bounded, atomic, and usable under ASGI.

RedisStore runs against a private Redis server. DatabaseStore runs here on
the test database (SQLite in memory, which other threads cannot open); its
threads and event-loop runs use PostgreSQL, in ``tests/test_store_races.py``
and the deployment tests.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import uuid
from collections.abc import Callable
from typing import Any, cast

import pytest
import redis
from debug_toolbar.models import HistoryEntry
from debug_toolbar.store import BaseStore, get_store
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured

from djdt_signalpanels.stores import RedisStore
from tests.servers import TIMEOUT, AsgiServer, aget, get
from tests.services import free_port
from tests.test_stores import history_table  # noqa: F401  (a fixture)

STORE_CLASSES = {
    "memory": "debug_toolbar.store.MemoryStore",
    "redis": "djdt_signalpanels.stores.RedisStore",
    "database": "djdt_signalpanels.stores.DatabaseStore",
}


@pytest.fixture
def use_store(
    request: pytest.FixtureRequest,
    settings: Any,
    toolbar_config: Callable[..., None],
) -> Callable[..., type[BaseStore]]:
    """Configure DjDT with one of ``STORE_CLASSES``, emptied now and after the test."""

    def configure(name: str, **options: Any) -> type[BaseStore]:
        if name == "redis":
            settings.DJDT_SIGNALPANELS = {
                "REDIS_URL": request.getfixturevalue("redis_url")
            }
        if name == "database":
            request.getfixturevalue("history_table")
            # Rows written by other threads must be visible: no test transaction.
            request.getfixturevalue("transactional_db")
        toolbar_config(TOOLBAR_STORE_CLASS=STORE_CLASSES[name], **options)
        store = cast("type[BaseStore]", get_store())
        store.clear()
        if name != "database":  # transactional_db empties the table itself
            request.addfinalizer(store.clear)
        return store

    return configure


def plain_ids(ids: Any) -> list[str]:
    """Request ids as hex strings: DatabaseStore gives UUID objects."""
    return [uuid.UUID(str(request_id)).hex for request_id in ids]


def ids(count: int) -> list[str]:
    return [uuid.uuid4().hex for _ in range(count)]


@pytest.mark.parametrize("name", STORE_CLASSES)
def test_store_contract_is_djdts(
    name: str, use_store: Callable[..., type[BaseStore]]
) -> None:
    store = use_store(name, RESULTS_CACHE_SIZE=10)
    first, second, third, unknown = ids(4)
    for request_id in (first, second, third):
        store.set(request_id)
    store.set(first)  # setting again changes nothing
    store.save_panel(second, "SearchPanel", {"events": [{"n": (1, 2)}], "text": "é"})
    store.save_panel(second, "TimerPanel", {"total": 1.5})
    store.save_panel(second, "TimerPanel", {"total": 2.5})  # the last save wins

    stored = plain_ids(store.request_ids())
    # DjDT's DatabaseStore lists the newest first, the others the oldest first.
    assert stored == (
        [third, second, first] if name == "database" else [first, second, third]
    )
    assert store.exists(second) and not store.exists(unknown)
    # Stored data is JSON round-tripped: the tuple comes back a list.
    assert store.panel(second, "SearchPanel") == {
        "events": [{"n": [1, 2]}],
        "text": "é",
    }
    assert dict(store.panels(second)) == {
        "SearchPanel": {"events": [{"n": [1, 2]}], "text": "é"},
        "TimerPanel": {"total": 2.5},
    }
    assert store.panel(first, "SearchPanel") == {}
    assert store.panel(unknown, "SearchPanel") == {}
    assert dict(store.panels(unknown)) == {}

    store.delete(second)
    assert not store.exists(second)
    assert store.panel(second, "SearchPanel") == {}
    assert sorted(plain_ids(store.request_ids())) == sorted([first, third])
    store.clear()
    assert list(store.request_ids()) == []
    assert not store.exists(first)


@pytest.mark.parametrize("name", ["redis", "database"])
def test_capacity_evicts_the_oldest_requests_with_their_data(
    name: str, use_store: Callable[..., type[BaseStore]]
) -> None:
    store = use_store(name, RESULTS_CACHE_SIZE=3)
    made = ids(7)
    for request_id in made:  # as the toolbar does: set, then save
        store.set(request_id)
        store.save_panel(request_id, "SearchPanel", {"id": request_id})

    assert sorted(plain_ids(store.request_ids())) == sorted(made[-3:])
    for request_id in made[:4]:
        assert not store.exists(request_id)
        assert store.panel(request_id, "SearchPanel") == {}
    for request_id in made[-3:]:
        assert store.panel(request_id, "SearchPanel") == {"id": request_id}
    # Nothing of the evicted requests is left behind.
    if name == "redis":
        assert redis_keys() == {"djdt:ids", "djdt:arrivals"} | {
            f"djdt:request:{request_id}" for request_id in made[-3:]
        }
    else:
        assert HistoryEntry.objects.count() == 3


def redis_keys() -> set[str]:
    client = RedisStore._client()
    return set(client.keys("*"))


THREADS = 32
REQUESTS_PER_THREAD = 75


def store_like_the_toolbar(store: type[BaseStore], request_id: str) -> None:
    """What DjDT does with its store during one request."""
    store.set(request_id)
    for panel_id in ("TimerPanel", "SearchPanel", "FeatureFlagsPanel"):
        store.save_panel(
            request_id, panel_id, {"request": request_id, "panel": panel_id}
        )


def run_threads(store: type[BaseStore], request_ids: list[list[str]]) -> None:
    start = threading.Barrier(len(request_ids), timeout=TIMEOUT)
    errors: list[BaseException] = []

    def work(mine: list[str]) -> None:
        try:
            start.wait()
            for request_id in mine:
                store_like_the_toolbar(store, request_id)
        except BaseException as error:  # reported by the test below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(mine,)) for mine in request_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 4)
    assert not errors, errors[:3]


def test_redis_store_loses_no_request_id_at_32_threads(
    use_store: Callable[..., type[BaseStore]],
) -> None:
    store = use_store("redis", RESULTS_CACHE_SIZE=10_000)
    per_thread = [ids(REQUESTS_PER_THREAD) for _ in range(THREADS)]
    run_threads(store, per_thread)

    made = [request_id for mine in per_thread for request_id in mine]
    assert len(made) == 2400
    assert set(store.request_ids()) == set(made)
    assert len(list(store.request_ids())) == 2400
    for request_id in made:
        assert dict(store.panels(request_id)) == {
            panel_id: {"request": request_id, "panel": panel_id}
            for panel_id in ("TimerPanel", "SearchPanel", "FeatureFlagsPanel")
        }


def test_redis_store_stays_bounded_at_32_threads(
    use_store: Callable[..., type[BaseStore]],
) -> None:
    store = use_store("redis", RESULTS_CACHE_SIZE=100)
    per_thread = [ids(REQUESTS_PER_THREAD) for _ in range(THREADS)]
    run_threads(store, per_thread)

    kept = list(store.request_ids())
    assert len(kept) == 100
    made = {request_id for mine in per_thread for request_id in mine}
    assert set(kept) <= made
    # One hash per kept request, none for the evicted: no orphan data.
    assert redis_keys() == {"djdt:ids", "djdt:arrivals"} | {
        f"djdt:request:{request_id}" for request_id in kept
    }


def test_redis_store_uses_djdts_key_prefix(
    use_store: Callable[..., type[BaseStore]],
) -> None:
    store = use_store("redis", CACHE_KEY_PREFIX="site-a:")
    store.save_panel("0" * 32, "SearchPanel", {})
    assert redis_keys() == {
        "site-a:ids",
        "site-a:arrivals",
        f"site-a:request:{'0' * 32}",
    }


def test_redis_store_without_url_says_what_to_set(settings: Any) -> None:
    settings.DJDT_SIGNALPANELS = {}
    with pytest.raises(ImproperlyConfigured, match=r'DJDT_SIGNALPANELS\["REDIS_URL"\]'):
        RedisStore.exists("0" * 32)


def test_redis_store_fails_fast_when_the_server_is_down(
    settings: Any, unused_port: int
) -> None:
    settings.DJDT_SIGNALPANELS = {"REDIS_URL": f"redis://127.0.0.1:{unused_port}/0"}
    with pytest.raises(redis.ConnectionError):
        RedisStore.set("0" * 32)


@pytest.fixture
def unused_port() -> int:
    return free_port()


# Under ASGI the toolbar calls its store from the event loop.

ASGI_REQUESTS = 120  # half async views, half sync views, all in flight at once


def serve_concurrently(port: int) -> list[tuple[str, Any]]:
    plan = [
        (f"r{number}", "/async/" if number % 2 else "/sync/")
        for number in range(ASGI_REQUESTS)
    ]

    async def run_all() -> list[Any]:
        return await asyncio.wait_for(
            asyncio.gather(
                *(aget(port, f"{path}?tag={tag}&n=2") for tag, path in plan)
            ),
            TIMEOUT * 2,
        )

    return list(zip((tag for tag, _ in plan), asyncio.run(run_all()), strict=True))


def searches_on_panel(port: int, request_id: str) -> str:
    response = get(
        port, f"/__debug__/render_panel/?request_id={request_id}&panel_id=SearchPanel"
    )
    assert response.status == 200, response.body[:300]
    return str(json.loads(response.body)["content"])


def test_redis_store_under_asgi_keeps_every_request(
    use_store: Callable[..., type[BaseStore]],
) -> None:
    store = use_store("redis", RESULTS_CACHE_SIZE=10_000)
    with AsgiServer() as server:
        served = serve_concurrently(server.port)
        for tag, response in served:
            assert response.status == 200, response.body[:500]
            content = searches_on_panel(server.port, response.request_id)
            assert f"{tag}-0" in content and f"{tag}-1" in content
            assert "available anymore" not in content
    assert len(set(plain_ids(store.request_ids()))) == ASGI_REQUESTS


def test_djdts_database_store_fails_under_asgi(
    use_store: Callable[..., type[BaseStore]], toolbar_config: Callable[..., None]
) -> None:
    """The failure DatabaseStore exists for: the same requests with DjDT's store."""
    use_store("database")
    toolbar_config(TOOLBAR_STORE_CLASS="debug_toolbar.store.DatabaseStore")
    with AsgiServer() as server:
        response = get(server.port, "/async/?tag=x&n=1")
    assert response.status == 500
    assert "SynchronousOnlyOperation" in response.body


# Checks


def store_errors() -> list[str]:
    return [
        message.id
        for message in run_checks()
        if message.id in {"djdt_signalpanels.E013", "djdt_signalpanels.E014"}
    ]


def test_checks_want_a_redis_url_for_the_redis_store(
    settings: Any, toolbar_config: Callable[..., None]
) -> None:
    toolbar_config(TOOLBAR_STORE_CLASS="djdt_signalpanels.stores.RedisStore")
    settings.DJDT_SIGNALPANELS = {}
    assert store_errors() == ["djdt_signalpanels.E013"]
    settings.DJDT_SIGNALPANELS = {"REDIS_URL": "localhost:6379"}
    assert store_errors() == ["djdt_signalpanels.E013"]
    settings.DJDT_SIGNALPANELS = {"REDIS_URL": "redis://localhost:6379/0"}
    assert store_errors() == []
    # Another store: no URL needed, but a set one must still be valid.
    toolbar_config(TOOLBAR_STORE_CLASS="debug_toolbar.store.MemoryStore")
    settings.DJDT_SIGNALPANELS = {}
    assert store_errors() == []
    settings.DJDT_SIGNALPANELS = {"REDIS_URL": 6379}
    assert store_errors() == ["djdt_signalpanels.E013"]


def test_checks_want_the_redis_package_for_the_redis_store(
    settings: Any, toolbar_config: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    toolbar_config(TOOLBAR_STORE_CLASS="djdt_signalpanels.stores.RedisStore")
    settings.DJDT_SIGNALPANELS = {"REDIS_URL": "redis://localhost:6379/0"}
    monkeypatch.setitem(sys.modules, "redis", None)  # as if not installed
    assert store_errors() == ["djdt_signalpanels.E014"]
