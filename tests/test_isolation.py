"""Each send lands in the request that made it, and in no other.

Real servers in this process, so DjDT's ``MemoryStore`` is readable here:
Django's threaded WSGI server (pytest-django's ``live_server``) and uvicorn.
Every request carries a unique tag that the view puts into each send; a
request's stored stats must hold exactly its own sends.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from debug_toolbar.store import MemoryStore, get_store
from django.test import Client

from djdt_signalpanels import recording
from tests import views
from tests.servers import TIMEOUT, AsgiServer, Response, aget, get, live_server_port
from tests.signals import search_done

WSGI_THREADS = 32
WSGI_REQUESTS_PER_THREAD = 3
ASGI_REQUESTS = 240  # half to the async view, half to the sync view
ASGI_CLIENT_CONNECTIONS = ASGI_REQUESTS  # all in flight at once, and no more


@pytest.fixture(autouse=True)
def _memory_store(toolbar_config: Callable[..., None]) -> Iterator[None]:
    # Keep every request of a test: the default of 25 would evict most of them.
    toolbar_config(
        TOOLBAR_STORE_CLASS="debug_toolbar.store.MemoryStore",
        RESULTS_CACHE_SIZE=10_000,
    )
    MemoryStore.clear()
    yield
    MemoryStore.clear()


def tag_of(value: str) -> str:
    """``"w3r1-4"`` -> ``"w3r1"``; ``"w3r1-flag"`` -> ``"w3r1"``."""
    return value.rsplit("-", 1)[0]


@dataclass
class Audit:
    """Foreign and missing events over many requests."""

    requests: int = 0
    events: int = 0
    foreign: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    disordered: list[str] = field(default_factory=list)
    wrong_stacks: list[str] = field(default_factory=list)
    dropped: int = 0

    def check(
        self,
        request_id: str,
        tag: str,
        *,
        searches: list[str],
        flags: list[str],
    ) -> None:
        """Compare one request's stored events with what its view sent."""
        store = get_store()
        self.requests += 1
        for panel_id, key, expected in (
            ("SearchPanel", "query", searches),
            ("FeatureFlagsPanel", "name", flags),
        ):
            stats = store.panel(request_id, panel_id)
            seen = [event["kwargs"][key] for event in stats["events"]]
            self.events += len(seen)
            self.dropped += stats["dropped"]
            self.foreign += [
                f"{tag}/{panel_id}: {value}" for value in seen if tag_of(value) != tag
            ]
            self.missing += [
                f"{tag}/{panel_id}: {value}"
                for value in (Counter(expected) - Counter(seen)).elements()
            ]
            # Own events, exactly once each and in the order they were sent
            # (every view here sends from one thread or one task).
            own = [value for value in seen if tag_of(value) == tag]
            if own != expected:
                self.disordered.append(f"{tag}/{panel_id}: {own} != {expected}")
        # Each stack ends in the function that sent: tests.views.search for
        # send(), the async view itself for the ones it awaits through asend().
        for event in store.panel(request_id, "SearchPanel")["events"]:
            query = event["kwargs"]["query"]
            function = "async_view" if "-a" in query else "search"
            if event["stack"][-1][2] != function:
                self.wrong_stacks.append(f"{query}: {event['stack'][-1]}")

    def assert_clean(self, requests: int) -> None:
        assert self.requests == requests
        assert self.foreign == [], f"{len(self.foreign)} foreign events"
        assert self.missing == [], f"{len(self.missing)} missing events"
        assert self.disordered == []
        assert self.wrong_stacks == []
        assert self.dropped == 0


def sync_sends(tag: str, count: int) -> dict[str, list[str]]:
    """What ``tests.views.sync_view`` sends."""
    return {
        "searches": [f"{tag}-{index}" for index in range(count)],
        "flags": [f"{tag}-flag"] * count,
    }


