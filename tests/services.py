"""Private PostgreSQL and Redis servers for tests and benchmarks.

Each server is started from the Debian binaries in a fresh temporary directory,
listens on 127.0.0.1 and a free port, and is stopped and removed on exit. No
system cluster, service or configuration is read or changed, and parallel nox
sessions (or test runs) each get their own servers, so they cannot collide.

- :class:`PostgresServer`: ``initdb`` + ``pg_ctl``; trust auth, superuser
  ``postgres``, durability off (the data is thrown away anyway).
- :class:`RedisServer`: ``redis-server`` without persistence.
- :func:`require`: in a fixture, skips when a binary is missing, or fails in
  CI, where a test that needs a service must never silently skip.
"""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest

HOST = "127.0.0.1"
# Generous: a slow CI machine must not fail a test, and a hung server must.
TIMEOUT = 60.0
INSTALL = "apt-get install postgresql redis-server wrk"
POSTGRES_BINARIES = ("initdb", "pg_ctl", "postgres")


def postgres_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin``, else ``pg_config --bindir``.

    Debian keeps the server binaries off ``PATH``; ``/usr/bin`` only has the
    cluster-managing wrappers, which would use the system's clusters.
    """
    bindirs = [
        Path(path).parent for path in glob.glob("/usr/lib/postgresql/*/bin/initdb")
    ]
    if bindirs:
        return max(bindirs, key=lambda bindir: _version(bindir.parent.name))
    if (pg_config := shutil.which("pg_config")) is not None:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        bindir = Path(result.stdout.strip())
        if result.returncode == 0 and (bindir / "initdb").exists():
            return bindir
    return None


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def find_binary(name: str) -> str | None:
    """The path of a binary, looking in PostgreSQL's bindir for its own."""
    if name in POSTGRES_BINARIES:
        bindir = postgres_bindir()
        path = bindir / name if bindir is not None else None
        return str(path) if path is not None and path.exists() else None
    return shutil.which(name)


def missing_service(*binaries: str) -> str | None:
    """Why these binaries cannot be run, or None when all are installed."""
    missing = [name for name in binaries if find_binary(name) is None]
    if not missing:
        return None
    return f"{', '.join(missing)} not found; install the Debian packages: {INSTALL}"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "false", "0")


def require(*binaries: str) -> None:
    """Skip the calling test or fixture when a binary is missing; fail in CI."""
    if (reason := missing_service(*binaries)) is not None:
        if in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


