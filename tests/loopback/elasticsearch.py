"""A small Elasticsearch REST endpoint on 127.0.0.1 that the real elasticsearch-py accepts.

It speaks enough of the REST API for the official client (8.x and 9.x, sync and
async) to work unchanged: the ``X-Elastic-Product: Elasticsearch`` header the
client checks, the ``application/vnd.elasticsearch+json; compatible-with=N``
media type it sends and expects back, and Elasticsearch's JSON shapes for
results and errors. Documents live in memory.

Served:

- ``GET /`` (cluster info), ``HEAD /`` (ping);
- ``PUT``/``HEAD``/``GET``/``DELETE /<index>``; ``POST /<index>/_refresh``;
- ``PUT``/``POST /<index>/_doc/<id>``, ``POST /<index>/_doc``, ``GET``/``HEAD``/
  ``DELETE /<index>/_doc/<id>``;
- ``GET``/``POST /_search`` and ``/<index>/_search`` (``match_all``, ``match``,
  ``term``, ``bool``; ``size``, ``from``, ``rest_total_hits_as_int``), with
  ``took`` and ``hits.total``; ``/_count`` and ``/<index>/_count``;
- ``POST /_bulk`` and ``/<index>/_bulk`` (``index``, ``create``, ``update``,
  ``delete``);
- errors as Elasticsearch sends them: 404 ``index_not_found_exception``, 400
  ``parsing_exception`` for an unknown query, 400 ``resource_already_exists_exception``,
  400 "no handler found" for any other path.

Use it as a context manager::

    with ElasticsearchServer() as server:
        client = Elasticsearch(server.url)

or run it alone: ``python -m tests.loopback.elasticsearch --port 9200``.
"""

from __future__ import annotations

import argparse
import fnmatch
import gzip
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

HOST = "127.0.0.1"

# What the server claims to be, by the major version the client asks for.
VERSIONS = {"8": "8.19.0", "9": "9.1.0"}
DEFAULT_MAJOR = "9"

_COMPATIBLE_WITH = re.compile(r"compatible-with\s*=\s*(\d+)")
_SHARDS = {"total": 1, "successful": 1, "skipped": 0, "failed": 0}
_WRITE_SHARDS = {"total": 2, "successful": 1, "failed": 0}

Document = dict[str, Any]


@dataclass(frozen=True)
class Exchange:
    """One request as the server received it, and its answer."""

    method: str
    target: str  # path and query string, as sent
    body: bytes
    status: int
    response: Any  # the decoded JSON body, or None


class ApiError(Exception):
    """An error response in Elasticsearch's shape."""

    def __init__(self, status: int, error_type: str, reason: str, **extra: Any):
        super().__init__(reason)
        self.status = status
        cause = {"type": error_type, "reason": reason, **extra}
        self.body = {"error": {"root_cause": [cause], **cause}, "status": status}


def index_not_found(name: str) -> ApiError:
    return ApiError(
        404,
        "index_not_found_exception",
        f"no such index [{name}]",
        **{"resource.type": "index_or_alias", "resource.id": name},
        index_uuid="_na_",
        index=name,
    )


def parsing_error(reason: str) -> ApiError:
    return ApiError(400, "parsing_exception", reason, line=1, col=1)


@dataclass
class Index:
    docs: dict[str, tuple[Document, int]] = field(default_factory=dict)
    seq_no: int = 0


