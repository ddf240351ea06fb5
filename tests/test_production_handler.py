"""technical_server_error, the handler500 view, and its fallback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.test import Client, RequestFactory, override_settings

from djdt_signalpanels.production import technical_server_error
from tests import production_settings

PRODUCTION = {
    "DEBUG": False,
    "ALLOWED_HOSTS": production_settings.ALLOWED_HOSTS,
    "ROOT_URLCONF": production_settings.ROOT_URLCONF,
    # Only the handler: no TechnicalErrorMiddleware.
    "MIDDLEWARE": production_settings.MIDDLEWARE[:-1],
    "SESSION_ENGINE": production_settings.SESSION_ENGINE,
}


@pytest.fixture(autouse=True)
def production(db: None) -> Iterator[None]:
    caches["default"].clear()
    with override_settings(**PRODUCTION):
        yield


def custom_500(request: HttpRequest) -> HttpResponse:
    return HttpResponseServerError("custom 500 page")


def client(superuser: bool) -> Client:
    result = Client(raise_request_exception=False)
    if superuser:
        result.force_login(User.objects.create_superuser("root"))
    else:
        result.force_login(User.objects.create_user("plain"))
    return result


@pytest.mark.parametrize("path", ["/boom/", "/middleware-error/", "/resolve/abc/"])
def test_handler_alone_covers_views_middleware_and_resolution(path: str) -> None:
    response = client(superuser=True).get(path)

    assert response.status_code == 500
    assert b'<div id="traceback">' in response.content
    assert "no-store" in response["Cache-Control"]


def test_everyone_else_gets_the_fallback_handler() -> None:
    plain = client(superuser=False)

    default = plain.get("/boom/")
    with override_settings(
        TECHNICAL_ERRORS={"FALLBACK_HANDLER": f"{__name__}.custom_500"}
    ):
        custom = plain.get("/boom/")

    assert b"<h1>Server Error (500)</h1>" in default.content
    assert custom.status_code == 500
    assert custom.content == b"custom 500 page"


def test_fallback_that_does_not_import(caplog: pytest.LogCaptureFixture) -> None:
    with override_settings(TECHNICAL_ERRORS={"FALLBACK_HANDLER": "tests.nope.view"}):
        response = client(superuser=False).get("/boom/")

    assert b"<h1>Server Error (500)</h1>" in response.content
    assert "'tests.nope.view' does not import" in caplog.text


def test_called_without_an_exception() -> None:
    request = RequestFactory().get("/")
    request.user = User.objects.create_superuser("root")

    response = technical_server_error(request)

    assert b"<h1>Server Error (500)</h1>" in response.content
