"""The demo site on real multi-process servers, and a check of what each request stored.

:func:`running_site` serves the demo (``example/``) with gunicorn (gthread
workers) or uvicorn (several worker processes) on 127.0.0.1, on a fresh
PostgreSQL database, with the toolbar store asked for (``tests/deployment_settings.py``).
Every response names the process that served it in ``X-Served-By``.

:func:`check_request` reads every signal panel of one request back through
DjDT's ``render_panel`` view, as the toolbar does, from whichever worker
answers, and counts the rows that belong to other requests and the rows that
are missing. Each page of :data:`PAGES` takes a token that every request makes
unique, and the token ends up in the events of that request, so a row showing
another request's token is foreign.

Used by ``tests/test_deployment.py`` and ``benchmarks/load.py``. Importing this
module needs no Django settings: the load benchmark is no Django process.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlencode

from benchmarks.concurrency import gunicorn_extra_options
from tests import servers
from tests.servers import Response
from tests.services import free_port

if TYPE_CHECKING:
    from tests.services import PostgresServer, RedisServer

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "example" / "manage.py"
SETTINGS_MODULE = "tests.deployment_settings"

SERVERS = ("gunicorn", "uvicorn")
STORES = ("memory", "database", "redis")

# The pages a load mixes. Each puts its token into every event it records,
# except /flags/: the demo's flag helper does not send the visitor id, so
# its rows are checked by count alone.
PAGES = (
    "/search/?q={token}",
    "/search/async/?q={token}",
    "/assistant/?q={token}",
    "/assistant/async/?q={token}",
    "/flags/?visitor={token}",
)
# Panel ids (the class names) of the demo's signal panels.
SIGNAL_PANELS = (
    "FeatureFlagsPanel",
    "ElasticsearchPanel",
    "LLMPanel",
    "RecommendationsPanel",
)

# "tk", hex digits, "z": no other text of the panels looks like that, and no
# token is the start of another. benchmarks/load.lua makes them in this shape too.
TOKEN = re.compile(r"tk[0-9a-f]+z")
# DjDT's render_panel for a request not in the store (its apostrophe is escaped).
UNAVAILABLE = "available anymore"
SERVED_BY = "x-served-by"
# Generous: 2 shared cores start 4 workers of Django and the client libraries.
START_TIMEOUT = 180.0
REQUEST_TIMEOUT = 60.0
MIGRATE_TIMEOUT = 300.0
# Variables that would point the demo at real services (and bill them): the
# sites use the demo's loopback servers, whatever the environment holds.
SERVICE_VARIABLES = re.compile(r"^(OPENAI_|ANTHROPIC_|DEMO_ELASTICSEARCH_)")
# The toolbar data of a request served by another process of a MemoryStore
# site: learning retries the fetch until the page's own worker answers it.
LEARN_ATTEMPTS = 200

_tokens = itertools.count(1)
_tokens_lock = threading.Lock()


def new_token() -> str:
    """A token no other request of this process gets."""
    with _tokens_lock:
        return f"tk{next(_tokens):x}z"


@dataclass(frozen=True)
class Site:
    """A running demo site: 127.0.0.1:``port``, served by ``workers`` processes."""

    port: int
    server: str
    store: str
    workers: int

    def get(self, path: str, timeout: float = REQUEST_TIMEOUT) -> Response:
        """GET ``path`` on a new connection (so any worker may answer)."""
        return servers.get(self.port, path, timeout=timeout)


@dataclass
class Verdict:
    """What one request's signal panels showed, read back from the store."""

    foreign: int = 0  # rows of other requests, or rows beyond the expected count
    missing: int = 0  # expected rows not shown, or shown without the token
    unavailable_panels: list[str] = field(default_factory=list)  # not in the store
    fetched_by: dict[str, str] = field(default_factory=dict)  # panel id -> pid
    errors: list[str] = field(default_factory=list)  # fetches that failed

    @property
    def unavailable(self) -> bool:
        """Some panel's data was not in the store (DjDT's "isn't available")."""
        return bool(self.unavailable_panels)

    @property
    def served_by(self) -> set[str]:
        """The processes that answered the panel fetches."""
        return set(self.fetched_by.values())


@dataclass(frozen=True)
class Expected:
    """The send rows a signal panel shows for one request of a page."""

    rows: int
    with_token: int  # of those, the rows that show the request's token


# Learned once per site: see expected_events().
_expected: dict[Site, dict[str, dict[str, Expected]]] = {}
_expected_lock = threading.Lock()