def async_sends(tag: str, count: int) -> dict[str, list[str]]:
    """What ``tests.views.async_view`` sends: ``send`` and ``asend`` in turn."""
    searches: list[str] = []
    for index in range(count):
        searches += [f"{tag}-{index}", f"{tag}-a{index}"]
    return {"searches": searches, "flags": []}


@pytest.fixture
def sent() -> Iterator[list[str]]:
    """Every query sent on ``search_done`` during the test, recorded or not."""
    queries: list[str] = []

    def receiver(sender: Any, query: str = "", **kwargs: Any) -> None:
        queries.append(query)

    search_done.connect(receiver, weak=False, dispatch_uid="test_isolation.sent")
    yield queries
    search_done.disconnect(dispatch_uid="test_isolation.sent")


# (a) Threaded WSGI server


# live_server brings transactional database access with it (pytest-django).
def test_wsgi_concurrent_requests_record_only_their_own_sends(live_server: Any) -> None:
    port = live_server_port(live_server)
    start = threading.Barrier(WSGI_THREADS, timeout=TIMEOUT)
    # A sync view sends in microseconds; without a rendezvous the requests
    # would mostly run one after another. The first request of every client
    # waits in its first send until all 32 are inside their views.
    inside = threading.Barrier(WSGI_THREADS, timeout=TIMEOUT)

    def rendezvous(sender: Any, query: str = "", **kwargs: Any) -> None:
        if query.endswith("r0-0"):
            inside.wait()

    search_done.connect(rendezvous, weak=False, dispatch_uid="test_isolation.inside")

    def client(worker: int) -> list[tuple[str, int, Response]]:
        start.wait()  # all threads begin together, so the requests overlap
        results = []
        for number in range(WSGI_REQUESTS_PER_THREAD):
            tag = f"w{worker}r{number}"
            count = 1 + (worker + number) % 7
            response = get(port, f"/sync/?tag={tag}&n={count}")
            assert response.status == 200, response.body[:500]
            results.append((tag, count, response))
        return results

    try:
        with ThreadPoolExecutor(max_workers=WSGI_THREADS) as pool:
            futures = [pool.submit(client, worker) for worker in range(WSGI_THREADS)]
            results = [item for future in futures for item in future.result(TIMEOUT)]
    finally:
        search_done.disconnect(dispatch_uid="test_isolation.inside")
        inside.abort()  # frees any request still waiting after a failure

    audit = Audit()
    for tag, count, response in results:
        audit.check(response.request_id, tag, **sync_sends(tag, count))
    audit.assert_clean(WSGI_THREADS * WSGI_REQUESTS_PER_THREAD)
    assert audit.events == sum(2 * count for _, count, _ in results)


# (b) ASGI server: async views and sync views, all at once


def test_asgi_concurrent_requests_record_only_their_own_sends(
    asgi_server: AsgiServer, sent: list[str]
) -> None:
    plan = [
        (
            f"{'async' if number % 2 else 'sync'}{number}",
            "/async/" if number % 2 else "/sync/",
            1 + number % 5,
        )
        for number in range(ASGI_REQUESTS)
    ]
    # Each sync view runs in a thread of its own request; make the first 16
    # wait in their first send until all 16 are inside their views.
    gathered = [f"sync{number}-0" for number in range(0, 32, 2)]
    inside = threading.Barrier(len(gathered), timeout=TIMEOUT)

    def rendezvous(sender: Any, query: str = "", **kwargs: Any) -> None:
        if query in gathered:
            inside.wait()

    async def run_all() -> list[Response]:
        limit = asyncio.Semaphore(ASGI_CLIENT_CONNECTIONS)

        async def one(tag: str, path: str, count: int) -> Response:
            async with limit:
                return await aget(asgi_server.port, f"{path}?tag={tag}&n={count}")

        return await asyncio.wait_for(
            asyncio.gather(*(one(*item) for item in plan)), TIMEOUT * 2
        )

    search_done.connect(rendezvous, weak=False, dispatch_uid="test_isolation.inside")
    try:
        responses = asyncio.run(run_all())
    finally:
        search_done.disconnect(dispatch_uid="test_isolation.inside")
        inside.abort()

    audit = Audit()
    for (tag, path, count), response in zip(plan, responses, strict=True):
        assert response.status == 200, response.body[:500]
        sends = async_sends if path == "/async/" else sync_sends
        audit.check(response.request_id, tag, **sends(tag, count))
    audit.assert_clean(ASGI_REQUESTS)
    assert len({response.request_id for response in responses}) == ASGI_REQUESTS
    # The async views did run interleaved: other requests sent between the
    # first and the last send of many of them.
    assert len(interleaved(sent, prefix="async")) >= 10


