"""ElasticsearchPanel: the real elasticsearch-py client against a loopback server.

Views here call ``Elasticsearch`` and ``AsyncElasticsearch`` the way application
code does, inside real requests (Django's test clients, and uvicorn). This
module is also the URLconf of its tests.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import re
import socket
import subprocess
import sys
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from debug_toolbar.store import MemoryStore, get_store
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client
from django.urls import include, path
from elasticsearch import (
    AsyncElasticsearch,
    BadRequestError,
    Elasticsearch,
    NotFoundError,
    helpers,
)
from elasticsearch import ConnectionError as TransportConnectionError
from elasticsearch._async.client._base import BaseClient as AsyncBaseClient
from elasticsearch._sync.client._base import BaseClient

from djdt_signalpanels import recording
from djdt_signalpanels.integrations import elasticsearch as integration
from djdt_signalpanels.panels import ElasticsearchPanel
from djdt_signalpanels.signals import elasticsearch_query
from tests.loopback.elasticsearch import ElasticsearchServer
from tests.pages import (
    Row,
    detail_rows,
    get_request_id,
    render_panel,
    request_id,
    send_rows,
    stored_panel,
    table_rows,
)
from tests.servers import AsgiServer, aget

pytestmark = pytest.mark.urls(__name__)

PANEL = "ElasticsearchPanel"
WARNING = "djDebugRowWarning"
PAGE = "<html><body><p>{}</p></body></html>"
ROOT = Path(__file__).resolve().parent.parent


class Target:
    """Where the views find the loopback server (set by the ``es`` fixture)."""

    url = ""
    client: Elasticsearch | None = None
    caught: list[BaseException] = []


def sync_client() -> Elasticsearch:
    assert Target.client is not None
    return Target.client


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Views


def sync_view(request: HttpRequest) -> HttpResponse:
    tag = request.GET.get("tag", "t")
    es = sync_client()
    es.index(
        index="products", id=tag, document={"name": "shoe", "tag": tag}, refresh=True
    )
    query = {"term": {"tag": tag}}
    es.search(index="products", query=query)  # the last frame
    es.search(index="products", query=query, rest_total_hits_as_int=True)
    return HttpResponse(PAGE.format(tag))


async def async_view(request: HttpRequest) -> HttpResponse:
    tag = request.GET.get("tag", "t")
    async with AsyncElasticsearch(Target.url) as es:
        await es.index(
            index="products",
            id=tag,
            document={"name": "shoe", "tag": tag},
            refresh=True,
        )
        await asyncio.sleep(0)  # let concurrent requests' tasks run in between
        query = {"term": {"tag": tag}}
        await es.search(index="products", query=query)  # the last frame
        await es.search(index="products", query=query, rest_total_hits_as_int=True)
    return HttpResponse(PAGE.format(tag))


def errors_view(request: HttpRequest) -> HttpResponse:
    es = sync_client()
    calls = [
        lambda: es.search(index="missing", query={"match_all": {}}),
        lambda: es.search(index="products", query={"bogus": {}}),
    ]
    for call in calls:
        try:
            call()
        except Exception as error:
            Target.caught.append(error)
    # An error status the caller said to ignore is no error.
    es.options(ignore_status=404).search(index="missing")
    with Elasticsearch(f"http://127.0.0.1:{closed_port()}", max_retries=0) as nowhere:
        try:
            nowhere.info()
        except Exception as error:
            Target.caught.append(error)
    return HttpResponse(PAGE.format("errors"))


def uncaught_view(request: HttpRequest) -> HttpResponse:
    sync_client().get(index="missing", id="1")
    return HttpResponse(PAGE.format("unreachable"))


def duplicates_view(request: HttpRequest) -> HttpResponse:
    es = sync_client()
    es.indices.create(index="products")
    for tag in ("dup", "other", "dup", "dup"):
        es.search(index="products", query={"term": {"tag": tag}})
    return HttpResponse(PAGE.format("duplicates"))


def bulk_view(request: HttpRequest) -> HttpResponse:
    es = sync_client()
    es.bulk(
        operations=[
            {"index": {"_index": "products", "_id": "1"}},
            {"name": "boot"},
            {"delete": {"_index": "products", "_id": "9"}},
        ]
    )
    helpers.bulk(es, [{"_index": "products", "_id": "2", "name": "sock"}])
    return HttpResponse(PAGE.format("bulk"))


def ping_view(request: HttpRequest) -> HttpResponse:
    sync_client().ping()
    return HttpResponse(PAGE.format("ping"))


def quiet_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE.format("quiet"))


urlpatterns = [
    path("es/sync/", sync_view),
    path("es/async/", async_view),
    path("es/errors/", errors_view),
    path("es/uncaught/", uncaught_view),
    path("es/duplicates/", duplicates_view),
    path("es/bulk/", bulk_view),
    path("es/ping/", ping_view),
    path("es/quiet/", quiet_view),
    path("", include("tests.urls")),  # the toolbar's own URLs
]


# Fixtures and helpers


@pytest.fixture(scope="module")
def server() -> Iterator[ElasticsearchServer]:
    with ElasticsearchServer() as running:
        yield running


@pytest.fixture(autouse=True)
def es(
    server: ElasticsearchServer, settings: Any, toolbar_config: Any
) -> Iterator[ElasticsearchServer]:
    """The panel listed and installed, an empty server, a client for sync views."""
    settings.DEBUG_TOOLBAR_PANELS = [
        "debug_toolbar.panels.history.HistoryPanel",
        "djdt_signalpanels.panels.ElasticsearchPanel",
    ]
    toolbar_config(
        TOOLBAR_STORE_CLASS="debug_toolbar.store.MemoryStore",
        RESULTS_CACHE_SIZE=1000,
    )
    MemoryStore.clear()
    # DjDT ran ready() at startup, before this test listed the panel.
    installed_before = integration.is_installed()
    integration.install()
    server.cluster.indices.clear()
    server.clear_exchanges()
    Target.url = server.url
    Target.client = Elasticsearch(server.url)
    Target.caught = []
    yield server
    Target.client.close()
    Target.client = None
    if not installed_before:
        integration.uninstall()
    MemoryStore.clear()


def recorded(request_id: str) -> list[dict[str, Any]]:
    return [event["kwargs"] for event in get_store().panel(request_id, PANEL)["events"]]


def texts(row: Row) -> list[str]:
    return [cell.text.strip() for cell in row.cells]


def sends_headers(html: str) -> list[str]:
    return [row for row in table_rows(html) if row.headers][-1].headers


def line_of(function: Any, marker: str) -> int:
    """The line number, in this file, of the line of ``function`` ending in ``marker``."""
    lines, first = inspect.getsourcelines(function)
    (offset,) = [i for i, line in enumerate(lines) if line.rstrip().endswith(marker)]
    return int(first + offset)


# Fields


def test_sync_view_records_each_query(client: Client, es: ElasticsearchServer) -> None:
    request = get_request_id(client, "/es/sync/?tag=s1")

    queries = recorded(request)

    sent = es.exchanges
    assert [query["method"] for query in queries] == ["PUT", "POST", "POST"]
    assert [query["path"] for query in queries] == [
        "/products/_doc/s1?refresh=true",
        "/products/_search",
        "/products/_search?rest_total_hits_as_int=true",
    ]
    assert [query["path"] for query in queries] == [
        exchange.target for exchange in sent
    ]
    assert [query["index"] for query in queries] == ["products"] * 3
    assert [query["body"] for query in queries] == [
        {"name": "shoe", "tag": "s1"},
        {"query": {"term": {"tag": "s1"}}},
        {"query": {"term": {"tag": "s1"}}},
    ]
    assert [query["status"] for query in queries] == [201, 200, 200]
    # took and hits come from the response: hits.total.value, then a plain int.
    assert "took" not in queries[0] and "hits" not in queries[0]
    assert [query["took"] for query in queries[1:]] == [
        x.response["took"] for x in sent[1:]
    ]
    assert sent[1].response["hits"]["total"] == {"value": 1, "relation": "eq"}
    assert sent[2].response["hits"]["total"] == 1
    assert [query["hits"] for query in queries[1:]] == [1, 1]
    assert all(isinstance(query["duration"], float) for query in queries)
    assert all(query["duration"] > 0 for query in queries)
    assert all("error" not in query for query in queries)
    events = get_store().panel(request, PANEL)["events"]
    assert {event["sender"] for event in events} == {"elasticsearch.Elasticsearch"}


def test_async_view_records_each_query(es: ElasticsearchServer) -> None:
    async def get() -> Any:
        return await AsyncClient().get("/es/async/?tag=a1")

    response = asyncio.run(get())

    request = request_id(response.content.decode())
    queries = recorded(request)
    assert [(query["method"], query["path"]) for query in queries] == [
        ("PUT", "/products/_doc/a1?refresh=true"),
        ("POST", "/products/_search"),
        ("POST", "/products/_search?rest_total_hits_as_int=true"),
    ]
    assert [query["status"] for query in queries] == [201, 200, 200]
    assert [query["hits"] for query in queries[1:]] == [1, 1]
    assert [query["took"] for query in queries[1:]] == [
        exchange.response["took"] for exchange in es.exchanges[1:]
    ]
    events = get_store().panel(request, PANEL)["events"]
    assert {event["sender"] for event in events} == {"elasticsearch.AsyncElasticsearch"}


def test_rendered_from_the_store(client: Client) -> None:
    request = get_request_id(client, "/es/sync/?tag=r1")

    content = render_panel(client, request, PANEL)

    assert sends_headers(content) == [
        "Time",
        "Method",
        "Path",
        "Index",
        "Body",
        "Status",
        "Duration",
        "Took (ms)",
        "Hits",
    ]
    rows = send_rows(content, PANEL)
    assert [texts(row)[2:6] for row in rows] == [
        [
            "PUT",
            "/products/_doc/r1?refresh=true",
            "products",
            '{\n  "name": "shoe",\n  "tag": "r1"\n}',
        ],
        [
            "POST",
            "/products/_search",
            "products",
            '{\n  "query": {\n    "term": {\n      "tag": "r1"\n    }\n  }\n}',
        ],
        [
            "POST",
            "/products/_search?rest_total_hits_as_int=true",
            "products",
            '{\n  "query": {\n    "term": {\n      "tag": "r1"\n    }\n  }\n}',
        ],
    ]
    assert [texts(row)[6] for row in rows] == ["201", "200", "200"]
    assert all(re.fullmatch(r"\d+\.\d\d ms", texts(row)[7]) for row in rows)
    assert [texts(row)[9] for row in rows] == ["—", "1", "1"]
    assert rows[0].cells[3].tags == ["code"]
    assert rows[0].cells[5].tags == ["pre"]
    assert all(WARNING not in row.classes for row in rows)  # no duplicates


# Stacks


def test_the_sync_views_line_is_the_last_frame(client: Client) -> None:
    request = get_request_id(client, "/es/sync/?tag=f1")

    events = get_store().panel(request, PANEL)["events"]

    filename, line, function, source, _ = events[1]["stack"][-1]
    assert Path(filename) == Path(__file__)
    assert function == "sync_view"
    assert line == line_of(sync_view, "# the last frame")
    assert source.startswith("es.search(")


def test_the_async_views_line_is_the_last_frame() -> None:
    async def get() -> Any:
        return await AsyncClient().get("/es/async/?tag=f2")

    request = request_id(asyncio.run(get()).content.decode())

    events = get_store().panel(request, PANEL)["events"]
    filename, line, function, source, _ = events[1]["stack"][-1]
    assert Path(filename) == Path(__file__)
    assert function == "async_view"
    assert line == line_of(async_view, "# the last frame")
    assert source.startswith("await es.search(")


# Errors


def test_errors_are_recorded_and_reraised(client: Client) -> None:
    request = get_request_id(client, "/es/errors/")

    missing, bogus, unreachable = Target.caught
    assert type(missing) is NotFoundError
    assert missing.meta.status == 404
    assert missing.message == "index_not_found_exception"
    assert missing.body["error"]["reason"] == "no such index [missing]"
    assert type(bogus) is BadRequestError
    assert bogus.meta.status == 400
    assert type(unreachable) is TransportConnectionError
    # Re-raised as they were: nothing of the instrumentation chained to them.
    assert missing.__context__ is None and bogus.__context__ is None
    queries = recorded(request)
    ignored = queries.pop(2)
    assert (ignored["status"], ignored["index"]) == (404, "missing")
    assert "error" not in ignored
    assert [query.get("status") for query in queries] == [404, 400, None]
    assert queries[0]["error"] == (
        "NotFoundError: index_not_found_exception: no such index [missing]"
    )
    assert queries[0]["index"] == "missing"
    assert (
        queries[1]["error"]
        == "BadRequestError: parsing_exception: unknown query [bogus]"
    )
    assert queries[2]["error"] == f"ConnectionError: {unreachable.message}"
    assert "Connection refused" in queries[2]["error"]
    assert queries[2]["path"] == "/"
    assert all("took" not in query and "hits" not in query for query in queries)
    content = render_panel(client, request, PANEL)
    assert sends_headers(content)[-1] == "Error"
    assert texts(send_rows(content, PANEL)[0])[-1] == queries[0]["error"]


def test_an_uncaught_error_reaches_the_caller_unchanged(client: Client) -> None:
    with pytest.raises(NotFoundError) as raised:
        client.get("/es/uncaught/")

    error = raised.value
    assert error.meta.status == 404
    assert error.message == "index_not_found_exception"
    assert error.__context__ is None and error.__cause__ is None
    # Raised by the client itself, and passed through the instrumentation.
    frames = [
        (frame.f_code.co_name, frame.f_globals["__name__"])
        for frame, _ in traceback.walk_tb(error.__traceback__)
    ]
    assert frames[-1][1] == "elasticsearch._sync.client._base"
    assert ("perform_request", integration.__name__) in frames


# Duplicates and the subtitle


def test_duplicate_queries_are_flagged(client: Client) -> None:
    request = get_request_id(client, "/es/duplicates/")

    content = render_panel(client, request, PANEL)

    rows = table_rows(content)
    header = next(index for index, row in enumerate(rows) if row.headers)
    assert rows[header].headers == ["Method", "Path", "Body", "Count"]
    assert texts(rows[header + 1]) == [
        "POST",
        "/products/_search",
        '{"query": {"term": {"tag": "dup"}}}',
        "3",
    ]
    assert rows[header + 2].headers  # the sends table follows: one duplicate only
    # indices.create, then dup, other, dup, dup.
    flagged = [WARNING in row.classes for row in send_rows(content, PANEL)]
    assert flagged == [False, True, False, True, True]
    assert [WARNING in row.classes for row in detail_rows(content)] == flagged
    assert "<h4>Duplicate queries</h4>" in content


def test_subtitle_counts_queries_and_their_time(client: Client) -> None:
    request = get_request_id(client, "/es/duplicates/")

    durations = [query["duration"] for query in recorded(request)]

    subtitle = stored_panel(request, PANEL).nav_subtitle
    assert subtitle == f"5 queries in {sum(durations):.2f} ms"
    page = client.get("/es/ping/").content.decode()
    assert re.search(r"<small>1 query in \d+\.\d\d ms</small>", page)


def test_subtitle_of_one_query_and_of_none(client: Client) -> None:
    one = get_request_id(client, "/es/ping/")
    none = get_request_id(client, "/es/quiet/")

    (ping,) = recorded(one)
    assert (ping["method"], ping["path"], ping["status"]) == ("HEAD", "/", 200)
    assert (
        stored_panel(one, PANEL).nav_subtitle == f"1 query in {ping['duration']:.2f} ms"
    )
    assert stored_panel(none, PANEL).nav_subtitle == "0 queries in 0.00 ms"
    assert "No sends in this request." in render_panel(client, none, PANEL)


def test_bulk_bodies_are_shown_as_json(client: Client) -> None:
    request = get_request_id(client, "/es/bulk/")

    direct, helper = recorded(request)

    assert (direct["method"], direct["path"], direct["status"]) == (
        "PUT",
        "/_bulk",
        200,
    )
    assert "index" not in direct
    assert direct["body"] == [
        {"index": {"_index": "products", "_id": "1"}},
        {"name": "boot"},
        {"delete": {"_index": "products", "_id": "9"}},
    ]
    assert isinstance(direct["took"], int)
    # helpers.bulk hands the client serialized lines; they are shown parsed.
    assert helper["body"] == [
        {"index": {"_index": "products", "_id": "2"}},
        {"name": "sock"},
    ]


# Isolation


def test_threads_see_only_their_own_queries() -> None:
    tags = [f"w{thread}r{number}" for thread in range(6) for number in range(3)]

    def fetch(tag: str) -> tuple[str, str]:
        return tag, get_request_id(Client(), f"/es/sync/?tag={tag}")

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(fetch, tags))

    for tag, request in results:
        queries = recorded(request)
        assert [query["body"] for query in queries] == [
            {"name": "shoe", "tag": tag},
            {"query": {"term": {"tag": tag}}},
            {"query": {"term": {"tag": tag}}},
        ]
        assert queries[0]["path"] == f"/products/_doc/{tag}?refresh=true"


def test_asyncio_tasks_see_only_their_own_queries() -> None:
    tags = [f"task{number}" for number in range(12)]

    async def fetch(tag: str) -> tuple[str, str]:
        response = await AsyncClient().get(f"/es/async/?tag={tag}")
        return tag, request_id(response.content.decode())

    async def fetch_all() -> list[tuple[str, str]]:
        return await asyncio.gather(*(fetch(tag) for tag in tags))

    for tag, request in asyncio.run(fetch_all()):
        queries = recorded(request)
        assert [query["path"] for query in queries] == [
            f"/products/_doc/{tag}?refresh=true",
            "/products/_search",
            "/products/_search?rest_total_hits_as_int=true",
        ], tag
        assert [query["body"] for query in queries[1:]] == [
            {"query": {"term": {"tag": tag}}}
        ] * 2


def test_under_uvicorn(asgi_server: AsgiServer) -> None:
    tags = [f"uv{number}" for number in range(8)]

    async def fetch_all() -> list[Any]:
        return await asyncio.gather(
            *(aget(asgi_server.port, f"/es/async/?tag={tag}") for tag in tags)
        )

    responses = asyncio.run(fetch_all())

    for tag, response in zip(tags, responses, strict=True):
        assert response.status == 200
        queries = recorded(response.request_id)
        assert [query["status"] for query in queries] == [201, 200, 200], tag
        assert [query["body"] for query in queries] == [
            {"name": "shoe", "tag": tag},
            {"query": {"term": {"tag": tag}}},
            {"query": {"term": {"tag": tag}}},
        ]
        assert [query["hits"] for query in queries[1:]] == [1, 1]


# The cost when nothing records


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Calls of the part that builds and sends a query's record."""
    calls: list[str] = []
    real = integration._send

    def send(client: Any, method: str, path: str, *rest: Any, **options: Any) -> None:
        calls.append(path)
        real(client, method, path, *rest, **options)

    monkeypatch.setattr(integration, "_send", send)
    return calls


