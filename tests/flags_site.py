"""Views that check django-flags flags the ways projects do (URLconf for its tests).

Functions imported by name, the module's functions, template tags (Django and
Jinja2), the view decorators and the class-based view mixin.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from debug_toolbar.toolbar import debug_toolbar_urls
from django.core.exceptions import SynchronousOnlyOperation
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.template.backends.jinja2 import Jinja2
from django.urls import path
from django.views import View
from flags import conditions, state
from flags.decorators import flag_check, flag_required
from flags.state import disable_flag, flag_disabled, flag_enabled, flag_state
from flags.views import FlaggedViewMixin

PAGE = "<html><body><p>{}</p></body></html>"

FUNCTIONS = {"enabled": flag_enabled, "disabled": flag_disabled, "state": flag_state}


@conditions.register("other flag")
def other_flag_condition(flag_name: str, request: Any = None, **kwargs: Any) -> Any:
    """A condition that checks another flag."""
    return flag_enabled(flag_name, request=request)


@conditions.register("explodes")
def exploding_condition(value: Any, **kwargs: Any) -> bool:
    raise ValueError(f"condition failed: {value}")


def _checks(request: HttpRequest) -> list[tuple[str, str]]:
    """``?check=enabled:NAME&check=state:NAME``: which function, which flag."""
    specs = request.GET.getlist("check")
    return [(spec.split(":", 1)[0], spec.split(":", 1)[1]) for spec in specs]


def checks_view(request: HttpRequest) -> HttpResponse:
    results = []
    for function, name in _checks(request):
        results.append(FUNCTIONS[function](name, request=request))  # the check
    return HttpResponse(PAGE.format(results))


def module_view(request: HttpRequest) -> HttpResponse:
    """Looks the function up on the module at each call."""
    return HttpResponse(PAGE.format(state.flag_enabled("SETTINGS_ON", request=request)))


def wrapped_view(request: HttpRequest) -> HttpResponse:
    """Whether django-flags' deeper functions are wrapped during this request."""
    from flags.sources import Condition, Flag

    wrapped = [
        hasattr(function, "__djdt_signalpanels_original__")
        for function in (state._get_flag_state, Flag.check_state, Condition.check)
    ]
    return HttpResponse(PAGE.format(wrapped))


def raising_view(request: HttpRequest) -> HttpResponse:
    try:
        flag_enabled("EXPLODES", request=request)
    except ValueError as error:
        return HttpResponse(PAGE.format(error))
    return HttpResponse(PAGE.format("no error"))


def flip_view(request: HttpRequest) -> HttpResponse:
    """A flag turned off between two checks (without ``request=``: no cached conditions)."""
    before = flag_enabled("DB_ON")
    disable_flag("DB_ON")
    after = flag_enabled("DB_ON")
    return HttpResponse(PAGE.format([before, after]))


TEMPLATE = (
    "{% load feature_flags %}"
    '{% flag_enabled "SETTINGS_ON" as on %}'
    '{% flag_disabled "BETA_PARAM" as off %}'
    "<html><body><p>{{ on }} {{ off }}</p></body></html>"
)


def template_view(request: HttpRequest) -> HttpResponse:
    template = engines["django"].from_string(TEMPLATE)
    return HttpResponse(template.render({"request": request}, request))


JINJA2 = Jinja2(
    {
        "NAME": "flags_jinja2",
        "DIRS": [],
        "APP_DIRS": False,
        "OPTIONS": {"extensions": ["flags.jinja2tags.flags"]},
    }
)


def jinja2_view(request: HttpRequest) -> HttpResponse:
    template = JINJA2.from_string(
        "<html><body><p>{{ flag_enabled('SETTINGS_ON') }}"
        " {{ flag_disabled('SETTINGS_OFF') }}</p></body></html>"
    )
    return HttpResponse(template.render({}, request))


def fallback_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE.format("fallback"))


@flag_check("SETTINGS_ON", True)
def decorated_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE.format("decorated"))


@flag_required("SETTINGS_OFF", fallback_view=fallback_view)
def required_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE.format("required"))


class MixinView(FlaggedViewMixin, View):
    flag_name = "BETA_PARAM"
    fallback = fallback_view

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(PAGE.format("mixin"))


async def async_view(request: HttpRequest) -> HttpResponse:
    results = []
    for function, name in _checks(request):
        results.append(FUNCTIONS[function](name))  # the async check
    return HttpResponse(PAGE.format(results))


async def async_database_view(request: HttpRequest) -> HttpResponse:
    try:
        flag_enabled("DB_ON")  # the database source cannot query from here
    except SynchronousOnlyOperation:
        pass
    result = await sync_to_async(flag_enabled)("DB_ON")
    return HttpResponse(PAGE.format(result))


urlpatterns = [
    path("checks/", checks_view),
    path("module/", module_view),
    path("wrapped/", wrapped_view),
    path("raising/", raising_view),
    path("flip/", flip_view),
    path("template/", template_view),
    path("jinja2/", jinja2_view),
    path("decorated/", decorated_view),
    path("required/", required_view),
    path("mixin/", MixinView.as_view()),
    path("async/", async_view),
    path("async-database/", async_database_view),
    *debug_toolbar_urls(),
]
