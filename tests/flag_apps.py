"""The test project with django-flags and django-waffle installed, for their tests.

The test database is created without their apps; :func:`flag_apps` installs
them (with sessions, authentication and locale middleware, as a project that
uses them has) and applies their migrations.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from debug_toolbar.store import get_store
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from tests.pages import request_id

PANEL = "FeatureFlagsPanel"
APPS = ["django.contrib.sessions", "flags", "waffle"]

MIDDLEWARE = [
    "debug_toolbar.middleware.DebugToolbarMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "waffle.middleware.WaffleMiddleware",
]


@contextmanager
def flag_apps(urlconf: str, django_db_blocker: Any) -> Iterator[None]:
    """Install the flag apps and serve ``urlconf`` (pytest-django's blocker lets it migrate)."""
    installed = [app for app in APPS if app not in settings.INSTALLED_APPS]
    with override_settings(
        INSTALLED_APPS=[*settings.INSTALLED_APPS, *installed],
        MIDDLEWARE=MIDDLEWARE,
        ROOT_URLCONF=urlconf,
    ):
        # Models that other tests used cached their relations before waffle's
        # models (related to User and Group) were registered.
        apps.clear_cache()
        with django_db_blocker.unblock():
            call_command("migrate", verbosity=0, interactive=False)
        yield


def events_of(html: str) -> list[dict[str, Any]]:
    """The events the page's request recorded in FeatureFlagsPanel (from the store)."""
    events: list[dict[str, Any]] = get_store().panel(request_id(html), PANEL)["events"]
    return events


def kwargs_of(html: str) -> list[dict[str, Any]]:
    return [event["kwargs"] for event in events_of(html)]
