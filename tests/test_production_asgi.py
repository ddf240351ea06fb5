"""The middleware and handler500 under a real ASGI server (uvicorn on 127.0.0.1)."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import signals
from django.core.cache import caches
from django.test import Client, override_settings

from tests import production_settings
from tests.servers import HOST, TIMEOUT, AsgiServer, Response
from tests.thread_connections import close_thread_connections_fixture  # noqa: F401

PRODUCTION = {
    "DEBUG": False,
    "ALLOWED_HOSTS": production_settings.ALLOWED_HOSTS,
    "ROOT_URLCONF": production_settings.ROOT_URLCONF,
    "MIDDLEWARE": production_settings.MIDDLEWARE,
    "SESSION_ENGINE": production_settings.SESSION_ENGINE,
    "TECHNICAL_ERRORS": {"GROUPS": ["Technical Errors"]},
}


@pytest.fixture
def server(
    transactional_db: None, close_thread_connections: None
) -> Iterator[AsgiServer]:
    """uvicorn serving the production project; the server's threads see committed rows."""
    caches["default"].clear()
    with override_settings(**PRODUCTION), AsgiServer() as running:
        yield running
    caches["default"].clear()


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def get(port: int, path: str, cookie: str | None = None) -> Response:
    connection = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
    headers = {"Connection": "close"}
    if cookie:
        headers["Cookie"] = cookie
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read().decode()
        return Response(
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            body,
        )
    finally:
        connection.close()


@pytest.fixture
def trusted() -> str:
    from django.contrib.auth.models import Group

    user = User.objects.create_superuser("root")
    user.groups.add(Group.objects.create(name="Technical Errors"))
    return session_cookie(user)


@pytest.fixture
def sent() -> Iterator[list[Any]]:
    seen: list[Any] = []

    def receiver(sender: Any, request: Any = None, **kwargs: Any) -> None:
        seen.append(request.path)

    signals.got_request_exception.connect(receiver, dispatch_uid=__name__)
    yield seen
    signals.got_request_exception.disconnect(dispatch_uid=__name__)


@pytest.mark.parametrize(
    ("path", "exception"),
    [
        ("/async-boom/", "Boom"),  # async view
        ("/boom/", "Boom"),  # sync view under ASGI
        ("/middleware-error/", "MiddlewareBoom"),  # through handler500
    ],
)
def test_trusted_user_gets_the_page(
    server: AsgiServer, trusted: str, sent: list[Any], path: str, exception: str
) -> None:
    # Twice: a cold and then a warm membership cache.
    for _ in range(2):
        response = get(server.port, path, trusted)
        assert response.status == 500
        assert f"<h1>{exception}" in response.body
        assert "no-store" in response.headers["cache-control"]
        assert "form-action 'none'" in response.headers["content-security-policy"]

    assert sent == [path, path]


@pytest.mark.parametrize("path", ["/async-boom/", "/boom/", "/middleware-error/"])
def test_others_get_the_normal_page(
    server: AsgiServer, sent: list[Any], path: str
) -> None:
    superuser_outside_group = session_cookie(User.objects.create_superuser("other"))

    for cookie in (None, superuser_outside_group):
        response = get(server.port, path, cookie)
        assert response.status == 500
        assert "<h1>Server Error (500)</h1>" in response.body
        assert "traceback" not in response.body

    assert sent == [path, path]