class Cluster:
    """The in-memory indices, shared by all connections."""

    def __init__(self, indices: dict[str, list[Document]] | None = None) -> None:
        self.lock = threading.Lock()
        self.indices: dict[str, Index] = {}
        for name, docs in (indices or {}).items():
            index = self.indices[name] = Index()
            for number, doc in enumerate(docs, 1):
                index.docs[str(doc.get("id", number))] = (doc, 1)

    # Names

    def resolve(self, expression: str, params: dict[str, str]) -> list[str]:
        """Concrete index names for ``a,b``, ``logs-*``, ``_all``."""
        names: list[str] = []
        for part in expression.split(","):
            if part in ("_all", "*"):
                names.extend(self.indices)
            elif "*" in part:
                names.extend(fnmatch.filter(self.indices, part))
            elif part in self.indices:
                names.append(part)
            elif params.get("ignore_unavailable") != "true":
                raise index_not_found(part)
        return list(dict.fromkeys(names))

    def _index(self, name: str, *, create: bool = False) -> Index:
        index = self.indices.get(name)
        if index is None:
            if not create:
                raise index_not_found(name)
            index = self.indices[name] = Index()
        return index

    # Indices

    def create_index(self, name: str) -> Document:
        if name in self.indices:
            raise ApiError(
                400,
                "resource_already_exists_exception",
                f"index [{name}/{uuid.uuid4().hex[:22]}] already exists",
                index=name,
            )
        self.indices[name] = Index()
        return {"acknowledged": True, "shards_acknowledged": True, "index": name}

    def delete_index(self, expression: str, params: dict[str, str]) -> Document:
        for name in self.resolve(expression, params):
            del self.indices[name]
        return {"acknowledged": True}

    # Documents

    def put(
        self, name: str, doc_id: str | None, source: Any, *, only_create: bool = False
    ) -> tuple[int, Document]:
        if not isinstance(source, dict):
            raise parsing_error("request body is required")
        index = self._index(name, create=True)
        doc_id = doc_id or uuid.uuid4().hex[:20]
        previous = index.docs.get(doc_id)
        if previous is not None and only_create:
            raise ApiError(
                409,
                "version_conflict_engine_exception",
                f"[{doc_id}]: version conflict, document already exists "
                f"(current version [{previous[1]}])",
                index=name,
                shard="0",
            )
        version = previous[1] + 1 if previous else 1
        index.docs[doc_id] = (source, version)
        index.seq_no += 1
        return (200 if previous else 201), {
            "_index": name,
            "_id": doc_id,
            "_version": version,
            "result": "updated" if previous else "created",
            "_shards": _WRITE_SHARDS,
            "_seq_no": index.seq_no - 1,
            "_primary_term": 1,
        }

    def update(self, name: str, doc_id: str, partial: Any) -> tuple[int, Document]:
        index = self._index(name, create=True)
        previous = index.docs.get(doc_id)
        if previous is None:
            raise ApiError(
                404,
                "document_missing_exception",
                f"[{doc_id}]: document missing",
                index=name,
                shard="0",
            )
        changes = partial.get("doc", {}) if isinstance(partial, dict) else {}
        index.docs[doc_id] = ({**previous[0], **changes}, previous[1] + 1)
        index.seq_no += 1
        return 200, {
            "_index": name,
            "_id": doc_id,
            "_version": previous[1] + 1,
            "result": "updated",
            "_shards": _WRITE_SHARDS,
            "_seq_no": index.seq_no - 1,
            "_primary_term": 1,
        }

    def get(self, name: str, doc_id: str) -> tuple[int, Document]:
        found = self._index(name).docs.get(doc_id)
        if found is None:
            return 404, {"_index": name, "_id": doc_id, "found": False}
        source, version = found
        return 200, {
            "_index": name,
            "_id": doc_id,
            "_version": version,
            "_seq_no": version - 1,
            "_primary_term": 1,
            "found": True,
            "_source": source,
        }

    def delete(self, name: str, doc_id: str) -> tuple[int, Document]:
        index = self._index(name)
        previous = index.docs.pop(doc_id, None)
        return (200 if previous else 404), {
            "_index": name,
            "_id": doc_id,
            "_version": previous[1] + 1 if previous else 1,
            "result": "deleted" if previous else "not_found",
            "_shards": _WRITE_SHARDS,
            "_seq_no": index.seq_no,
            "_primary_term": 1,
        }

    # Search

    def search(
        self, expression: str, body: Any, params: dict[str, str]
    ) -> tuple[int, Document]:
        started = time.perf_counter()
        body = body if isinstance(body, dict) else {}
        query = body.get("query", {"match_all": {}})
        matcher = compile_query(query)
        names = self.resolve(expression, params)
        hits = [
            {"_index": name, "_id": doc_id, "_score": 1.0, "_source": source}
            for name in names
            for doc_id, (source, _) in self.indices[name].docs.items()
            if matcher(source)
        ]
        start = int(params.get("from", body.get("from", 0)))
        size = int(params.get("size", body.get("size", 10)))
        total: Any = {"value": len(hits), "relation": "eq"}
        if params.get("rest_total_hits_as_int") == "true":
            total = len(hits)
        took = (time.perf_counter() - started) * 1000
        return 200, {
            "took": max(1, round(took)),
            "timed_out": False,
            "_shards": _SHARDS,
            "hits": {
                "total": total,
                "max_score": 1.0 if hits else None,
                "hits": hits[start : start + size],
            },
        }

    def count(
        self, expression: str, body: Any, params: dict[str, str]
    ) -> tuple[int, Document]:
        _, result = self.search(expression, {**(body or {}), "size": 0}, params)
        total = result["hits"]["total"]
        return 200, {
            "count": total if isinstance(total, int) else total["value"],
            "_shards": _SHARDS,
        }

    def bulk(self, default_index: str | None, lines: list[Any]) -> tuple[int, Document]:
        started = time.perf_counter()
        items: list[Document] = []
        position = 0
        while position < len(lines):
            action = lines[position]
            position += 1
            if not isinstance(action, dict) or len(action) != 1:
                raise ApiError(
                    400,
                    "illegal_argument_exception",
                    f"Malformed action/metadata line [{position}], "
                    "expected START_OBJECT or END_OBJECT but found [VALUE_STRING]",
                )
            ((kind, meta),) = action.items()
            name = meta.get("_index", default_index)
            doc_id = meta.get("_id")
            source = None
            if kind in ("index", "create", "update"):
                source = lines[position] if position < len(lines) else None
                position += 1
            try:
                if name is None:
                    raise ApiError(
                        400, "action_request_validation_exception", "index is missing"
                    )
                if kind in ("index", "create"):
                    status, result = self.put(
                        name, doc_id, source, only_create=kind == "create"
                    )
                elif kind == "update":
                    status, result = self.update(name, str(doc_id), source)
                elif kind == "delete":
                    status, result = self.delete(name, str(doc_id))
                else:
                    raise ApiError(
                        400,
                        "illegal_argument_exception",
                        f"Malformed action/metadata line [{position}], "
                        f"expected one of [create, delete, index, update] but found [{kind}]",
                    )
                items.append({kind: {**result, "status": status}})
            except ApiError as error:
                items.append(
                    {
                        kind: {
                            "_index": name,
                            "_id": doc_id,
                            "status": error.status,
                            "error": {
                                key: value
                                for key, value in error.body["error"].items()
                                if key != "root_cause"
                            },
                        }
                    }
                )
        took = (time.perf_counter() - started) * 1000
        return 200, {
            "errors": any(
                item[kind]["status"] >= 300 for item in items for kind in item
            ),
            "took": max(1, round(took)),
            "items": items,
        }


