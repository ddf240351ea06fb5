"""Views that send signals the way application code does."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from django.http import HttpRequest, HttpResponse

from djdt_signalpanels import bind_request_context
from djdt_signalpanels.signals import feature_flag_evaluated
from tests.signals import formats_sent, search_done

PAGE = "<html><body><p>{}</p></body></html>"


def _params(request: HttpRequest) -> tuple[str, int]:
    return request.GET.get("tag", "t"), int(request.GET.get("n", "3"))


def search(tag: str, index: int) -> None:
    search_done.send(sender=None, query=f"{tag}-{index}", hits=index, took=0.5)


def sync_view(request: HttpRequest) -> HttpResponse:
    tag, count = _params(request)
    for index in range(count):
        search(tag, index)
        feature_flag_evaluated.send(
            sender=None, name=f"{tag}-flag", result=index % 2 == 0
        )
    return HttpResponse(PAGE.format(tag))


async def async_view(request: HttpRequest) -> HttpResponse:
    tag, count = _params(request)
    for index in range(count):
        search(tag, index)
        await asyncio.sleep(0)  # let the other requests' tasks run in between
        await search_done.asend(
            sender=None, query=f"{tag}-a{index}", hits=index, took=1.0
        )
    return HttpResponse(PAGE.format(tag))


def threaded_view(request: HttpRequest) -> HttpResponse:
    tag, count = _params(request)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(bind_request_context(lambda i: search(tag, i)), range(count)))
    unbound = threading.Thread(target=search, args=(tag, 999))
    unbound.start()
    unbound.join()
    return HttpResponse(PAGE.format(tag))


late_sent = threading.Event()
late_release = threading.Event()


def late_view(request: HttpRequest) -> HttpResponse:
    """Starts a thread that sends after the response is finished."""
    tag, _ = _params(request)

    def after_response() -> None:
        late_release.wait(10)
        search(tag, 1000)
        late_sent.set()

    threading.Thread(target=bind_request_context(after_response)).start()
    search(tag, 0)
    return HttpResponse(PAGE.format(tag))


def bad_input_view(request: HttpRequest) -> HttpResponse:
    class BadRepr:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    cycle: list[object] = []
    cycle.append(cycle)
    search_done.send(
        sender=BadRepr(),
        query=BadRepr(),
        hits=cycle,
        took=float("nan"),
        password="hunter2",
        payload={"api_key": "sk-123", 1: b"\x00" * 5000, "nested": {"token": "t"}},
        huge="x" * 100_000,
    )
    return HttpResponse(PAGE.format("bad"))


def formats_view(request: HttpRequest) -> HttpResponse:
    """Two sends for tests.panels.FormatsPanel: all formats, one optional."""

    formats_sent.send(
        sender=formats_view,
        name="checkout",
        payload={"items": [1, 2], "total": "9.50"},
        ok=True,
        took=0.5,
        count=1234,
        note="first",
        trace_id="abc-123",
    )
    formats_sent.send(sender=None, name="cart", payload=[], ok=False, took=12, count=5)
    return HttpResponse(PAGE.format("formats"))


def escape_view(request: HttpRequest) -> HttpResponse:
    search_done.send(
        sender=None,
        query="<script>alert(1)</script>",
        hits=1,
        took=0.1,
        note="<b>bold</b>",
    )
    return HttpResponse(PAGE.format("escape"))


def flags_view(request: HttpRequest) -> HttpResponse:
    """Two flags: new-checkout keeps its result, dark-mode changes it."""
    evaluated = feature_flag_evaluated.send
    evaluated(sender=None, name="new-checkout", result=True, reason="targeting_match")
    evaluated(sender=None, name="dark-mode", result="blue", variant="blue")
    evaluated(sender=None, name="new-checkout", result=True, reason="targeting_match")
    evaluated(
        sender=None, name="dark-mode", result="green", variant="green", reason="split"
    )
    return HttpResponse(PAGE.format("flags"))
