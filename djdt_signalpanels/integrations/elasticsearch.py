"""elasticsearch-py 8.x and 9.x: each API call sends ``elasticsearch_query``.

:func:`install` wraps ``perform_request`` of the sync and the async
``BaseClient`` (``elasticsearch._sync.client._base`` and
``elasticsearch._async.client._base``), once, at class level. Every API method
of ``Elasticsearch`` and ``AsyncElasticsearch``, every namespaced client
(``client.indices``...) and every helper (``helpers.bulk``...) goes through it,
in 8.0 as in 9.x. That layer sees the body before it is serialized, and a call
fails there with the exception its caller gets: an ``ApiError`` subclass for an
error status (after the client's ``ignore_status``), a ``TransportError`` when
no response came. The transport below it never raises for an error status.

While no request records, a call costs one context variable lookup more.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Mapping
from time import perf_counter
from typing import Any
from urllib.parse import unquote, urlencode

from .. import conf, recording
from ..signals import elasticsearch_query

# The client's frames sit between the caller and the send; ElasticsearchPanel
# hides them, so the caller's line is the last frame of the stack.
HIDDEN_MODULES = ("elasticsearch", "elastic_transport")

# Serialized bodies longer than this stay text (truncated when shown).
PARSE_LIMIT = 1_000_000

_ORIGINAL = "__djdt_signalpanels_original__"
_lock = threading.Lock()


def available() -> bool:
    """Whether elasticsearch-py can be imported."""
    try:
        import elasticsearch  # noqa: F401
    except ImportError:
        return False
    return True


def _client_classes() -> tuple[Any, Any]:
    from elasticsearch._async.client._base import BaseClient as AsyncBaseClient
    from elasticsearch._sync.client._base import BaseClient

    return BaseClient, AsyncBaseClient


def install() -> None:
    """Instrument both clients; a second call changes nothing.

    Raises ``ImportError`` when elasticsearch-py is not installed.
    """
    sync_client, async_client = _client_classes()
    with _lock:
        for cls, wrap in ((sync_client, _wrap_sync), (async_client, _wrap_async)):
            current = cls.__dict__["perform_request"]
            if getattr(current, _ORIGINAL, None) is None:
                wrapper = wrap(current)
                setattr(wrapper, _ORIGINAL, current)
                cls.perform_request = wrapper


def uninstall() -> None:
    """Put the clients' own ``perform_request`` back (tests and benchmarks)."""
    try:
        classes = _client_classes()
    except ImportError:
        return
    with _lock:
        for cls in classes:
            original = getattr(cls.__dict__["perform_request"], _ORIGINAL, None)
            if original is not None:
                cls.perform_request = original


def is_installed() -> bool:
    try:
        classes = _client_classes()
    except ImportError:
        return False
    return all(
        getattr(cls.__dict__["perform_request"], _ORIGINAL, None) is not None
        for cls in classes
    )


def _wrap_sync(original: Callable[..., Any]) -> Callable[..., Any]:
    # The client's signature: method and path, then keyword-only arguments.
    @functools.wraps(original)
    def perform_request(self: Any, method: str, path: str, **kwargs: Any) -> Any:
        # Cheapest test first: outside a recording request this is all a call pays.
        if recording.current() is None or not elasticsearch_query.has_listeners():
            return original(self, method, path, **kwargs)
        started = perf_counter()
        try:
            response = original(self, method, path, **kwargs)
        except BaseException as error:
            _send(self, method, path, kwargs, started, error=error)
            raise
        _send(self, method, path, kwargs, started, response=response)
        return response

    return perform_request


