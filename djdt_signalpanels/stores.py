"""Toolbar stores for sites served by several processes or hosts.

DjDT keeps each request's panel data in the store named by
``DEBUG_TOOLBAR_CONFIG["TOOLBAR_STORE_CLASS"]`` and fetches it again when a
panel is opened. Its default ``MemoryStore`` lives in one process, so a fetch
answered by another worker finds nothing. These stores are shared:

- :class:`RedisStore`: every change is one atomic Redis script, so no request
  id is lost however many workers store at once (DjDT's ``CacheStore``
  rewrites one id list from every process and loses some).
- :class:`DatabaseStore`: DjDT's database store, usable under ASGI too (DjDT's
  raises ``SynchronousOnlyOperation`` there), with a cleanup whose cost does not
  grow with ``RESULTS_CACHE_SIZE``.

Both keep at most ``RESULTS_CACHE_SIZE`` requests, evicting the oldest.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from debug_toolbar import settings as dt_settings
from debug_toolbar import store as dt_store
from debug_toolbar.models import HistoryEntry
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from . import conf

T = TypeVar("T")

# Redis scripts: each runs atomically on the server.
#
# Stored requests are a sorted set (request id -> arrival number) plus one hash
# per request (panel id -> serialized data). Adding an id evicts the oldest
# beyond the capacity, together with their hashes; saving a panel adds its
# request first, so a hash never outlives its id.
_SAVE = """
local ids, counter, prefix = KEYS[1], KEYS[2], ARGV[3]
if not redis.call('ZSCORE', ids, ARGV[1]) then
  redis.call('ZADD', ids, redis.call('INCR', counter), ARGV[1])
  local excess = redis.call('ZCARD', ids) - tonumber(ARGV[2])
  if excess > 0 then
    for _, old in ipairs(redis.call('ZRANGE', ids, 0, excess - 1)) do
      redis.call('DEL', prefix .. old)
    end
    redis.call('ZREMRANGEBYRANK', ids, 0, excess - 1)
  end
end
if ARGV[4] then
  redis.call('HSET', prefix .. ARGV[1], ARGV[4], ARGV[5])
end
"""
_DELETE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', ARGV[2] .. ARGV[1])
"""
_CLEAR = """
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  redis.call('DEL', ARGV[1] .. id)
end
redis.call('DEL', KEYS[1])
"""

# Seconds: a Redis server that stops answering fails the request instead of
# hanging it. Options in REDIS_URL's query string take precedence.
_REDIS_TIMEOUT = 5.0


class RedisStore(dt_store.BaseStore):
    """Panel data in Redis, shared by every process and host that uses the server.

    Set ``DJDT_SIGNALPANELS["REDIS_URL"]`` (``redis://``, ``rediss://`` or
    ``unix://``; needs the ``redis`` package). Keys start with DjDT's
    ``CACHE_KEY_PREFIX``. Runs on one Redis server (with or without replicas),
    not on Redis Cluster: the scripts touch keys they compute.
    """

    # REDIS_URL -> (client, {script source: registered script})
    _connections: dict[str, tuple[Any, dict[str, Any]]] = {}
    _lock = threading.Lock()

    @classmethod
    def _connection(cls) -> tuple[Any, dict[str, Any]]:
        url = conf.redis_url()
        if url is None:
            raise ImproperlyConfigured(
                'RedisStore needs DJDT_SIGNALPANELS["REDIS_URL"], such as '
                '"redis://localhost:6379/0".'
            )
        with cls._lock:
            if url not in cls._connections:
                client = _redis_client(url)
                scripts = {
                    source: client.register_script(source)
                    for source in (_SAVE, _DELETE, _CLEAR)
                }
                cls._connections[url] = client, scripts
            return cls._connections[url]

    @classmethod
    def _client(cls) -> Any:
        return cls._connection()[0]

    @classmethod
    def _run(cls, source: str, keys: list[str], args: list[Any]) -> None:
        cls._connection()[1][source](keys=keys, args=args)

    @staticmethod
    def _keys() -> tuple[str, str, str]:
        """The sorted set of ids, the arrival counter, the prefix of request hashes."""
        prefix = dt_settings.get_config()["CACHE_KEY_PREFIX"]
        return f"{prefix}ids", f"{prefix}arrivals", f"{prefix}request:"

    @classmethod
    def request_ids(cls) -> Iterable[str]:
        """The stored request ids, oldest first."""
        ids, _, _ = cls._keys()
        return list(cls._client().zrange(ids, 0, -1))

    @classmethod
    def exists(cls, request_id: str) -> bool:
        ids, _, _ = cls._keys()
        return cls._client().zscore(ids, request_id) is not None

    @classmethod
    def set(cls, request_id: str) -> None:
        ids, arrivals, prefix = cls._keys()
        cls._run(_SAVE, [ids, arrivals], [request_id, _capacity(), prefix])

    @classmethod
    def clear(cls) -> None:
        ids, _, prefix = cls._keys()
        cls._run(_CLEAR, [ids], [prefix])

    @classmethod
    def delete(cls, request_id: str) -> None:
        ids, _, prefix = cls._keys()
        cls._run(_DELETE, [ids], [request_id, prefix])

    @classmethod
    def save_panel(cls, request_id: str, panel_id: str, data: Any = None) -> None:
        ids, arrivals, prefix = cls._keys()
        data = dt_store.serialize(data)
        cls._run(
            _SAVE, [ids, arrivals], [request_id, _capacity(), prefix, panel_id, data]
        )

    @classmethod
    def panel(cls, request_id: str, panel_id: str) -> Any:
        _, _, prefix = cls._keys()
        data = cls._client().hget(prefix + request_id, panel_id)
        return {} if data is None else dt_store.deserialize(data)

    @classmethod
    def panels(cls, request_id: str) -> Iterator[tuple[str, Any]]:
        _, _, prefix = cls._keys()
        stored = cls._client().hgetall(prefix + request_id)
        return (
            (panel_id, dt_store.deserialize(data)) for panel_id, data in stored.items()
        )


