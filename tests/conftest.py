from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.servers import AsgiServer
from tests.services import (
    POSTGRES_BINARIES,
    PostgresServer,
    RedisServer,
    find_binary,
    require,
)


@pytest.fixture(scope="session", autouse=True)
def _debug_mode(django_test_environment: None) -> None:
    """Run with ``DEBUG = True``, as the toolbar needs; pytest-django sets it False.

    The URLconf is loaded here too: ``debug_toolbar_urls()`` adds the toolbar's
    URLs only when DEBUG is True at import time, so no test may import it first
    with DEBUG off. A test can still set ``settings.DEBUG = False`` for itself.
    """
    from django.conf import settings
    from django.urls import get_resolver

    settings.DEBUG = True
    get_resolver().url_patterns  # noqa: B018  imports tests.urls now


@pytest.fixture
def toolbar_config(settings: Any) -> Callable[..., None]:
    """Change some ``DEBUG_TOOLBAR_CONFIG`` options for one test.

    Goes through pytest-django's ``settings``, so DjDT's cached config is
    cleared (on ``setting_changed``) now and after the test.
    """

    def configure(**options: Any) -> None:
        settings.DEBUG_TOOLBAR_CONFIG = {**settings.DEBUG_TOOLBAR_CONFIG, **options}

    return configure


@pytest.fixture
def asgi_server() -> Iterator[AsgiServer]:
    """uvicorn serving the test project on 127.0.0.1, in this process."""
    with AsgiServer() as server:
        yield server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A private PostgreSQL server for the whole run; see ``tests/services.py``."""
    require(*POSTGRES_BINARIES)
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A private Redis server for the whole run; see ``tests/services.py``."""
    require("redis-server")
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of the session's Redis server, emptied for this test."""
    redis_server.flush()
    return redis_server.url


@pytest.fixture(scope="session")
def wrk() -> str:
    """The path of the ``wrk`` load generator."""
    require("wrk")
    path = find_binary("wrk")
    assert path is not None
    return path