def _wrap_async(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def perform_request(self: Any, method: str, path: str, **kwargs: Any) -> Any:
        if recording.current() is None or not elasticsearch_query.has_listeners():
            return await original(self, method, path, **kwargs)
        started = perf_counter()
        try:
            response = await original(self, method, path, **kwargs)
        except BaseException as error:
            _send(self, method, path, kwargs, started, error=error)
            raise
        _send(self, method, path, kwargs, started, response=response)
        return response

    return perform_request


def _send(
    client: Any,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    started: float,
    *,
    response: Any = None,
    error: BaseException | None = None,
) -> None:
    """Send ``elasticsearch_query`` from inside the wrapper, so the caller is on the stack."""
    duration = (perf_counter() - started) * 1000
    fields: dict[str, Any] = {
        "method": method,
        "path": target(path, kwargs.get("params")),
    }
    index = index_of(path)
    if index is not None:
        fields["index"] = index
    body = kwargs.get("body")
    if body is not None:
        fields["body"] = readable(body)
    if error is None:
        fields.update(response_fields(response))
        fields["duration"] = duration
    else:
        status, text = describe_error(error)
        if status is not None:
            fields["status"] = status
        fields["duration"] = duration
        fields["error"] = text
    # Robust: a failing receiver must not change what the caller gets.
    elasticsearch_query.send_robust(sender=type(client), **fields)


def target(path: Any, params: Any) -> Any:
    """The path with its query string, quoted as the client quotes it."""
    if not params or not isinstance(path, str):
        return path
    try:
        from elasticsearch._sync.client.utils import _quote_query

        query = _quote_query(params)
    except Exception:  # a private helper: fall back to plain encoding
        query = urlencode(params, doseq=True)
    return f"{path}?{query}"


def index_of(path: Any) -> str | None:
    """``"/products/_search"`` -> ``"products"``; ``"/_bulk"`` -> None."""
    if not isinstance(path, str):
        return None
    first = path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
    if not first or first.startswith("_"):
        return None
    return unquote(first)


def readable(body: Any) -> Any:
    """The body as JSON values where the caller passed serialized JSON or NDJSON.

    ``helpers.bulk`` sends a list of serialized lines; a body may also be given
    as text. Only the first ``MAX_ITEMS`` lines are parsed: no more are shown.
    """
    if isinstance(body, (bytes, bytearray, memoryview)):
        body = bytes(body).decode("utf-8", "replace")
    if isinstance(body, str):
        if len(body) > PARSE_LIMIT:
            return body
        try:
            return json.loads(body)
        except ValueError:
            pass
        lines = body.splitlines()
        if len(lines) < 2:
            return body
        body = lines
    if isinstance(body, (list, tuple)):
        limit = conf.max_items()
        head = body[:limit]
        if any(isinstance(item, (str, bytes, bytearray)) for item in head):
            return [_line(item) for item in head] + list(body[limit:])
    return body


def _line(item: Any) -> Any:
    if isinstance(item, (bytes, bytearray)):
        item = bytes(item).decode("utf-8", "replace")
    if isinstance(item, str) and len(item) <= PARSE_LIMIT:
        try:
            return json.loads(item)
        except ValueError:
            return item
    return item


def response_fields(response: Any) -> dict[str, Any]:
    """``status``, and ``took`` and total ``hits`` when the body reports them."""
    fields: dict[str, Any] = {}
    status = getattr(getattr(response, "meta", None), "status", None)
    if _is_int(status):
        fields["status"] = status
    body = getattr(response, "body", None)
    if isinstance(body, Mapping):
        took = body.get("took")
        if _is_int(took):
            fields["took"] = took
        hits = body.get("hits")
        total = hits.get("total") if isinstance(hits, Mapping) else None
        if isinstance(total, Mapping):  # {"value": 42, "relation": "eq"}
            total = total.get("value")
        if _is_int(total):
            fields["hits"] = total
    return fields


def describe_error(error: BaseException) -> tuple[int | None, str]:
    """The HTTP status (when a response came) and ``"<ExceptionClass>: message"``."""
    status = getattr(getattr(error, "meta", None), "status", None)
    try:
        message = getattr(error, "message", None)
        text = str(error) if message is None else str(message)
        reason = _reason(getattr(error, "body", None))
        if reason and reason not in text:
            text = f"{text}: {reason}" if text else reason
    except Exception:
        text = ""
    name = type(error).__name__
    return (status if _is_int(status) else None), (f"{name}: {text}" if text else name)


def _reason(body: Any) -> str | None:
    """``error.reason`` of an Elasticsearch error body."""
    error = body.get("error") if isinstance(body, Mapping) else None
    reason = error.get("reason") if isinstance(error, Mapping) else None
    return reason if isinstance(reason, str) else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