@contextmanager
def running_site(
    server: str,
    store: str,
    *,
    postgres: PostgresServer,
    redis: RedisServer | None = None,
    workers: int = 4,
    threads: int = 8,
    signal_panels: bool = True,
    cache_size: int = 100_000,
    database: str | None = None,
) -> Iterator[Site]:
    """Serve the demo with ``server`` and DjDT's ``store``; yield the :class:`Site`.

    The site gets a fresh database on ``postgres`` (named ``database``, or a
    unique name), migrated here. The redis store needs ``redis``, which is
    emptied first; other stores do not use it. gunicorn runs ``workers`` gthread processes of ``threads``
    threads; uvicorn ``workers`` processes. ``signal_panels=False`` serves the
    same site without any signal panel. The server runs in a session of its
    own, which is terminated (killed if need be) on exit.
    """
    if server not in SERVERS:
        raise ValueError(f"unknown server {server!r}; known: {', '.join(SERVERS)}")
    if store not in STORES:
        raise ValueError(f"unknown store {store!r}; known: {', '.join(STORES)}")
    if store == "redis" and redis is None:
        raise ValueError("the redis store needs redis=<a RedisServer>")
    redis = redis if store == "redis" else None  # the other stores leave it alone
    name = database or f"deploy_{server}_{store}_{uuid.uuid4().hex[:8]}"
    postgres.create_database(name)
    env = environment(
        store,
        database=postgres.django_database(name),
        redis_url=redis.url if redis is not None else None,
        signal_panels=signal_panels,
        cache_size=cache_size,
    )
    migrate(env)
    if redis is not None:
        redis.flush()
    port = free_port()
    site = Site(port, server, store, workers)
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            server_command(server, port, workers=workers, threads=threads),
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers stop with it, see stop()
        )
        try:
            wait_for_workers(site, process)
            expected_events(site)  # learned now, while nothing else runs
            yield site
        except Exception as error:
            error.add_note(f"--- {server} log (end) ---\n{log_tail(log)}")
            raise
        finally:
            stop(process)
            with _expected_lock:
                _expected.pop(site, None)


def environment(
    store: str,
    *,
    database: dict[str, Any],
    redis_url: str | None,
    signal_panels: bool,
    cache_size: int,
) -> dict[str, str]:
    """The server's environment: ``tests/deployment_settings.py`` reads it."""
    env = {
        name: value
        for name, value in os.environ.items()
        # Not pytest's: the site is no test run (DjDT looks at PYTEST_VERSION).
        if name != "DJANGO_SETTINGS_MODULE"
        and not name.startswith("PYTEST_")
        and not SERVICE_VARIABLES.match(name)
    }
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
        # example/ for the demo package, the root for tests.* and benchmarks.*.
        PYTHONPATH=os.pathsep.join(
            filter(None, [str(MANAGE.parent), str(ROOT), env.get("PYTHONPATH")])
        ),
        DEPLOY_STORE=store,
        DEPLOY_DATABASE=json.dumps(database),
        DEPLOY_CACHE_SIZE=str(cache_size),
        DEPLOY_SIGNAL_PANELS="1" if signal_panels else "0",
    )
    if redis_url is not None:
        env["DEPLOY_REDIS_URL"] = redis_url
    return env


def migrate(env: dict[str, str]) -> None:
    """``manage.py migrate`` with the deployment settings, once per site."""
    done = subprocess.run(
        [sys.executable, str(MANAGE), "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=MIGRATE_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"migrate failed ({done.returncode}):\n{(done.stdout + done.stderr)[-4000:]}"
        )


def server_command(server: str, port: int, *, workers: int, threads: int) -> list[str]:
    if server == "gunicorn":
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "demo.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "120",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
            *gunicorn_extra_options(),
        ]
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "demo.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--lifespan",
        "off",  # Django does not speak the lifespan protocol
        "--log-level",
        "warning",
        "--no-access-log",
    ]


# A toolbar request the toolbar does not record: it asks the store for a request
# that does not exist. So each worker also shows it can reach its store. (An id
# in DjDT's format: DatabaseStore's column is a UUID.)
PROBE = f"/__debug__/render_panel/?request_id={uuid.UUID(int=0).hex}&panel_id=probe"


def wait_for_workers(site: Site, process: subprocess.Popen[bytes]) -> None:
    """Return once ``site.workers`` distinct processes have answered."""
    seen: set[str] = set()

    def probe(_: int) -> Response | None:
        try:
            return site.get(PROBE, timeout=10)
        except (OSError, http.client.HTTPException):
            return None  # not listening yet, or a worker still starting

    deadline = time.monotonic() + START_TIMEOUT
    # Concurrent probes: a worker busy with one cannot take them all.
    with ThreadPoolExecutor(2 * site.workers) as pool:
        while len(seen) < site.workers:
            if process.poll() is not None:
                raise RuntimeError(f"{site.server} exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{len(seen)} of {site.workers} {site.server} workers answered "
                    f"within {START_TIMEOUT:g} s"
                )
            for response in pool.map(probe, range(2 * site.workers)):
                if response is None:
                    continue
                if response.status != 200:  # up but broken: no use waiting
                    raise RuntimeError(
                        f"a {site.server} worker answered HTTP {response.status}"
                    )
                seen.add(response.headers.get(SERVED_BY, "?"))
            time.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server's whole session: the master and every worker."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    # Workers the master left behind, if any, are in its process group still.
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def log_tail(log: BinaryIO, size: int = 6000) -> str:
    # pread: the server shares the file's offset, which must not move.
    end = os.fstat(log.fileno()).st_size
    start = max(0, end - size)
    return os.pread(log.fileno(), end - start, start).decode("utf-8", "replace")