def _redis_client(url: str) -> Any:
    try:
        import redis
    except ImportError as error:
        raise ImproperlyConfigured(
            "RedisStore needs the redis package: pip install 'djdt-signalpanels[redis]'."
        ) from error
    # redis-py's connection pool is thread-safe and starts afresh in a forked
    # worker, so one client per URL serves the whole process.
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=_REDIS_TIMEOUT,
        socket_connect_timeout=_REDIS_TIMEOUT,
    )


def _capacity() -> int:
    return int(dt_settings.get_config()["RESULTS_CACHE_SIZE"])


class DatabaseStore(dt_store.DatabaseStore):
    """DjDT's database store (its ``HistoryEntry`` table), usable under ASGI.

    Under ASGI the toolbar calls its store from the event loop, where Django
    refuses database queries. Called there, this store runs the query in a
    thread of its own and waits for it: one database connection per process,
    kept open and replaced when it breaks. Elsewhere (WSGI, sync views, the
    toolbar's own views) it queries directly, on the request's connection.
    """

    @classmethod
    def _cleanup_old_entries(cls) -> None:
        # DjDT's version sends every kept id in the query: its cost grows with
        # RESULTS_CACHE_SIZE on every request. Deleting what ranks beyond the
        # capacity costs one ordered query, and rows are deleted in primary key
        # order, so concurrent cleanups lock rows in one order and cannot deadlock.
        beyond = list(
            HistoryEntry.objects.order_by("-created_at", "-request_id").values_list(
                "pk", flat=True
            )[_capacity() :]
        )
        if beyond:
            HistoryEntry.objects.filter(pk__in=sorted(beyond)).delete()

    @classmethod
    def request_ids(cls) -> Any:
        return _outside_event_loop(super().request_ids)

    @classmethod
    def exists(cls, request_id: str) -> bool:
        return _outside_event_loop(super().exists, request_id)

    @classmethod
    def set(cls, request_id: str) -> None:
        _outside_event_loop(super().set, request_id)

    @classmethod
    def clear(cls) -> None:
        _outside_event_loop(super().clear)

    @classmethod
    def delete(cls, request_id: str) -> None:
        _outside_event_loop(super().delete, request_id)

    @classmethod
    def save_panel(cls, request_id: str, panel_id: str, data: Any = None) -> None:
        _outside_event_loop(super().save_panel, request_id, panel_id, data)

    @classmethod
    def panel(cls, request_id: str, panel_id: str) -> Any:
        return _outside_event_loop(super().panel, request_id, panel_id)

    @classmethod
    def panels(cls, request_id: str) -> Iterator[tuple[str, Any]]:
        # DjDT's is a generator: it would query when iterated, on the loop.
        panels = super().panels
        return iter(_outside_event_loop(lambda: list(panels(request_id))))


def show_history_migrations() -> None:
    """Let ``migrate`` create DjDT's table when :class:`DatabaseStore` is configured.

    DjDT hides its migration unless ``TOOLBAR_STORE_CLASS`` is exactly its own
    database store (by setting ``MIGRATION_MODULES["debug_toolbar"] = None``).
    Called by this app's ``ready()``; an explicit module path is left alone.
    """
    from django.conf import settings

    if settings.MIGRATION_MODULES.get("debug_toolbar") is None:
        settings.MIGRATION_MODULES["debug_toolbar"] = "debug_toolbar.migrations"


_executors: dict[int, ThreadPoolExecutor] = {}
_executors_lock = threading.Lock()


def _outside_event_loop(func: Callable[..., T], *args: Any) -> T:
    """``func(*args)``, in the store's thread when called from an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return func(*args)
    # One thread per process (a forked worker gets its own): calls from an
    # event loop are serial anyway, as the loop waits for each.
    with _executors_lock:
        executor = _executors.get(os.getpid())
        if executor is None:
            executor = _executors[os.getpid()] = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="djdt-store"
            )
    return executor.submit(_with_usable_connections, func, *args).result()


def _with_usable_connections(func: Callable[..., T], *args: Any) -> T:
    # No request cycle closes this thread's connections: drop one that failed
    # (a restarted database server) before it is used again.
    for connection in connections.all(initialized_only=True):
        if connection.errors_occurred and not connection.is_usable():
            connection.close()
    return func(*args)