def interleaved(sent: list[str], *, prefix: str) -> set[str]:
    """Tags with ``prefix`` whose sends had other requests' sends in between."""
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for index, query in enumerate(sent):
        first.setdefault(tag_of(query), index)
        last[tag_of(query)] = index
    return {
        tag
        for tag in first
        if tag.startswith(prefix)
        and any(tag_of(query) != tag for query in sent[first[tag] : last[tag]])
    }


# (c) and (d): one request at a time, through the WSGI handler and under ASGI


Fetch = Callable[[str], Response]


@pytest.fixture(params=["wsgi", "asgi"])
def fetch(request: pytest.FixtureRequest) -> Iterator[Fetch]:
    """GET a path through Django's test client (WSGI) or a real uvicorn (ASGI)."""
    if request.param == "wsgi":
        client = Client()

        def through_client(path: str) -> Response:
            response = client.get(path)
            return Response(response.status_code, {}, response.content.decode())

        yield through_client
    else:
        with AsgiServer() as server:
            yield lambda path: get(server.port, path)


def searches_of(request_id: str) -> list[str]:
    stats = get_store().panel(request_id, "SearchPanel")
    return [event["kwargs"]["query"] for event in stats["events"]]


def test_bound_threads_record_into_the_request_unbound_ones_do_not(
    fetch: Fetch, sent: list[str]
) -> None:
    response = fetch("/threads/?tag=pool&n=12")
    assert response.status == 200

    recorded = searches_of(response.request_id)
    # Four executor workers ran the one wrapped function twelve times.
    assert sorted(recorded) == sorted(f"pool-{index}" for index in range(12))
    # The unbound thread did send, and the send was dropped.
    assert "pool-999" in sent
    assert "pool-999" not in recorded


def test_send_after_the_request_finished_goes_nowhere(
    fetch: Fetch, sent: list[str]
) -> None:
    views.late_release.clear()
    views.late_sent.clear()
    late_send_done = threading.Event()

    def release_late_thread_mid_request(
        sender: Any, query: str = "", **kwargs: Any
    ) -> None:
        # Runs inside request "second", which records: the late thread sends
        # while another request is in flight and the receiver is connected.
        if query == "second-0":
            assert recording.is_connected(search_done)
            views.late_release.set()
            assert views.late_sent.wait(TIMEOUT)
            late_send_done.set()

    search_done.connect(
        release_late_thread_mid_request, weak=False, dispatch_uid="test_isolation.late"
    )
    try:
        first = fetch("/late/?tag=first")
        assert not views.late_release.is_set()  # the late thread is still waiting
        second = fetch("/sync/?tag=second&n=3")
        assert late_send_done.is_set()
        third = fetch("/sync/?tag=third&n=2")
    finally:
        search_done.disconnect(dispatch_uid="test_isolation.late")
        views.late_release.set()  # never leave the thread waiting

    assert "first-1000" in sent  # the late send did happen
    assert searches_of(first.request_id) == ["first-0"]
    assert searches_of(second.request_id) == ["second-0", "second-1", "second-2"]
    assert searches_of(third.request_id) == ["third-0", "third-1"]