def compile_query(query: Any) -> Callable[[Document], bool]:
    """A predicate for the few query types served; others are a parsing error."""
    if not isinstance(query, dict) or len(query) != 1:
        raise parsing_error("[query] malformed query, expected [END_OBJECT]")
    ((kind, spec),) = query.items()
    if kind == "match_all":
        return lambda doc: True
    if kind in ("match", "term") and isinstance(spec, dict) and len(spec) == 1:
        ((name, wanted),) = spec.items()
        if isinstance(wanted, dict):
            wanted = wanted.get("query", wanted.get("value"))
        if kind == "term":
            return lambda doc: doc.get(name) == wanted
        words = set(str(wanted).lower().split())
        return lambda doc: bool(words & set(str(doc.get(name, "")).lower().split()))
    if kind == "bool" and isinstance(spec, dict):

        def clauses(name: str) -> list[Callable[[Document], bool]]:
            value = spec.get(name, [])
            return [
                compile_query(q)
                for q in (value if isinstance(value, list) else [value])
            ]

        required = clauses("must") + clauses("filter")
        optional, excluded = clauses("should"), clauses("must_not")
        return lambda doc: (
            all(test(doc) for test in required)
            and not any(test(doc) for test in excluded)
            and (not optional or any(test(doc) for test in optional))
        )
    raise parsing_error(f"unknown query [{kind}]")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Elasticsearch
    server_version = "loopback-elasticsearch"
    timeout = 30  # an idle keep-alive connection ends its thread eventually
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's
    # algorithm and delayed ACKs hold the body back about 40 ms.
    disable_nagle_algorithm = True
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read the exchanges instead

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        data = (
            gzip.decompress(raw)
            if self.headers.get("Content-Encoding") == "gzip"
            else raw
        )
        compatible = _COMPATIBLE_WITH.search(self.headers.get("Accept", ""))
        major = compatible.group(1) if compatible else None
        status, response = self.server.owner.respond(
            self.command,
            self.path,
            data,
            content_type=self.headers.get("Content-Type", ""),
            major=major,
        )
        content_type = (
            f"application/vnd.elasticsearch+json;compatible-with={major}"
            if major
            else "application/json"
        )
        payload = b"" if response is None else json.dumps(response).encode()
        self.send_response(status)
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        self.server.owner.log(Exchange(self.command, self.path, data, status, response))


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: ElasticsearchServer