def test_nothing_is_built_or_sent_outside_a_request(
    es: ElasticsearchServer, spy: list[str]
) -> None:
    received: list[dict[str, Any]] = []

    @receiver(elasticsearch_query, weak=False)
    def listen(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    # Another request records at the same time: the signal has a receiver.
    elsewhere = contextvars.Context()
    other = elsewhere.run(recording.start, elasticsearch_query)
    try:
        sync_client().search(
            index="products", query={"match_all": {}}, ignore_unavailable=True
        )

        async def search() -> None:
            async with AsyncElasticsearch(es.url) as client:
                await client.search(index="products", ignore_unavailable=True)

        asyncio.run(search())
        assert spy == [] and received == []
        assert other.events(elasticsearch_query) == []
        # The same call in the recording context is recorded: the spy works.
        elsewhere.run(sync_client().ping)
        assert spy == ["/"] and len(received) == 1
    finally:
        elsewhere.run(recording.stop, other, elasticsearch_query)
        elasticsearch_query.disconnect(listen)


def test_nothing_is_built_when_the_request_does_not_record_elasticsearch(
    client: Client, settings: Any, spy: list[str]
) -> None:
    settings.DEBUG_TOOLBAR_PANELS = ["tests.panels.SearchPanel"]

    get_request_id(client, "/es/ping/")

    assert spy == []


# Installation and checks


def test_install_is_idempotent_and_uninstall_restores() -> None:
    integration.uninstall()
    plain = (
        BaseClient.__dict__["perform_request"],
        AsyncBaseClient.__dict__["perform_request"],
    )
    try:
        integration.install()
        wrapped = (
            BaseClient.__dict__["perform_request"],
            AsyncBaseClient.__dict__["perform_request"],
        )
        integration.install()
        assert (
            BaseClient.__dict__["perform_request"],
            AsyncBaseClient.__dict__["perform_request"],
        ) == wrapped
        assert [function.__wrapped__ for function in wrapped] == list(plain)
        assert inspect.iscoroutinefunction(wrapped[1])
        integration.uninstall()
        assert (
            BaseClient.__dict__["perform_request"],
            AsyncBaseClient.__dict__["perform_request"],
        ) == plain
        assert not integration.is_installed()
    finally:
        integration.install()


def test_ready_installs_the_integration() -> None:
    integration.uninstall()
    try:
        ElasticsearchPanel.ready()
        assert integration.is_installed()
    finally:
        integration.install()


def test_no_check_error_when_elasticsearch_is_installed() -> None:
    assert ElasticsearchPanel.run_checks() == []


def test_e010_when_elasticsearch_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "elasticsearch", None)

    errors = ElasticsearchPanel.run_checks()

    (error,) = errors
    assert error.id == "djdt_signalpanels.E010"
    assert error.msg == (
        "djdt_signalpanels.panels.elasticsearch.ElasticsearchPanel is listed in "
        "DEBUG_TOOLBAR_PANELS, but the elasticsearch package is not installed, "
        "so no query can be recorded."
    )
    assert "pip install 'djdt-signalpanels[elasticsearch]'" in error.hint
    ElasticsearchPanel.ready()  # and starting the toolbar does not fail


