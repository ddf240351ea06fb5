"""Pages that send signals the way application code does."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from djdt_signalpanels import bind_request_context

from . import services
from .flags import is_enabled
from .signals import recommendations_served

CATALOG = {
    "bestsellers": ["Espresso beans", "Burr grinder", "Milk jug"],
    "also-bought": ["Paper filters", "Pour-over kettle"],
    "trending": ["Cold brew bottle", "Latte art pen"],
    "new-arrivals": ["Travel mug"],
}
_cache: dict[str, list[str]] = {}


def recommend(strategy: str) -> list[str]:
    """Look up a recommendation list; the first lookup is slow, then cached."""
    started = time.perf_counter()
    cached = strategy in _cache
    if not cached:
        time.sleep(0.002)  # stands in for a call to a recommendation service
        _cache[strategy] = CATALOG[strategy]
    items = _cache[strategy]
    took = (time.perf_counter() - started) * 1000
    recommendations_served.send(
        sender=None, strategy=strategy, items=items, took=took, cached=cached
    )
    return items


async def arecommend(strategy: str) -> list[str]:
    started = time.perf_counter()
    await asyncio.sleep(0.002)
    items = CATALOG[strategy]
    took = (time.perf_counter() - started) * 1000
    await recommendations_served.asend(
        sender=None, strategy=strategy, items=items, took=took, cached=False
    )
    return items


def index(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/index.html", {"services": services.describe()})


def flags(request: HttpRequest) -> HttpResponse:
    # Evaluated before and after the visitor is known. The "search-v2"
    # rollout buckets "anonymous" and the default visitor differently, so the
    # flag flips mid-request; the Feature flags panel highlights it.
    # ?visitor=<id> evaluates the flags for another visitor.
    visitor = request.GET.get("visitor") or "user-42"
    results = [
        ("new-checkout", "anonymous", is_enabled("new-checkout", key="anonymous")),
        ("dark-mode", "anonymous", is_enabled("dark-mode", key="anonymous")),
        ("search-v2", "anonymous", is_enabled("search-v2", key="anonymous")),
        ("search-v2", visitor, is_enabled("search-v2", key=visitor)),
        ("new-checkout", visitor, is_enabled("new-checkout", key=visitor)),
        ("beta-banner", visitor, is_enabled("beta-banner", key=visitor)),
    ]
    return render(request, "demo/flags.html", {"results": results, "visitor": visitor})


def recommendations(request: HttpRequest) -> HttpResponse:
    widgets = {"Bestsellers": recommend("bestsellers")}
    # Threads do not inherit the request's context: bind_request_context
    # makes their sends land in this request's panel.
    with ThreadPoolExecutor(max_workers=2) as pool:
        also_bought = pool.submit(bind_request_context(recommend), "also-bought")
        trending = pool.submit(bind_request_context(recommend), "trending")
        widgets["Customers also bought"] = also_bought.result()
        widgets["Trending"] = trending.result()
    widgets["More bestsellers"] = recommend("bestsellers")  # cached by now
    return render(
        request,
        "demo/recommendations.html",
        {"title": "Recommendations", "widgets": widgets},
    )


async def async_recommendations(request: HttpRequest) -> HttpResponse:
    # Tasks copy the context of the view, so no binding is needed here.
    trending, arrivals = await asyncio.gather(
        arecommend("trending"), arecommend("new-arrivals")
    )
    widgets = {"Trending": trending, "New arrivals": arrivals}
    if is_enabled("search-v2", key="user-42"):
        widgets["Bestsellers"] = await arecommend("bestsellers")
    context = {"title": "Async recommendations", "widgets": widgets}
    return render(request, "demo/recommendations.html", context)
