"""A fixture for the tests whose servers and worker threads open database connections.

A module uses it by importing it::

    from tests.thread_connections import close_thread_connections_fixture  # noqa: F401
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db.backends.signals import connection_created


@pytest.fixture(name="close_thread_connections")
def close_thread_connections_fixture() -> Iterator[None]:
    """Closes the database connections that server and worker threads opened.

    Django never closes an in-memory SQLite connection (that would drop the
    test database), and Python 3.13 warns about each one left to the garbage
    collector.
    """
    opened: list[Any] = []
    main = threading.get_ident()

    def created(sender: Any, connection: Any, **kwargs: Any) -> None:
        if threading.get_ident() != main:
            opened.append(connection)

    connection_created.connect(created, dispatch_uid=__name__)
    try:
        yield
    finally:
        connection_created.disconnect(dispatch_uid=__name__)
        for wrapper in opened:
            if wrapper.connection is not None:
                wrapper.connection.close()
                wrapper.connection = None
