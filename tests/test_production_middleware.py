"""TechnicalErrorMiddleware through Django's test Client and AsyncClient, DEBUG off.

Who gets the page, against sync and async views and exceptions raised in
middleware and URL resolution; reporting exactly once; queries with a cold and
a warm cache; cache and database outages; steps aside for DEBUG.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import django
import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.contrib.auth.models import Group, User
from django.core import signals
from django.core.cache import BaseCache, caches
from django.db import OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, override_settings
from django.test.utils import CaptureQueriesContext

from djdt_signalpanels.production import TechnicalErrorMiddleware
from djdt_signalpanels.production.reporting import EXPLANATION
from tests import production_settings, production_urls
from tests.production_views import Boom, MiddlewareBoom, Unprintable
from tests.thread_connections import close_thread_connections_fixture  # noqa: F401

PRODUCTION = {
    "DEBUG": False,
    "ALLOWED_HOSTS": production_settings.ALLOWED_HOSTS,
    "ROOT_URLCONF": production_settings.ROOT_URLCONF,
    "MIDDLEWARE": production_settings.MIDDLEWARE,
    "SESSION_ENGINE": production_settings.SESSION_ENGINE,
    "TECHNICAL_ERRORS": production_settings.TECHNICAL_ERRORS,
}
GROUP = "Technical Errors"
SUPERUSER_AND_GROUP = {"SUPERUSER": True, "GROUPS": [GROUP]}
GROUP_ONLY = {"SUPERUSER": False, "GROUPS": [GROUP]}


@pytest.fixture(autouse=True)
def production(db: None) -> Iterator[None]:
    caches["default"].clear()
    with override_settings(**PRODUCTION):
        yield
    caches["default"].clear()


@pytest.fixture
def users() -> dict[str, User | None]:
    group = Group.objects.create(name=GROUP)
    member = User.objects.create_user("member")
    member.groups.add(group)
    superuser_member = User.objects.create_superuser("root-member")
    superuser_member.groups.add(group)
    return {
        "anonymous": None,
        "user": User.objects.create_user("user"),
        "staff": User.objects.create_user("staff", is_staff=True),
        "superuser": User.objects.create_superuser("root"),
        "inactive superuser": User.objects.create_superuser("gone", is_active=False),
        "group member": member,
        "superuser in group": superuser_member,
    }


def client_for(user: User | None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def get(
    user: User | None, path: str, *, mode: str = "sync", **extra: Any
) -> HttpResponse:
    """GET ``path`` as ``user`` through the sync Client or the AsyncClient."""
    client = client_for(user)
    if mode == "sync":
        return client.get(path, **extra)
    async_client = AsyncClient(raise_request_exception=False)
    async_client.cookies = client.cookies
    # async_to_sync keeps thread-sensitive code (the ORM) in this thread, the
    # one holding the test's transaction.
    response: HttpResponse = async_to_sync(async_client.get)(path, **extra)
    return response


def is_technical(response: HttpResponse) -> bool:
    assert response.status_code == 500, response.status_code
    body = response.content.decode()
    if '<div id="traceback">' in body:
        assert EXPLANATION in body
        return True
    assert "<h1>Server Error (500)</h1>" in body, body[:500]
    return False


# Who sees the page

INACTIVE_OK = override_settings(
    AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.AllowAllUsersModelBackend"]
)

EXPECTED = {
    # policy name: (TECHNICAL_ERRORS, users who get the technical page)
    "default: superusers": ({}, {"superuser", "superuser in group"}),
    "superuser and group": (SUPERUSER_AND_GROUP, {"superuser in group"}),
    "group only": (GROUP_ONLY, {"group member", "superuser in group"}),
    # Superusers made by create_superuser() are staff too.
    "staff": (
        {"SUPERUSER": False, "STAFF": True},
        {"staff", "superuser", "superuser in group"},
    ),
}
USER_KINDS = [
    "anonymous",
    "user",
    "staff",
    "superuser",
    "inactive superuser",
    "group member",
    "superuser in group",
]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("policy", list(EXPECTED))
def test_who_sees_the_page(
    users: dict[str, User | None], policy: str, mode: str
) -> None:
    config, allowed = EXPECTED[policy]
    path = "/boom/" if mode == "sync" else "/async-boom/"
    seen = set()
    # Keeps inactive users logged in, so that the policy itself must refuse them.
    with INACTIVE_OK, override_settings(TECHNICAL_ERRORS=config):
        for kind in USER_KINDS:
            if is_technical(get(users[kind], path, mode=mode)):
                seen.add(kind)
    assert seen == allowed


def test_the_inactive_superuser_is_logged_in(users: dict[str, User | None]) -> None:
    # Guards the test above: the refusal comes from the policy, not the backend.
    with INACTIVE_OK:
        client = client_for(users["inactive superuser"])
        request = client.get("/ok/").wsgi_request
        assert request.user == users["inactive superuser"]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(("path", "status"), [("/not-found/", 404), ("/denied/", 403)])
def test_client_errors_pass_through(
    users: dict[str, User | None], mode: str, path: str, status: int
) -> None:
    response = get(users["superuser"], path, mode=mode)

    assert response.status_code == status
    assert b"traceback" not in response.content


def test_template_rendering_error(users: dict[str, User | None]) -> None:
    response = get(users["superuser"], "/template-boom/")

    assert is_technical(response)
    assert b"template rendering failed" in response.content


# Exceptions raised outside the view


# Under ASGI Django runs handler500 in a thread of its own, with a database
# connection of its own: it must see committed users.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_thread_connections")
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    ("path", "exception"),
    [("/middleware-error/", "MiddlewareBoom"), ("/resolve/abc/", "ConverterBoom")],
)
def test_middleware_and_resolver_errors_through_handler500(
    users: dict[str, User | None], mode: str, path: str, exception: str
) -> None:
    response = get(users["superuser"], path, mode=mode)

    assert is_technical(response)
    assert f"<h1>{exception}".encode() in response.content
    assert not is_technical(get(users["user"], path, mode=mode))


@pytest.mark.parametrize("path", ["/middleware-error/", "/resolve/abc/"])
def test_without_handler500_the_middleware_never_sees_them(
    users: dict[str, User | None], monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.delattr(production_urls, "handler500")

    assert not is_technical(get(users["superuser"], path))
    assert is_technical(get(users["superuser"], "/boom/"))


# Stepping aside


def test_steps_aside_with_debug(users: dict[str, User | None]) -> None:
    with override_settings(DEBUG=True):
        response = get(users["user"], "/boom/")

    # Django's own DEBUG page, for everyone, untouched.
    assert response.status_code == 500
    assert b"DEBUG = True" in response.content
    assert "Content-Security-Policy" not in response.headers


def test_steps_aside_with_debug_propagate_exceptions(
    users: dict[str, User | None],
) -> None:
    with override_settings(DEBUG_PROPAGATE_EXCEPTIONS=True), pytest.raises(Boom):
        get(users["superuser"], "/boom/")


def test_healthy_request_passes_through_unchanged(
    users: dict[str, User | None],
) -> None:
    client = client_for(users["superuser"])
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/ok/")

    assert response.content == b"fine"
    assert "Content-Security-Policy" not in response.headers
    assert len(queries) == 0


def test_is_sync_and_async_capable() -> None:
    def sync_get_response(request: HttpRequest) -> HttpResponse:
        return HttpResponse("sync")

    async def async_get_response(request: HttpRequest) -> HttpResponse:
        return HttpResponse("async")

    assert TechnicalErrorMiddleware.sync_capable
    assert TechnicalErrorMiddleware.async_capable
    sync_middleware = TechnicalErrorMiddleware(sync_get_response)
    async_middleware = TechnicalErrorMiddleware(async_get_response)
    # As Django's handler tells them apart when it builds the chain.
    assert not iscoroutinefunction(sync_middleware)
    assert iscoroutinefunction(async_middleware)
    request = HttpRequest()
    assert sync_middleware(request).content == b"sync"
    assert asyncio.run(async_middleware(request)).content == b"async"


THREADS: list[tuple[str, bool]] = []


def record_thread(request: HttpRequest) -> bool:
    """A CALLABLE policy that notes whether it runs inside an event loop."""
    try:
        asyncio.get_running_loop()
        in_loop = True
    except RuntimeError:
        in_loop = False
    THREADS.append((threading.current_thread().name, in_loop))
    return True


def test_async_view_decides_outside_the_event_loop(
    users: dict[str, User | None],
) -> None:
    THREADS.clear()
    path = f"{__name__}.record_thread"
    with override_settings(TECHNICAL_ERRORS={"CALLABLE": path, "GROUPS": [GROUP]}):
        response = get(users["superuser in group"], "/async-boom/", mode="async")

    assert is_technical(response)
    # The group lookup and the callable ran in a worker thread: blocking
    # cache and database calls there never stall the event loop.
    assert [in_loop for _, in_loop in THREADS] == [False]


# Reporting exactly once


@pytest.fixture
def reports() -> Iterator[dict[str, list[Any]]]:
    """What got_request_exception receivers and django.request handlers receive."""
    import sys

    seen: dict[str, list[Any]] = {"signal": [], "log": []}

    def receiver(sender: Any, request: Any = None, **kwargs: Any) -> None:
        # Sentry and the test client read sys.exc_info() in their receivers.
        seen["signal"].append((request, sys.exc_info()[1]))

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen["log"].append(record)

    handler = Collect(level=logging.DEBUG)
    logger = logging.getLogger("django.request")
    signals.got_request_exception.connect(receiver, dispatch_uid=__name__)
    logger.addHandler(handler)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)
        signals.got_request_exception.disconnect(dispatch_uid=__name__)


def assert_reported_once(
    reports: dict[str, list[Any]], exception_type: type[BaseException], path: str
) -> None:
    [(request, exception)] = reports["signal"]
    assert request.path == path
    assert isinstance(exception, exception_type)
    [record] = reports["log"]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == f"Internal Server Error: {path}"
    assert record.exc_info is not None
    assert record.exc_info[1] is exception
    assert record.status_code == 500  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("who", ["superuser", "user"])
def test_reported_exactly_once(
    users: dict[str, User | None], reports: dict[str, list[Any]], mode: str, who: str
) -> None:
    path = "/boom/" if mode == "sync" else "/async-boom/"

    response = get(users[who], path, mode=mode)

    assert is_technical(response) == (who == "superuser")
    assert_reported_once(reports, Boom, path)


@pytest.mark.parametrize("path", ["/middleware-error/", "/boom/"])
def test_reported_once_in_handler500_mode(
    users: dict[str, User | None], reports: dict[str, list[Any]], path: str
) -> None:
    response = get(users["superuser"], path)

    assert is_technical(response)
    assert_reported_once(
        reports, MiddlewareBoom if "middleware" in path else Boom, path
    )


def test_admins_get_one_email(
    users: dict[str, User | None], mailoutbox: list[Any]
) -> None:
    mail: dict[str, Any] = {
        "ADMINS": ["ops@example.com"]
        if django.VERSION >= (6, 0)
        else [("Ops", "ops@example.com")]
    }
    if django.VERSION >= (6, 1):  # sending without MAILERS is deprecated
        mail["MAILERS"] = {
            "default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
        }
    with override_settings(**mail):
        assert is_technical(get(users["superuser"], "/boom/"))

    [message] = mailoutbox
    assert message.to == ["ops@example.com"]
    assert "Internal Server Error: /boom/" in message.subject
    assert "Traceback (most recent call last)" in message.body
    assert "view failed for no page" in message.body


def test_render_failure_serves_the_normal_page(
    users: dict[str, User | None],
    reports: dict[str, list[Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # str() of this exception raises, so its technical page cannot render.
    response = get(users["superuser"], "/unprintable/")

    assert not is_technical(response)
    assert_reported_once(reports, Unprintable, "/unprintable/")
    assert "Could not render the technical error page" in caplog.text


# Queries and the membership cache


def test_queries_with_a_cold_and_a_warm_cache(users: dict[str, User | None]) -> None:
    member = users["superuser in group"]
    with override_settings(TECHNICAL_ERRORS=SUPERUSER_AND_GROUP):
        client = client_for(member)
        with CaptureQueriesContext(connection) as cold:
            assert is_technical(client.get("/user-boom/"))
        with CaptureQueriesContext(connection) as warm:
            assert is_technical(client.get("/user-boom/"))
        with CaptureQueriesContext(connection) as healthy:
            assert client.get("/ok/").status_code == 200

    # The view loads the user; the cold error path adds one query for the
    # user's groups, the warm one none, a healthy request none at all.
    [load_user, load_groups] = [query["sql"] for query in cold]
    assert '"auth_user"' in load_user and "auth_group" not in load_user
    assert '"auth_group"' in load_groups
    assert [query["sql"] for query in warm] == [load_user]
    assert len(healthy) == 0


def test_superuser_policy_needs_no_group_query(users: dict[str, User | None]) -> None:
    client = client_for(users["superuser"])
    with CaptureQueriesContext(connection) as queries:
        assert is_technical(client.get("/user-boom/"))

    assert len(queries) == 1  # the view's own user load


class BrokenCache(BaseCache):
    """A cache server that is down: every call raises."""

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)

    def _down(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("cache server unreachable")

    add = get = set = touch = delete = clear = has_key = incr = _down
    get_many = set_many = delete_many = _down


BROKEN_CACHES = {"default": {"BACKEND": f"{__name__}.BrokenCache"}}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_cache_outage_serves_the_normal_page(
    users: dict[str, User | None],
    reports: dict[str, list[Any]],
    caplog: pytest.LogCaptureFixture,
    mode: str,
) -> None:
    path = "/boom/" if mode == "sync" else "/async-boom/"
    with override_settings(CACHES=BROKEN_CACHES, TECHNICAL_ERRORS=SUPERUSER_AND_GROUP):
        response = get(users["superuser in group"], path, mode=mode)

    assert not is_technical(response)
    assert_reported_once(reports, Boom, path)
    assert "cache server unreachable" in caplog.text
    assert "Technical error page refused" in caplog.text


def test_cache_outage_does_not_affect_a_policy_without_groups(
    users: dict[str, User | None],
) -> None:
    with override_settings(CACHES=BROKEN_CACHES):
        assert is_technical(get(users["superuser"], "/boom/"))


def failing_queries(fails: Callable[[str], bool]) -> Any:
    """A context manager: the queries ``fails`` picks raise, as with a database down."""

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if fails(sql):
            raise OperationalError("database server unreachable")
        return execute(sql, params, many, context)

    return connection.execute_wrapper(wrapper)


@pytest.mark.parametrize(
    ("config", "path", "fails"),
    [
        # Every query fails: the user cannot load.
        ({}, "/boom/", lambda sql: True),
        (SUPERUSER_AND_GROUP, "/boom/", lambda sql: True),
        # The view loaded the user; the groups query fails.
        (SUPERUSER_AND_GROUP, "/user-boom/", lambda sql: "auth_group" in sql),
    ],
    ids=["user", "user-with-groups", "groups"],
)
def test_database_outage_serves_the_normal_page(
    users: dict[str, User | None],
    reports: dict[str, list[Any]],
    caplog: pytest.LogCaptureFixture,
    config: dict[str, Any],
    path: str,
    fails: Callable[[str], bool],
) -> None:
    client = client_for(users["superuser in group"])
    with override_settings(TECHNICAL_ERRORS=config), failing_queries(fails):
        response = client.get(path)

    assert not is_technical(response)
    assert_reported_once(reports, Boom, path)
    assert "database server unreachable" in caplog.text


def test_missing_auth_middleware(
    users: dict[str, User | None],
    reports: dict[str, list[Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    middleware = [
        path
        for path in production_settings.MIDDLEWARE
        if not path.endswith("AuthenticationMiddleware")
    ]
    client = client_for(users["superuser"])
    with override_settings(MIDDLEWARE=middleware):
        response = client.get("/boom/")

    # No AttributeError of its own: the normal page, the original exception.
    assert not is_technical(response)
    assert_reported_once(reports, Boom, "/boom/")
    assert "the request has no user" in caplog.text


# Audit


@pytest.fixture
def audit_records() -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect(level=logging.DEBUG)
    logger = logging.getLogger("djdt_signalpanels.production.audit")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


@pytest.mark.parametrize(
    ("path", "mode", "exception"),
    [
        ("/boom/", "middleware", "tests.production_views.Boom"),
        ("/middleware-error/", "handler500", "tests.production_views.MiddlewareBoom"),
    ],
)
def test_audit_record(
    users: dict[str, User | None],
    audit_records: list[logging.LogRecord],
    path: str,
    mode: str,
    exception: str,
) -> None:
    superuser = users["superuser"]
    assert superuser is not None
    before = datetime.now().astimezone()

    assert is_technical(get(superuser, path, REMOTE_ADDR="192.0.2.9"))

    [record] = audit_records
    assert record.name == "djdt_signalpanels.production.audit"
    assert record.levelno == logging.WARNING
    fields = vars(record)
    assert fields["user_id"] == superuser.pk
    assert fields["path"] == path
    assert fields["method"] == "GET"
    assert fields["exception_class"] == exception
    assert fields["client_ip"] == "192.0.2.9"
    assert fields["mode"] == mode
    assert datetime.fromisoformat(fields["served_at"]) >= before.replace(microsecond=0)
    message = record.getMessage()
    assert (
        f"user {superuser.pk}" in message and path in message and exception in message
    )


def test_no_audit_record_when_refused(
    users: dict[str, User | None], audit_records: list[logging.LogRecord]
) -> None:
    assert not is_technical(get(users["staff"], "/boom/"))
    assert not is_technical(get(users["staff"], "/middleware-error/"))

    assert audit_records == []