def free_port() -> int:
    """A port nothing listens on now; the server binds it a moment later.

    The kernel picks ports at random from a large range, so two sessions
    racing for the same one is unlikely enough for tests.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _searchable_by_all(path: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IXOTH for p in (path, *path.parents))


class _Server:
    """Context-manager plumbing: a failed ``start()`` cleans up after itself."""

    directory: Path | None = None

    def start(self) -> Self:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def _remove_directory(self) -> None:
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class PostgresServer(_Server):
    """A throwaway PostgreSQL cluster on ``127.0.0.1:port``, superuser ``postgres``."""

    host = HOST
    user = "postgres"

    def __init__(self) -> None:
        self.port = 0
        self._bindir: Path | None = None

    def _start(self) -> None:
        self._bindir = postgres_bindir()
        if self._bindir is None:
            raise RuntimeError(f"PostgreSQL is not installed: {INSTALL}")
        as_root = os.geteuid() == 0
        # mkdtemp makes a 0o700 directory; as root it is handed to the postgres
        # user, who must also be able to reach it through its parents.
        parent = tempfile.gettempdir()
        if as_root and not _searchable_by_all(Path(parent)):
            parent = "/tmp"
        self.directory = Path(tempfile.mkdtemp(prefix="djdt-postgres-", dir=parent))
        if as_root:
            shutil.chown(self.directory, self.user, self.user)
        self.port = free_port()
        self._run(
            "initdb",
            "--pgdata", str(self._data),
            "--username", self.user,
            "--auth", "trust",
            "--locale", "C",
            "--encoding", "UTF8",
            "--no-sync",  # the cluster lives for one test run
        )  # fmt: skip
        options = [
            "-h", HOST,
            "-p", str(self.port),
            "-k", str(self.directory),  # not the system's /var/run/postgresql
            "-c", "fsync=off",
            "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off",
            "-c", "max_connections=300",
        ]  # fmt: skip
        # pg_ctl starts the server in the background and waits until it is
        # ready; -l keeps it off our pipes (or run() would wait for it too).
        self._run(
            "pg_ctl", "start", "--wait", "--timeout", str(int(TIMEOUT)),
            "--pgdata", str(self._data),
            "--log", str(self._log),
            "-o", shlex.join(options),
        )  # fmt: skip

    def stop(self) -> None:
        try:
            if self.directory is not None and (self._data / "postmaster.pid").exists():
                # Fast shutdown disconnects clients; immediate if even that fails.
                try:
                    self._pg_ctl_stop("fast")
                except (RuntimeError, subprocess.TimeoutExpired):
                    self._pg_ctl_stop("immediate")
        finally:
            self._remove_directory()

    def _pg_ctl_stop(self, mode: str) -> None:
        self._run("pg_ctl", "stop", "--wait", "--pgdata", str(self._data), "-m", mode)

    @property
    def _data(self) -> Path:
        assert self.directory is not None
        return self.directory / "data"

    @property
    def _log(self) -> Path:
        assert self.directory is not None
        return self.directory / "postgres.log"

    def _run(self, binary: str, *args: str) -> None:
        assert self._bindir is not None and self.directory is not None
        command = [str(self._bindir / binary), *args]
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root.
            command = ["runuser", "-u", self.user, "--", *command]
        result = subprocess.run(
            command,
            cwd=self.directory,  # the postgres user may not be able to read ours
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT + 10,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{shlex.join(command)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}\n"
                f"--- server log ---\n{_log_tail(self._log)}"
            )

    def conninfo(self, dbname: str = "postgres") -> str:
        return f"host={HOST} port={self.port} user={self.user} dbname={dbname}"

    def create_database(self, name: str) -> None:
        """Create an empty database ``name``, dropping any earlier one."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.conninfo(), autocommit=True) as connection:
            database = sql.Identifier(name)
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(database)
            )
            connection.execute(sql.SQL("CREATE DATABASE {}").format(database))

    def django_database(self, name: str) -> dict[str, Any]:
        """A ``DATABASES`` entry for database ``name`` on this server."""
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": self.user,
            "PASSWORD": "",
            "HOST": HOST,
            "PORT": str(self.port),
            "TEST": {"NAME": f"test_{name}"},
        }


class RedisServer(_Server):
    """A throwaway ``redis-server`` on ``127.0.0.1:port`` without persistence."""

    def __init__(self) -> None:
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def _start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(f"redis-server is not installed: {INSTALL}")
        self.directory = Path(tempfile.mkdtemp(prefix="djdt-redis-"))
        self.port = free_port()
        log = self.directory / "redis.log"
        command = [
            binary,
            "--bind", HOST,
            "--port", str(self.port),
            "--save", "",  # no snapshots
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--daemonize", "no",  # stays our child, so we can stop it
        ]  # fmt: skip
        with log.open("wb") as output:  # the child keeps its own copy
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + TIMEOUT
        while not self._ping():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"redis-server did not start (exit code {self._process.poll()}):"
                    f"\n{_log_tail(log)}"
                )
            time.sleep(0.02)

    def _ping(self) -> bool:
        import redis

        try:
            with redis.Redis.from_url(
                self.url, socket_timeout=1, socket_connect_timeout=1
            ) as client:
                return bool(client.ping())
        except (redis.ConnectionError, redis.TimeoutError):
            return False

    def flush(self) -> None:
        """Delete every key of every database."""
        import redis

        with redis.Redis.from_url(self.url) as client:
            client.flushall()

    def stop(self) -> None:
        if self._process is not None:
            # SIGTERM: a clean shutdown (nothing to save); SIGKILL if it hangs.
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        self._remove_directory()
