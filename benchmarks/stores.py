"""Lost request ids when many workers store at once: our stores beside DjDT's.

Usage, from the repository root (needs Debian's postgresql and redis-server)::

    python benchmarks/stores.py                 # every store, a few seconds each
    python benchmarks/stores.py --stores redis,database --json out.json

Each store gets 2,400 requests (``--requests``), stored the way the toolbar stores them (the id,
then three panels), from 32 threads started together, then from 240 asyncio
tasks in one event loop, as under an ASGI server, where the toolbar calls its
store from the loop itself. Then every id is read back: an id that is gone, or
whose panels are not exactly what was saved, is lost. A last run with
``RESULTS_CACHE_SIZE = 100`` checks that the store keeps exactly 100 requests.

Stores: ``redis`` and ``database`` (this package's, on Redis and PostgreSQL),
``djdt-cache`` (DjDT's CacheStore on Django's Redis cache) and ``djdt-database``
(DjDT's DatabaseStore on PostgreSQL). Private PostgreSQL and Redis servers
start on loopback for the run (``tests/services.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Run as a script, sys.path[0] is benchmarks/, whose site/ package would shadow
# Python's own site module: import everything from the repository root instead.
if sys.path and Path(sys.path[0] or os.getcwd()).resolve() == HERE:
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STORES = {
    "redis": "djdt_signalpanels.stores.RedisStore",
    "database": "djdt_signalpanels.stores.DatabaseStore",
    "djdt-cache": "debug_toolbar.store.CacheStore",
    "djdt-database": "debug_toolbar.store.DatabaseStore",
}
PANELS = ("TimerPanel", "SQLPanel", "FeatureFlagsPanel")
THREADS = 32
TASKS = 240
REQUESTS = 2400
BOUNDED_CAPACITY = 100
DEFAULT_JSON = HERE / "results" / "stores.json"


def configure_django(database: dict[str, Any], redis_url: str) -> None:
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.staticfiles",
            "debug_toolbar",
            "djdt_signalpanels",
        ],
        STATIC_URL="/static/",
        DATABASES={"default": database},
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url,
            }
        },
        DEBUG_TOOLBAR_CONFIG={
            # Each run names its store class; this one makes migrate create
            # DjDT's table, as in a project that uses it.
            "TOOLBAR_STORE_CLASS": "djdt_signalpanels.stores.DatabaseStore",
            "RESULTS_CACHE_SIZE": BOUNDED_CAPACITY,
            "IS_RUNNING_TESTS": False,
        },
        DJDT_SIGNALPANELS={"REDIS_URL": redis_url},
        USE_TZ=True,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", "debug_toolbar", verbosity=0)


def set_capacity(capacity: int) -> None:
    from debug_toolbar import settings as dt_settings
    from django.conf import settings

    settings.DEBUG_TOOLBAR_CONFIG["RESULTS_CACHE_SIZE"] = capacity
    dt_settings.get_config.cache_clear()


def panel_data(request_id: str, panel_id: str) -> dict[str, str]:
    return {"request": request_id, "panel": panel_id}


def store_like_the_toolbar(store: Any, request_id: str) -> None:
    store.set(request_id)
    for panel_id in PANELS:
        store.save_panel(request_id, panel_id, panel_data(request_id, panel_id))


def from_threads(store: Any, request_ids: list[str]) -> list[str]:
    """Store from THREADS threads started together; the errors they met."""
    start = threading.Barrier(THREADS)
    errors: list[str] = []

    def work(mine: list[str]) -> None:
        from django.db import connections

        start.wait()
        for request_id in mine:
            try:
                store_like_the_toolbar(store, request_id)
            except Exception as error:  # counted: a failed store loses the request
                errors.append(f"{type(error).__name__}: {error}")
        connections.close_all()  # this thread's, as a server closes after a request

    threads = [
        threading.Thread(target=work, args=(request_ids[index::THREADS],))
        for index in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def from_event_loop(store: Any, request_ids: list[str]) -> list[str]:
    """Store from TASKS tasks of one event loop, calling the store from the loop."""
    errors: list[str] = []

    async def request(mine: list[str]) -> None:
        for request_id in mine:
            try:
                store.set(request_id)
                for panel_id in PANELS:
                    await asyncio.sleep(0)  # other requests run in between
                    store.save_panel(
                        request_id, panel_id, panel_data(request_id, panel_id)
                    )
            except Exception as error:
                errors.append(f"{type(error).__name__}: {error}")

    async def run_all() -> None:
        await asyncio.gather(
            *(request(request_ids[index::TASKS]) for index in range(TASKS))
        )

    asyncio.run(run_all())
    return errors


def lost(store: Any, request_ids: list[str]) -> int:
    """Requests that are not in the store with exactly their panels."""
    stored = {uuid.UUID(str(request_id)).hex for request_id in store.request_ids()}
    return sum(
        1
        for request_id in request_ids
        if request_id not in stored
        or dict(store.panels(request_id))
        != {panel_id: panel_data(request_id, panel_id) for panel_id in PANELS}
    )


def measure(name: str, requests: int) -> dict[str, Any]:
    from django.utils.module_loading import import_string

    store = import_string(STORES[name])
    result: dict[str, Any] = {"store": name, "class": STORES[name]}
    for mode, run in (("threads", from_threads), ("event loop", from_event_loop)):
        set_capacity(requests * 10)
        store.clear()
        request_ids = [uuid.uuid4().hex for _ in range(requests)]
        started = time.perf_counter()
        errors = run(store, request_ids)
        seconds = time.perf_counter() - started
        result[mode] = {
            "requests": requests,
            "lost": lost(store, request_ids),
            "errors": len(errors),
            "first_error": errors[0][:200] if errors else None,
            "requests_per_second": round(requests / seconds),
        }
    set_capacity(BOUNDED_CAPACITY)
    store.clear()
    errors = from_threads(store, [uuid.uuid4().hex for _ in range(requests)])
    result["bounded"] = {
        "capacity": BOUNDED_CAPACITY,
        "kept": len(list(store.request_ids())),
        "errors": len(errors),
    }
    store.clear()
    return result


def format_table(results: list[dict[str, Any]]) -> str:
    lines = [
        f"{'store':<14}{'mode':<12}{'lost':>12}{'errors':>8}{'req/s':>8}  first error",
    ]
    for result in results:
        for mode in ("threads", "event loop"):
            row = result[mode]
            lines.append(
                f"{result['store']:<14}{mode:<12}"
                f"{row['lost']:>6}/{row['requests']:<5}{row['errors']:>8}"
                f"{row['requests_per_second']:>8}  {row['first_error'] or ''}"
            )
        bounded = result["bounded"]
        lines.append(
            f"{result['store']:<14}{'bounded':<12}"
            f"kept {bounded['kept']} of capacity {bounded['capacity']}"
            f" ({bounded['errors']} errors)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default=",".join(STORES))
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument(
        "--requests", type=int, default=REQUESTS, help="requests per store and mode"
    )
    args = parser.parse_args(argv)
    names = [name for name in args.stores.split(",") if name]
    unknown = sorted(set(names) - STORES.keys())
    if unknown:
        parser.error(f"unknown stores {unknown}; choose from {', '.join(STORES)}")
    if args.requests < max(THREADS, TASKS, BOUNDED_CAPACITY):
        parser.error(
            f"--requests must be at least {max(THREADS, TASKS, BOUNDED_CAPACITY)}"
        )

    from tests.services import PostgresServer, RedisServer

    with ExitStack() as stack:
        postgres = stack.enter_context(PostgresServer())
        redis = stack.enter_context(RedisServer())
        postgres.create_database("stores")
        configure_django(postgres.django_database("stores"), redis.url)
        results = [measure(name, args.requests) for name in names]
        from django.db import connections

        connections.close_all()

    print(format_table(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
