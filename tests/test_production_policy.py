"""is_trusted and ais_trusted: who may see technical pages, sync and async alike."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.core.cache import caches
from django.db import OperationalError, connection
from django.http import HttpRequest
from django.test import RequestFactory, override_settings
from django.utils.functional import SimpleLazyObject

from djdt_signalpanels.production import ais_trusted, client_ip, is_trusted

GROUP = "Technical Errors"


@pytest.fixture(autouse=True)
def clean_cache(db: None) -> Iterator[None]:
    caches["default"].clear()
    yield
    caches["default"].clear()


def request_for(user: Any, remote_addr: str = "127.0.0.1", **meta: str) -> HttpRequest:
    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr, **meta)
    if user is not ...:
        request.user = user
    return request


Decide = Callable[[HttpRequest], bool]


def run_async(request: HttpRequest) -> bool:
    return async_to_sync(ais_trusted)(request)


@pytest.fixture(params=["sync", "async"])
def decide(request: pytest.FixtureRequest) -> Decide:
    return is_trusted if request.param == "sync" else run_async


@pytest.fixture
def superuser() -> User:
    return User.objects.create_superuser("root")


# Users


def test_users(decide: Decide) -> None:
    plain = User.objects.create_user("plain")
    staff = User.objects.create_user("staff", is_staff=True)
    root = User.objects.create_superuser("root")
    gone = User.objects.create_superuser("gone", is_active=False)

    assert not decide(request_for(AnonymousUser()))
    assert not decide(request_for(plain))
    assert not decide(request_for(staff))
    assert decide(request_for(root))
    assert not decide(request_for(gone))


def test_groups_and_superuser_combine_with_and(decide: Decide) -> None:
    group = Group.objects.create(name=GROUP)
    member = User.objects.create_user("member")
    member.groups.add(group)
    root = User.objects.create_superuser("root")
    root_member = User.objects.create_superuser("root-member")
    root_member.groups.add(group)

    with override_settings(TECHNICAL_ERRORS={"GROUPS": [GROUP]}):
        assert [decide(request_for(u)) for u in (member, root, root_member)] == [
            False,
            False,
            True,
        ]
    with override_settings(TECHNICAL_ERRORS={"SUPERUSER": False, "GROUPS": [GROUP]}):
        assert [decide(request_for(u)) for u in (member, root, root_member)] == [
            True,
            False,
            True,
        ]


def test_any_of_several_groups(decide: Decide) -> None:
    user = User.objects.create_user("oncall")
    user.groups.add(Group.objects.create(name="On call"))

    with override_settings(
        TECHNICAL_ERRORS={"SUPERUSER": False, "GROUPS": [GROUP, "On call"]}
    ):
        assert decide(request_for(user))
    with override_settings(TECHNICAL_ERRORS={"SUPERUSER": False, "GROUPS": [GROUP]}):
        assert not decide(request_for(user))


def test_permission(decide: Decide) -> None:
    user = User.objects.create_user("viewer")
    permission = Permission.objects.get(codename="view_group")
    config = {"SUPERUSER": False, "PERMISSION": "auth.view_group"}

    with override_settings(TECHNICAL_ERRORS=config):
        assert not decide(request_for(User.objects.get(pk=user.pk)))
        user.user_permissions.add(permission)
        # A fresh user object: Django caches permissions on the instance.
        assert decide(request_for(User.objects.get(pk=user.pk)))
    both = {**config, "PERMISSION": ["auth.view_group", "auth.change_group"]}
    with override_settings(TECHNICAL_ERRORS=both):
        assert not decide(request_for(User.objects.get(pk=user.pk)))


def test_staff(decide: Decide) -> None:
    staff = User.objects.create_user("staff", is_staff=True)
    plain = User.objects.create_user("plain")

    with override_settings(TECHNICAL_ERRORS={"SUPERUSER": False, "STAFF": True}):
        assert decide(request_for(staff))
        assert not decide(request_for(plain))


# Addresses


@pytest.mark.parametrize(
    ("remote_addr", "allowed"),
    [
        ("10.1.2.3", True),
        ("192.0.2.7", True),
        ("192.0.2.8", False),
        ("2001:db8::1", True),
        ("::ffff:10.9.9.9", True),  # an IPv4 client on an IPv6 socket
        ("203.0.113.5", False),
        ("not an address", False),
    ],
)
def test_ip_allowlist(
    decide: Decide, superuser: User, remote_addr: str, allowed: bool
) -> None:
    config = {"IP_ALLOWLIST": ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]}
    with override_settings(TECHNICAL_ERRORS=config):
        assert decide(request_for(superuser, remote_addr)) is allowed


def test_x_forwarded_for_is_ignored_without_trusted_proxies(
    decide: Decide, superuser: User
) -> None:
    with override_settings(TECHNICAL_ERRORS={"IP_ALLOWLIST": ["10.0.0.0/8"]}):
        request = request_for(superuser, "203.0.113.5", HTTP_X_FORWARDED_FOR="10.0.0.1")
        assert not decide(request)


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (0, "10.0.0.1", "198.51.100.1"),  # REMOTE_ADDR, the header ignored
        (1, "10.0.0.1", "10.0.0.1"),
        (1, "10.0.0.1, 203.0.113.9", "203.0.113.9"),  # the client forged the first
        (2, "10.0.0.1, 203.0.113.9, 172.16.0.2", "203.0.113.9"),
        (2, "203.0.113.9", None),  # fewer entries than proxies
        (1, "", None),
        (1, "garbage", None),
        (1, "[2001:db8::7]:443", "2001:db8::7"),
    ],
)
def test_client_ip(proxies: int, forwarded_for: str, expected: str | None) -> None:
    request = request_for(..., "198.51.100.1", HTTP_X_FORWARDED_FOR=forwarded_for)

    address = client_ip(request, proxies)

    assert address == (ipaddress.ip_address(expected) if expected else None)


def test_trusted_proxies_in_the_policy(decide: Decide, superuser: User) -> None:
    config = {"IP_ALLOWLIST": ["10.0.0.0/8"], "TRUSTED_PROXIES": 1}
    with override_settings(TECHNICAL_ERRORS=config):
        # The proxy at 172.16.0.2 appended the real client address.
        assert decide(
            request_for(superuser, "172.16.0.2", HTTP_X_FORWARDED_FOR="10.0.0.1")
        )
        # A forged entry on the left does not help an outside client.
        assert not decide(
            request_for(
                superuser, "172.16.0.2", HTTP_X_FORWARDED_FOR="10.0.0.1, 203.0.113.9"
            )
        )


# CALLABLE


def allow_if_header(request: HttpRequest) -> bool:
    return request.headers.get("X-Allow") == "yes"


async def async_allow_if_header(request: HttpRequest) -> bool:
    return request.headers.get("X-Allow") == "yes"


def truthy_not_true(request: HttpRequest) -> Any:
    return "yes"


def raises(request: HttpRequest) -> bool:
    raise RuntimeError("policy service down")


@pytest.mark.parametrize("check", ["allow_if_header", "async_allow_if_header"])
def test_callable(decide: Decide, superuser: User, check: str) -> None:
    with override_settings(TECHNICAL_ERRORS={"CALLABLE": f"{__name__}.{check}"}):
        assert decide(request_for(superuser, HTTP_X_ALLOW="yes"))
        assert not decide(request_for(superuser, HTTP_X_ALLOW="no"))


def test_callable_must_return_true(decide: Decide, superuser: User) -> None:
    with override_settings(
        TECHNICAL_ERRORS={"CALLABLE": f"{__name__}.truthy_not_true"}
    ):
        assert not decide(request_for(superuser))


def test_callable_that_raises_means_no(
    decide: Decide, superuser: User, caplog: pytest.LogCaptureFixture
) -> None:
    with override_settings(TECHNICAL_ERRORS={"CALLABLE": f"{__name__}.raises"}):
        assert not decide(request_for(superuser))

    [record] = [r for r in caplog.records if r.name == "djdt_signalpanels.production"]
    assert record.levelname == "WARNING"
    assert "policy service down" in record.getMessage()


# Failures mean "no", with a warning, never an exception


@pytest.mark.parametrize(
    "setting",
    [
        "Technical Errors",
        {"GROUPS": "Technical Errors"},
        {"SUPERUSER": "yes"},
        {"IP_ALLOWLIST": ["10.0.0.300"]},
        {"CALLABLE": "tests.no_such_module.check"},
        {"UNKNOWN": True},
    ],
)
def test_malformed_setting_means_no(
    decide: Decide, superuser: User, caplog: pytest.LogCaptureFixture, setting: Any
) -> None:
    with override_settings(TECHNICAL_ERRORS=setting):
        assert not decide(request_for(superuser))

    assert "Technical error page refused" in caplog.text
    assert "ImproperlyConfigured" in caplog.text


def test_no_user_attribute_means_no(
    decide: Decide, caplog: pytest.LogCaptureFixture
) -> None:
    assert not decide(request_for(...))

    assert "the request has no user" in caplog.text


def test_database_failure_means_no(
    decide: Decide, superuser: User, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(*args: Any) -> Any:
        raise OperationalError("database server unreachable")

    lazy_user = SimpleLazyObject(lambda: User.objects.get(pk=superuser.pk))
    with connection.execute_wrapper(fail):
        assert not decide(request_for(lazy_user))

    assert "database server unreachable" in caplog.text


def test_ais_trusted_awaits_auser(superuser: User) -> None:
    """Under ASGI the user comes from ``request.auser()``, never the sync lazy object."""

    def must_not_load() -> Any:
        raise AssertionError("request.user was evaluated in async code")

    async def auser() -> User:
        return superuser

    request = request_for(SimpleLazyObject(must_not_load))
    request.auser = auser  # type: ignore[attr-defined]

    assert async_to_sync(ais_trusted)(request)