def test_startup_and_checks_without_elasticsearch() -> None:
    """A project listing the panel without the library starts, and its check says why."""
    script = """
import sys
sys.modules["elasticsearch"] = None
sys.modules["elastic_transport"] = None
import django
from django.conf import settings
import tests.settings as base
options = {name: getattr(base, name) for name in dir(base) if name.isupper()}
options["DEBUG_TOOLBAR_PANELS"] = ["djdt_signalpanels.panels.ElasticsearchPanel"]
settings.configure(**options)
django.setup()
from django.core.checks import run_checks
from djdt_signalpanels.integrations import elasticsearch as integration
print(sorted(m.id for m in run_checks() if m.id.startswith("djdt_signalpanels")))
print(integration.available(), integration.is_installed())
"""
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["['djdt_signalpanels.E010']", "False False"]


# Pieces


@pytest.mark.parametrize(
    ("path", "index"),
    [
        ("/products/_search", "products"),
        ("/products", "products"),
        ("/a,b/_search", "a,b"),
        ("/%3Clogs-%7Bnow%2Fd%7D%3E/_search", "<logs-{now/d}>"),
        ("/_search", None),
        ("/_bulk", None),
        ("/", None),
    ],
)
def test_index_of(path: str, index: str | None) -> None:
    assert integration.index_of(path) == index


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ({"query": {"match_all": {}}}, {"query": {"match_all": {}}}),
        ('{"query": {"match_all": {}}}', {"query": {"match_all": {}}}),
        (b'{"size": 1}', {"size": 1}),
        ('{"index": {}}\n{"name": "a"}\n', [{"index": {}}, {"name": "a"}]),
        (
            [b'{"index": {}}', '{"name": "a"}', "not json"],
            [{"index": {}}, {"name": "a"}, "not json"],
        ),
        ("plain text", "plain text"),
    ],
)
def test_readable_bodies(body: Any, shown: Any) -> None:
    assert integration.readable(body) == shown


def test_readable_parses_only_the_lines_shown(settings: Any) -> None:
    settings.DJDT_SIGNALPANELS = {"MAX_ITEMS": 2}
    lines = [json.dumps({"n": n}) for n in range(5)]

    shown = integration.readable(lines)

    assert shown == [{"n": 0}, {"n": 1}, *lines[2:]]
