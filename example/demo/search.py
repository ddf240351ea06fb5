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


def product_query(
    text: str, fields: list[str], *, in_stock: bool = False
) -> dict[str, Any]:
    """Products whose ``fields`` match ``text``; with ``in_stock``, those in stock."""
    query: dict[str, Any] = {"should": [{"match": {field: text}} for field in fields]}
    if in_stock:
        # Beside a filter, "should" clauses are optional unless one is required.
        query |= {"minimum_should_match": 1, "filter": [{"term": {"in_stock": True}}]}
    return {"bool": query}


def names(response: Any) -> list[str]:
    return [hit["_source"]["name"] for hit in response["hits"]["hits"]]


def search(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "coffee")
    # A django-flags flag from settings.FLAGS, on with ?descriptions=on.
    descriptions = flag_enabled("SEARCH_DESCRIPTIONS", request=request)
    fields = ["name", "description"] if descriptions else ["name"]
    query = product_query(text, fields)
    with Elasticsearch(**elasticsearch_options()) as client:
        results = client.search(index=INDEX, query=query, size=5)
        in_stock = client.count(
            index=INDEX, query=product_query(text, fields, in_stock=True)
        )
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
        "facts": [
            f"{in_stock['count']} of the results in stock",
            f"Archive: {archive}",
        ],
    }
    return render(request, "demo/search.html", context)


async def async_search(request: HttpRequest) -> HttpResponse:
    # Coffee in descriptions and tea in names; with ?q=, the text in both.
    text = request.GET.get("q")
    searches = (
        {
            f"“{text}” in descriptions": product_query(text, ["description"]),
            f"“{text}” in names": product_query(text, ["name"]),
        }
        if text
        else {
            "Coffee": product_query("coffee", ["description"]),
            "Tea": product_query("tea", ["name"]),
        }
    )
    # A client per request: an async client belongs to the event loop that made it.
    async with AsyncElasticsearch(**elasticsearch_options()) as client:
        responses = await asyncio.gather(
            *(client.search(index=INDEX, query=query) for query in searches.values())
        )
    context = {
        "title": "Async search",
        "sections": {
            section: names(response)
            for section, response in zip(searches, responses, strict=True)
        },
    }
    return render(request, "demo/search.html", context)
