"""What the LLM API loopback servers share: a threaded HTTP server on 127.0.0.1.

A subclass of :class:`LoopbackServer` answers each :class:`Request` with a
:class:`Json` reply or an :class:`EventStream` of server-sent events. Event
streams go out with chunked transfer encoding, one chunk per event, flushed as
they are written, so a client reads them as they come and can stop early.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Request:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: Any  # decoded JSON, or None


@dataclass(frozen=True)
class Json:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EventStream:
    """Server-sent events: ``(event name or None, JSON data or raw text)`` pairs."""

    events: Iterable[tuple[str | None, Any]]
    headers: dict[str, str] = field(default_factory=dict)


def sse(event: str | None, data: Any) -> bytes:
    """One server-sent event in wire format."""
    text = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {text}\n\n".encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs
    timeout = 30  # an idle keep-alive connection ends its thread eventually
    # The body goes out right after the headers, not after the client's
    # delayed ACK of them (about 40 ms a response otherwise).
    disable_nagle_algorithm = True
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read the requests instead

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            body = None
        request = Request(
            self.command,
            self.path,
            {name.lower(): value for name, value in self.headers.items()},
            body,
        )
        owner = self.server.owner
        owner.log(request)
        reply = owner.respond(request)
        if isinstance(reply, Json):
            self._json(reply)
        else:
            self._stream(reply)

    do_GET = do_DELETE = do_POST

    def _json(self, reply: Json) -> None:
        payload = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, reply: EventStream) -> None:
        self.send_response(200)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for event, data in reply.events:
                chunk = sse(event, data)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except ConnectionError:
            # The client stopped reading early and closed the connection.
            self.close_connection = True


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: LoopbackServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that stops reading a stream early resets its connection.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1; ``port=0`` picks a free port.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    ``requests`` lists every request received, in order.
    """

    name = "loopback"

    def __init__(self, *, port: int = 0) -> None:
        self._requested_port = port
        self._http: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._requests: list[Request] = []
        self._lock = threading.Lock()
        self._counter = 0

    def respond(self, request: Request) -> Json | EventStream:
        raise NotImplementedError

    @property
    def port(self) -> int:
        if self._http is None:
            raise RuntimeError("the server is not running")
        return int(self._http.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def log(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def next_id(self) -> int:
        """A number unique within this server, for response ids."""
        with self._lock:
            self._counter += 1
            return self._counter

    def start(self) -> Self:
        self._http = _HttpServer((HOST, self._requested_port), _Handler)
        self._http.owner = self
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.name,
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

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def words(text: str) -> list[str]:
    return text.split()


def serve_forever(server: LoopbackServer, description: str) -> None:
    """Run ``server`` in the foreground until Ctrl-C (``python -m`` entry points)."""
    with server:
        print(f"Serving {description} on {server.url} (Ctrl-C stops it)")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