# Verification


def panel_path(request_id: str, panel_id: str) -> str:
    """DjDT's AJAX view that renders one panel of a stored request."""
    query = urlencode({"request_id": request_id, "panel_id": panel_id})
    return f"/__debug__/render_panel/?{query}"


def send_rows(content: str, panel_id: str) -> list[str]:
    """The HTML of each send of a rendered signal panel: its row and details row.

    Not ``tests.pages``: importing it needs Django configured with DjDT, and
    a load client is not. The panel template starts each send with this tag.
    """
    return content.split(f'<tr id="{panel_id}Send_')[1:]


def expected_events(site: Site) -> dict[str, dict[str, int]]:
    """Page template -> signal panel id -> the rows one request of the page shows.

    Learned, not written down, so that a change to a page does not break the
    check: :func:`running_site` requests each page once right after the start,
    one request at a time with nothing else running, and counts the rows of
    each signal panel the toolbar lists, and the rows that show the token.
    """
    return {
        page: {panel_id: expected.rows for panel_id, expected in panels.items()}
        for page, panels in _learned(site).items()
    }


def _learned(site: Site) -> dict[str, dict[str, Expected]]:
    with _expected_lock:
        if site not in _expected:
            _expected[site] = {page: _learn(site, page) for page in PAGES}
        return _expected[site]


def _learn(site: Site, page: str) -> dict[str, Expected]:
    token = new_token()
    response = site.get(page.format(token=token))
    if response.status != 200:
        raise RuntimeError(f"{page}: HTTP {response.status}\n{response.body[:2000]}")
    shown = [p for p in SIGNAL_PANELS if f'id="djdt-{p}"' in response.body]
    learned = {}
    for panel_id in shown:
        for _ in range(LEARN_ATTEMPTS):
            fetched = site.get(panel_path(response.request_id, panel_id))
            if fetched.status != 200:
                raise RuntimeError(f"{page} {panel_id}: HTTP {fetched.status}")
            content = json.loads(fetched.body)["content"]
            if UNAVAILABLE not in content:
                break
            if fetched.headers.get(SERVED_BY) == response.headers.get(SERVED_BY):
                raise RuntimeError(f"{page} {panel_id}: not stored by its own worker")
        else:
            raise RuntimeError(f"{page} {panel_id}: its worker never answered")
        rows = [set(TOKEN.findall(row)) for row in send_rows(content, panel_id)]
        if any(found - {token} for found in rows):
            raise RuntimeError(f"{page} {panel_id}: another token in a quiet request")
        learned[panel_id] = Expected(len(rows), sum(token in found for found in rows))
    return learned


def check_request(site: Site, page: str, token: str, request_id: str) -> Verdict:
    """Read every signal panel of a request of ``page`` made with ``token``.

    A row that shows another request's token is foreign, and so are rows beyond
    the expected count; rows short of it, or fewer rows with the token than
    expected, are missing. A panel the store does not have is unavailable (its
    rows are not counted as missing). Network errors and non-200 answers are
    in ``errors``.
    """
    verdict = Verdict()
    for panel_id, expected in _learned(site)[page].items():
        try:
            response = site.get(panel_path(request_id, panel_id))
        except (OSError, http.client.HTTPException) as error:
            verdict.errors.append(f"{panel_id}: {error!r}")
            continue
        verdict.fetched_by[panel_id] = response.headers.get(SERVED_BY, "?")
        if response.status != 200:
            verdict.errors.append(f"{panel_id}: HTTP {response.status}")
            continue
        content = json.loads(response.body)["content"]
        if UNAVAILABLE in content:
            verdict.unavailable_panels.append(panel_id)
            continue
        rows = [set(TOKEN.findall(row)) for row in send_rows(content, panel_id)]
        foreign = sum(bool(found - {token}) for found in rows)
        own = len(rows) - foreign
        verdict.foreign += foreign + max(0, own - expected.rows)
        with_token = sum(token in found for found in rows)
        verdict.missing += max(0, expected.rows - own, expected.with_token - with_token)
    return verdict
