"""Pages that query Elasticsearch with the official client, sync and async.

Nothing here knows about the toolbar: listing ElasticsearchPanel instruments
``Elasticsearch`` and ``AsyncElasticsearch``, and django-flags' checks show in
the Feature flags panel.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from elasticsearch import AsyncElasticsearch, Elasticsearch, NotFoundError
from flags.state import flag_enabled

from .services import INDEX, elasticsearch_options


def product_query(text: str, fields: list[str]) -> dict[str, Any]:
    """Products whose ``fields`` match ``text``."""
    return {"bool": {"should": [{"match": {field: text}} for field in fields]}}


def names(response: Any) -> list[str]:
    return [hit["_source"]["name"] for hit in response["hits"]["hits"]]


def search(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "coffee")
    # A django-flags flag from settings.FLAGS, on with ?descriptions=on.
    descriptions = flag_enabled("SEARCH_DESCRIPTIONS", request=request)
    query = product_query(text, ["name", "description"] if descriptions else ["name"])
    with Elasticsearch(**elasticsearch_options()) as client:
        results = client.search(index=INDEX, query=query, size=5)
        in_stock = client.count(index=INDEX, query={"term": {"in_stock": True}})
        # The sidebar runs the very same search again: the panel marks both.
        related = client.search(index=INDEX, query=query, size=5)
        try:
            client.search(index=f"{INDEX}-archive", query=query)
            archive = "found"
        except NotFoundError as error:  # no archive index: the panel shows the 404
            archive = f"{error.meta.status} {error.message}"
    context = {
        "title": "Search",
        "form": True,
        "text": text,
        "descriptions": descriptions,
        "sections": {
            f"Results for “{text}”": names(results),
            "Related": names(related),
        },
        "facts": [f"{in_stock['count']} products in stock", f"Archive: {archive}"],
    }
    return render(request, "demo/search.html", context)


async def async_search(request: HttpRequest) -> HttpResponse:
    # A client per request: an async client belongs to the event loop that made it.
    async with AsyncElasticsearch(**elasticsearch_options()) as client:
        coffee, tea = await asyncio.gather(
            client.search(index=INDEX, query=product_query("coffee", ["description"])),
            client.search(index=INDEX, query=product_query("tea", ["name"])),
        )
    context = {
        "title": "Async search",
        "sections": {"Coffee": names(coffee), "Tea": names(tea)},
    }
    return render(request, "demo/search.html", context)
