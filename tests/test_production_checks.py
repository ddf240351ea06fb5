"""System checks djdt_signalpanels.E101 to E117 and W101 to W105: each fires, with a hint."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, Warning, run_checks
from django.core.management import call_command
from django.test import override_settings

from djdt_signalpanels.production.checks import check_technical_errors
from tests import production_settings

PRODUCTION = {
    "ROOT_URLCONF": production_settings.ROOT_URLCONF,
    "MIDDLEWARE": production_settings.MIDDLEWARE,
    "SESSION_ENGINE": production_settings.SESSION_ENGINE,
    "TECHNICAL_ERRORS": production_settings.TECHNICAL_ERRORS,
    # A shared cache, so that a GROUPS policy is not warned about.
    "CACHES": {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "cache",
        }
    },
}
MIDDLEWARE_PATH = "djdt_signalpanels.production.TechnicalErrorMiddleware"
TESTS_URLCONF = "tests.urls"  # the toolbar tests' URLconf: no handler500
AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"


@pytest.fixture(autouse=True)
def production() -> Any:
    with override_settings(**PRODUCTION):
        yield


def ours() -> list[CheckMessage]:
    return [m for m in run_checks() if (m.id or "").startswith("djdt_signalpanels.")]


def only(check_id: str, **setting: Any) -> CheckMessage:
    with override_settings(**setting):
        messages = ours()
    assert [m.id for m in messages] == [check_id], messages
    message = messages[0]
    assert isinstance(message, Warning if ".W" in check_id else Error)
    assert message.hint
    return message


def technical_errors(**options: Any) -> dict[str, Any]:
    return {"TECHNICAL_ERRORS": options}


def test_production_setup_passes() -> None:
    assert ours() == []
    output = io.StringIO()
    call_command("check", stdout=output, stderr=output)
    assert "djdt_signalpanels" not in output.getvalue()


def test_nothing_without_setting_middleware_or_handler(settings: Any) -> None:
    settings.ROOT_URLCONF = TESTS_URLCONF  # no handler500
    settings.MIDDLEWARE = []
    del settings.TECHNICAL_ERRORS

    assert ours() == []


# The setting


def test_e101_not_a_dict() -> None:
    message = only("djdt_signalpanels.E101", TECHNICAL_ERRORS=["SUPERUSER"])
    assert message.msg == "TECHNICAL_ERRORS must be a dict, got list."


def test_e102_unknown_key() -> None:
    message = only("djdt_signalpanels.E102", **technical_errors(GROUP=["Ops"]))
    assert message.msg == "TECHNICAL_ERRORS has an unknown key 'GROUP'."
    assert message.hint is not None and "GROUPS" in message.hint


@pytest.mark.parametrize(
    ("check_id", "options", "fragment"),
    [
        ("E103", {"SUPERUSER": "yes"}, "['SUPERUSER'] must be True or False"),
        ("E103", {"STAFF": None}, "['STAFF'] must be True or False"),
        ("E104", {"GROUPS": "Technical Errors"}, "['GROUPS'] must be a list"),
        ("E105", {"PERMISSION": "view_errors"}, "'app_label.codename'"),
        ("E106", {"IP_ALLOWLIST": ["10.0.0.300"]}, "'10.0.0.300'"),
        ("E107", {"TRUSTED_PROXIES": "1"}, "['TRUSTED_PROXIES'] must be an integer"),
        ("E108", {"CALLABLE": "tests.nope.allow"}, "does not import"),
        ("E108", {"CALLABLE": "tests.production_settings.DEBUG"}, "is not callable"),
        ("E109", {"CACHE": "redis"}, "must name a cache in CACHES"),
        ("E110", {"CACHE_TIMEOUT": 0}, "must be a positive number of seconds"),
        ("E111", {"FALLBACK_HANDLER": "tests.nope.view"}, "does not import"),
        (
            "E111",
            {"FALLBACK_HANDLER": "djdt_signalpanels.production.technical_server_error"},
            "it would call itself",
        ),
        ("E112", {"SENSITIVE_NAMES": "ssn"}, "['SENSITIVE_NAMES'] must be a list"),
    ],
)
def test_malformed_values(
    check_id: str, options: dict[str, Any], fragment: str
) -> None:
    message = only(f"djdt_signalpanels.{check_id}", **technical_errors(**options))
    assert fragment in message.msg


# Installation


def test_e113_middleware_not_last() -> None:
    middleware = [*production_settings.MIDDLEWARE]
    middleware.remove(MIDDLEWARE_PATH)
    middleware.insert(middleware.index(AUTH) + 1, MIDDLEWARE_PATH)

    message = only("djdt_signalpanels.E113", MIDDLEWARE=middleware)

    assert message.msg.endswith(
        "these come after it: tests.production_views.RaisingMiddleware."
    )


def test_e113_and_e114_auth_after_the_middleware() -> None:
    middleware = [m for m in production_settings.MIDDLEWARE if m != AUTH] + [AUTH]
    with override_settings(MIDDLEWARE=middleware):
        assert sorted(m.id or "" for m in ours()) == [
            "djdt_signalpanels.E113",
            "djdt_signalpanels.E114",
        ]


def test_e114_auth_middleware_missing() -> None:
    middleware = [m for m in production_settings.MIDDLEWARE if m != AUTH]
    message = only("djdt_signalpanels.E114", MIDDLEWARE=middleware)
    assert AUTH in message.msg


def test_e114_with_the_handler_only() -> None:
    only("djdt_signalpanels.E114", MIDDLEWARE=[])


def test_e115_auth_app_missing() -> None:
    apps = [a for a in django_settings.INSTALLED_APPS if a != "django.contrib.auth"]
    middleware = [m for m in production_settings.MIDDLEWARE if m != AUTH]
    # Django's auth checks, registered once auth was imported, fail without
    # the app: call ours alone.
    with override_settings(INSTALLED_APPS=apps, MIDDLEWARE=middleware):
        ids = sorted(m.id or "" for m in check_technical_errors(None))
    assert ids == ["djdt_signalpanels.E114", "djdt_signalpanels.E115"]


def test_w104_nothing_serves_the_pages() -> None:
    message = only(
        "djdt_signalpanels.W104",
        MIDDLEWARE=production_settings.MIDDLEWARE[:-1],
        ROOT_URLCONF=TESTS_URLCONF,  # no handler500
    )
    assert "handler500" in (message.hint or "")


# Policies


def test_e116_every_authenticated_user() -> None:
    message = only("djdt_signalpanels.E116", **technical_errors(SUPERUSER=False))
    assert "every authenticated user" in message.msg


def test_e117_groups_without_a_groups_relation() -> None:
    # A user model without PermissionsMixin: ContentType has no "groups".
    # Django's own auth checks cannot run on such a model, so call ours alone.
    with override_settings(
        AUTH_USER_MODEL="contenttypes.ContentType", **technical_errors(GROUPS=["Ops"])
    ):
        [message] = check_technical_errors(None)
    assert message.id == "djdt_signalpanels.E117"
    assert "contenttypes.ContentType" in message.msg


def test_w101_staff_from_anywhere() -> None:
    message = only(
        "djdt_signalpanels.W101", **technical_errors(SUPERUSER=False, STAFF=True)
    )
    assert "every staff member" in message.msg
    with override_settings(
        **technical_errors(SUPERUSER=False, STAFF=True, IP_ALLOWLIST=["10.0.0.0/8"])
    ):
        assert ours() == []


def test_w102_allowlist_of_everyone() -> None:
    message = only("djdt_signalpanels.W102", **technical_errors(IP_ALLOWLIST=["::/0"]))
    assert "::/0" in message.msg


def test_w103_per_process_cache() -> None:
    locmem = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    message = only(
        "djdt_signalpanels.W103", CACHES=locmem, **technical_errors(GROUPS=["Ops"])
    )
    assert "per-process cache" in message.msg
    with override_settings(CACHES=locmem):
        assert ours() == []  # no GROUPS, no cache used


def test_w105_addresses_only() -> None:
    message = only(
        "djdt_signalpanels.W105",
        **technical_errors(SUPERUSER=False, IP_ALLOWLIST=["10.0.0.0/8"]),
    )
    assert "IP_ALLOWLIST" in message.msg


def test_call_command_check_reports_errors() -> None:
    from django.core.management.base import SystemCheckError

    with (
        override_settings(**technical_errors(SUPERUSER=False)),
        pytest.raises(SystemCheckError, match="djdt_signalpanels.E116"),
    ):
        call_command("check")
