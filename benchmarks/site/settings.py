"""Settings of the benchmark site.

Environment variables (set by ``benchmarks/concurrency.py``):

``DJDT_BENCH_PANEL``
    Which panel variant the toolbar shows: ``signalpanel``, ``naive`` or
    ``threadlocal`` (see ``panels.py``). Only that one panel is listed, so the
    variants never run in the same server.
``DJDT_BENCH_CACHE_SIZE``
    DjDT's ``RESULTS_CACHE_SIZE``: the benchmark sets it above the number of
    requests a server gets, so no request's data is evicted before it is read.
"""

from __future__ import annotations

import os

PANEL_CLASSES = {
    "signalpanel": "benchmarks.site.panels.SignalPanelVariant",
    "naive": "benchmarks.site.panels.NaivePanel",
    "threadlocal": "benchmarks.site.panels.ThreadLocalPanel",
}
VARIANT = os.environ.get("DJDT_BENCH_PANEL", "signalpanel")
if VARIANT not in PANEL_CLASSES:
    raise ValueError(
        f"DJDT_BENCH_PANEL must be one of {', '.join(PANEL_CLASSES)}, got {VARIANT!r}."
    )

SECRET_KEY = "benchmark-only"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INTERNAL_IPS = ["127.0.0.1"]
ROOT_URLCONF = "benchmarks.site.urls"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "debug_toolbar",
    "djdt_signalpanels",
    "benchmarks.site.apps.BenchSiteConfig",
]
MIDDLEWARE = ["debug_toolbar.middleware.DebugToolbarMiddleware"]
TEMPLATES = [
    {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}
]
# Nothing here queries a database; the toolbar uses its in-memory store.
DATABASES: dict[str, dict[str, str]] = {}
STATIC_URL = "/static/"

DEBUG_TOOLBAR_PANELS = [PANEL_CLASSES[VARIANT]]
DEBUG_TOOLBAR_CONFIG = {
    "IS_RUNNING_TESTS": False,
    "RENDER_PANELS": False,
    "ENABLE_STACKTRACES": True,
    "RESULTS_CACHE_SIZE": int(os.environ.get("DJDT_BENCH_CACHE_SIZE", "100000")),
    "TOOLBAR_STORE_CLASS": "debug_toolbar.store.MemoryStore",
}
# Above any request's number of sends, so nothing is dropped by the cap.
DJDT_SIGNALPANELS = {"MAX_EVENTS": 100_000}
