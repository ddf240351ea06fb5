"""The demo's settings for a multi-process deployment test (``tests/deployment.py``).

The demo site as it is, configured from environment variables:

- ``DEPLOY_STORE``: ``memory``, ``database`` or ``redis``, DjDT's store class.
- ``DEPLOY_DATABASE``: the ``DATABASES["default"]`` entry as JSON (PostgreSQL);
  unset, the demo's own SQLite database.
- ``DEPLOY_REDIS_URL``: ``DJDT_SIGNALPANELS["REDIS_URL"]``, for the redis store.
- ``DEPLOY_CACHE_SIZE``: DjDT's ``RESULTS_CACHE_SIZE`` (default 100000), room
  for every request of a test so that nothing is evicted before it is read.
- ``DEPLOY_SIGNAL_PANELS``: ``1`` (default) or ``0``, which drops every signal
  panel, to compare the same site with and without them.

Each response says which process served it, in ``X-Served-By``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction
from demo.settings import *  # noqa: F403
from demo.settings import DEBUG_TOOLBAR_PANELS, DJDT_SIGNALPANELS, MIDDLEWARE
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import sync_and_async_middleware

STORES = {
    "memory": "debug_toolbar.store.MemoryStore",
    "database": "djdt_signalpanels.stores.DatabaseStore",
    "redis": "djdt_signalpanels.stores.RedisStore",
}
# Panels that record signal sends: the bundled ones and the demo's own.
SIGNAL_PANEL_MODULES = ("djdt_signalpanels.", "demo.panels.")

_store = os.environ.get("DEPLOY_STORE", "memory")
if _store not in STORES:
    raise ImproperlyConfigured(
        f"DEPLOY_STORE={_store!r} is not a store of the deployment test; "
        f"use one of {', '.join(STORES)}."
    )

if "DEPLOY_DATABASE" in os.environ:
    DATABASES = {"default": json.loads(os.environ["DEPLOY_DATABASE"])}

# First, so that every response carries the header, the toolbar's own included.
MIDDLEWARE = ["tests.deployment_settings.served_by", *MIDDLEWARE]

if os.environ.get("DEPLOY_SIGNAL_PANELS", "1") == "0":
    DEBUG_TOOLBAR_PANELS = [
        path
        for path in DEBUG_TOOLBAR_PANELS
        if not path.startswith(SIGNAL_PANEL_MODULES)
    ]

DEBUG_TOOLBAR_CONFIG = {
    "TOOLBAR_STORE_CLASS": STORES[_store],
    "RESULTS_CACHE_SIZE": int(os.environ.get("DEPLOY_CACHE_SIZE", "100000")),
    # Panels are fetched later by render_panel, as the toolbar does, possibly
    # from another worker: that is what the shared stores are for.
    "RENDER_PANELS": False,
    "ENABLE_STACKTRACES": True,
    # The server is no test run, whatever its command line holds.
    "IS_RUNNING_TESTS": False,
}

DJDT_SIGNALPANELS = {**DJDT_SIGNALPANELS, "MAX_EVENTS": 100_000}
if "DEPLOY_REDIS_URL" in os.environ:
    DJDT_SIGNALPANELS["REDIS_URL"] = os.environ["DEPLOY_REDIS_URL"]


@sync_and_async_middleware
def served_by(get_response: Callable[[HttpRequest], Any]) -> Any:
    """Middleware: ``X-Served-By: <pid>``, telling the workers of a server apart."""
    if iscoroutinefunction(get_response):

        async def async_middleware(request: HttpRequest) -> HttpResponse:
            response: HttpResponse = await get_response(request)
            response["X-Served-By"] = str(os.getpid())
            return response

        return async_middleware

    def middleware(request: HttpRequest) -> HttpResponse:
        response: HttpResponse = get_response(request)
        response["X-Served-By"] = str(os.getpid())
        return response

    return middleware