class ElasticsearchServer:
    """Serves the Elasticsearch REST API from memory on 127.0.0.1.

    ``port=0`` picks a free port; ``indices`` seeds documents by index name.
    ``exchanges`` lists every request received, in order.
    """

    def __init__(
        self, *, port: int = 0, indices: dict[str, list[Document]] | None = None
    ) -> None:
        self.cluster = Cluster(indices)
        self._requested_port = port
        self._http: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._exchanges: list[Exchange] = []
        self._log_lock = threading.Lock()

    @property
    def port(self) -> int:
        if self._http is None:
            raise RuntimeError("the server is not running")
        return int(self._http.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def exchanges(self) -> list[Exchange]:
        with self._log_lock:
            return list(self._exchanges)

    def clear_exchanges(self) -> None:
        with self._log_lock:
            self._exchanges.clear()

    def log(self, exchange: Exchange) -> None:
        with self._log_lock:
            self._exchanges.append(exchange)

    def start(self) -> ElasticsearchServer:
        self._http = _HttpServer((HOST, self._requested_port), _Handler)
        self._http.owner = self
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="loopback-elasticsearch",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._thread is not None:
            self._thread.join(10)
        self._http = self._thread = None

    def __enter__(self) -> ElasticsearchServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # The REST API

    def respond(
        self,
        method: str,
        target: str,
        data: bytes,
        *,
        content_type: str = "application/json",
        major: str | None = None,
    ) -> tuple[int, Any]:
        """Status and JSON body for one request; ``major`` is the client's API version."""
        parts = urlsplit(target)
        params = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        segments = [unquote(part) for part in parts.path.split("/") if part]
        try:
            body = _decode(data, content_type)
            with self.cluster.lock:
                status, response = self._route(method, segments, body, params, major)
        except ApiError as error:
            status, response = error.status, error.body
        return status, (None if method == "HEAD" else response)

    def _route(
        self,
        method: str,
        segments: list[str],
        body: Any,
        params: dict[str, str],
        major: str | None,
    ) -> tuple[int, Any]:
        cluster = self.cluster
        first = segments[0] if segments else None
        rest = segments[1:]
        if first is None and method in ("GET", "HEAD"):
            return 200, self.info(major)
        if first in ("_search", "_count", "_bulk", "_refresh") and not rest:
            return self._route(method, ["_all", first], body, params, major)
        if first is None or (first.startswith("_") and (first != "_all" or not rest)):
            return self._no_handler(method, segments)
        if not rest:
            if method == "PUT":
                return 200, cluster.create_index(first)
            if method == "DELETE":
                return 200, cluster.delete_index(first, params)
            if method in ("GET", "HEAD"):
                names = cluster.resolve(first, params)
                return 200, {name: {"aliases": {}, "mappings": {}} for name in names}
        elif rest == ["_search"] and method in ("GET", "POST"):
            return cluster.search(first, body, params)
        elif rest == ["_count"] and method in ("GET", "POST"):
            return cluster.count(first, body, params)
        elif rest == ["_refresh"] and method in ("GET", "POST"):
            cluster.resolve(first, params)
            return 200, {"_shards": _SHARDS}
        elif rest == ["_bulk"] and method in ("POST", "PUT"):
            return cluster.bulk(None if first == "_all" else first, body or [])
        elif rest == ["_doc"] and method == "POST":
            return cluster.put(first, None, body)
        elif len(rest) == 2 and rest[0] in ("_doc", "_create"):
            doc_id = rest[1]
            if method in ("PUT", "POST"):
                return cluster.put(
                    first, doc_id, body, only_create=rest[0] == "_create"
                )
            if method in ("GET", "HEAD") and rest[0] == "_doc":
                return cluster.get(first, doc_id)
            if method == "DELETE" and rest[0] == "_doc":
                return cluster.delete(first, doc_id)
        return self._no_handler(method, segments)

    def _no_handler(self, method: str, segments: list[str]) -> tuple[int, Any]:
        uri = "/" + "/".join(segments)
        return 400, {"error": f"no handler found for uri [{uri}] and method [{method}]"}

    def info(self, major: str | None = None) -> Document:
        return {
            "name": "loopback",
            "cluster_name": "loopback",
            "cluster_uuid": "bG9vcGJhY2stY2x1c3Rlcg",
            "version": {
                "number": VERSIONS.get(major or DEFAULT_MAJOR, VERSIONS[DEFAULT_MAJOR]),
                "build_flavor": "default",
                "build_type": "tar",
                "build_hash": "0" * 40,
                "build_date": "2025-01-01T00:00:00.000000000Z",
                "build_snapshot": False,
                "lucene_version": "10.1.0",
                "minimum_wire_compatibility_version": "7.17.0",
                "minimum_index_compatibility_version": "7.0.0",
            },
            "tagline": "You Know, for Search",
        }


def _decode(data: bytes, content_type: str) -> Any:
    if not data.strip():
        return None
    try:
        text = data.decode()
        if "ndjson" in content_type:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        return json.loads(text)
    except ValueError as error:
        raise parsing_error(f"request body is not valid JSON: {error}") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9200)
    port = parser.parse_args().port
    with ElasticsearchServer(port=port) as server:
        print(f"Serving a loopback Elasticsearch on {server.url} (Ctrl-C stops it)")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
