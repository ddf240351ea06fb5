"""Views that send ``bench_event`` a known number of times, tagged per request.

Query parameters: ``tag`` (unique per request), ``n`` (number of sends) and
``pause`` (seconds of simulated I/O between sends, which lets the server run
other requests in between, as a database query would).
"""

from __future__ import annotations

import asyncio
import time

from django.http import HttpRequest, HttpResponse

from benchmarks.site.signals import bench_event

PAGE = "<!DOCTYPE html><html><head><title>bench</title></head><body>{}</body></html>"


def _params(request: HttpRequest) -> tuple[str, int, float]:
    return (
        request.GET.get("tag", "t"),
        int(request.GET.get("n", "10")),
        float(request.GET.get("pause", "0.001")),
    )


def emit(tag: str, index: int) -> None:
    event = "evt:" + tag + ":" + str(index)
    bench_event.send(sender=None, event=event)


async def aemit(tag: str, index: int) -> None:
    event = "evt:" + tag + ":" + str(index)
    await bench_event.asend(sender=None, event=event)


def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


def sync_view(request: HttpRequest) -> HttpResponse:
    tag, count, pause = _params(request)
    for index in range(count):
        emit(tag, index)
        time.sleep(pause)
    return HttpResponse(PAGE.format(tag))


async def async_view(request: HttpRequest) -> HttpResponse:
    # Alternates send() (runs receivers on the event loop's thread) and
    # asend() (runs sync receivers in asgiref's worker thread), as async code does.
    tag, count, pause = _params(request)
    for index in range(count):
        if index % 2:
            await aemit(tag, index)
        else:
            emit(tag, index)
        await asyncio.sleep(pause)
    return HttpResponse(PAGE.format(tag))
