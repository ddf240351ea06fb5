"""Real HTTP servers run inside the test process, on 127.0.0.1 only.

In-process servers keep DjDT's ``MemoryStore`` readable from the test, so a
test can look at exactly what each request stored.

- :class:`AsgiServer`: uvicorn serving ``get_asgi_application()`` from a
  background thread with its own event loop.
- WSGI: use pytest-django's ``live_server`` (Django's threaded WSGI server);
  :func:`live_server_port` gives its port so clients connect to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import http.client
import re
import socket
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

HOST = "127.0.0.1"
# Generous: a slow CI machine must not fail a test, and a hung server must.
TIMEOUT = 30.0

_REQUEST_ID = re.compile(r'data-request-id="([0-9a-f]+)"')


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def request_id(self) -> str:
        """The toolbar's id for the request, from the page it injected."""
        match = _REQUEST_ID.search(self.body)
        if match is None:
            raise AssertionError(f"No toolbar in the response: {self.body[:300]!r}")
        return match.group(1)


class AsgiServer:
    """uvicorn serving Django's ASGI application on 127.0.0.1 and a free port.

    Use as a context manager; ``port`` is known once it is entered.
    """

    def __init__(self, app: Any | None = None) -> None:
        if app is None:
            from django.core.asgi import get_asgi_application

            app = get_asgi_application()
        self.app = app
        self.port = 0
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> AsgiServer:
        import uvicorn

        # Bind before starting so the port is known and no other process can
        # take it in between.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((HOST, 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            lifespan="off",  # Django does not speak the lifespan protocol.
            loop="asyncio",
            http="h11",
            ws="none",
            log_level="warning",
            access_log=False,
            backlog=1024,
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)

        def run() -> None:
            try:
                # Outside the main thread uvicorn installs no signal handlers.
                self._server.run(sockets=[sock])
            except BaseException as error:  # reported by __enter__/__exit__
                self._error = error
            finally:
                sock.close()

        self._thread = threading.Thread(target=run, name="uvicorn", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + TIMEOUT
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start") from self._error
            if time.monotonic() > deadline:
                self._stop()
                raise RuntimeError("uvicorn did not start in time")
            time.sleep(0.01)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop()
        if self._error is not None and exc is None:
            raise RuntimeError("uvicorn failed") from self._error

    def _stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(TIMEOUT)
            if self._thread.is_alive():
                raise RuntimeError("uvicorn did not stop in time")


def live_server_port(live_server: Any) -> int:
    """The port of pytest-django's ``live_server``; it listens on IPv4 loopback."""
    return int(live_server.thread.port)


def get(port: int, path: str, *, timeout: float = TIMEOUT) -> Response:
    """A blocking GET to ``127.0.0.1:port`` with ``http.client``."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Connection": "close"})
        response = connection.getresponse()
        body = response.read().decode()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return Response(response.status, headers, body)
    finally:
        connection.close()


async def aget(port: int, path: str, *, timeout: float = TIMEOUT) -> Response:
    """A GET over raw asyncio streams: HTTP/1.1, one request per connection."""

    async def exchange() -> bytes:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            await writer.drain()
            return await reader.read()  # until the server closes
        finally:
            writer.close()
            await writer.wait_closed()

    raw = await asyncio.wait_for(exchange(), timeout)
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", ""):
        body = _dechunk(body)
    return Response(int(status_line.split()[1]), headers, body.decode())


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return bytes(out)
