"""Views and middleware of the production test project: each fails in its own way."""

from __future__ import annotations

import asyncio
import json

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template import engines
from django.template.response import TemplateResponse
from django.utils.deprecation import MiddlewareMixin
from django.views.decorators.debug import sensitive_variables


class Boom(Exception):
    """The exception the views raise."""


class MiddlewareBoom(Exception):
    pass


class ConverterBoom(Exception):
    pass


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message for you")


def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("fine")


def boom(request: HttpRequest) -> HttpResponse:
    # Local variables the technical page shows: some hold secrets under
    # harmless names, so only cleansing by value can hide them.
    forwarded = request.GET.get("token", "")  # noqa: F841
    token = request.GET.get("token", "")  # noqa: F841
    connection_string = getattr(settings, "ANALYTICS_BACKEND", "")  # noqa: F841
    # A JSON body: not in request.POST, so only its dict repr shows its keys.
    is_json = request.content_type == "application/json"
    payload = json.loads(request.body) if is_json else {}  # noqa: F841
    raise Boom(f"view failed for {request.GET.get('page', 'no page')}")


async def async_boom(request: HttpRequest) -> HttpResponse:
    await asyncio.sleep(0)
    raise Boom("async view failed")


def user_boom(request: HttpRequest) -> HttpResponse:
    # Load the user, as most views do, before failing: the queries that
    # follow are the error path's own.
    request.user.is_authenticated  # noqa: B018
    raise Boom("view failed after loading the user")


def not_found(request: HttpRequest) -> HttpResponse:
    raise Http404("no such thing")


def denied(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def unprintable(request: HttpRequest) -> HttpResponse:
    raise Unprintable()


@sensitive_variables("hidden_by_decorator")
def sensitive(request: HttpRequest) -> HttpResponse:
    # Joined at run time: the source lines the page shows hold only the halves.
    hidden_by_decorator = "decorated-" + "secret-88f1"  # noqa: F841
    raise Boom("sensitive view failed")


def template_boom(request: HttpRequest) -> TemplateResponse:
    # Fails while the response renders, after the view returned.
    template = engines["django"].from_string("{{ value.explode }}")

    class Value:
        @property
        def explode(self) -> str:
            raise Boom("template rendering failed")

    return TemplateResponse(request, template, {"value": Value()})


class RaisingMiddleware(MiddlewareMixin):
    """Raises for /middleware-error/, before the view and its process_exception."""

    def process_request(self, request: HttpRequest) -> None:
        if request.path == "/middleware-error/":
            raise MiddlewareBoom("middleware failed")


class ExplodingConverter:
    regex = "[a-z]+"

    def to_python(self, value: str) -> str:
        raise ConverterBoom(f"cannot convert {value}")

    def to_url(self, value: str) -> str:
        return value
