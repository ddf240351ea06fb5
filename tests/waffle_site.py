"""Views that check django-waffle flags, switches and samples the ways projects do.

The URLconf for its tests: ``waffle.flag_is_active`` and friends, the template
tags (Django and Jinja2), the decorators and the view mixins.
"""

from __future__ import annotations

import functools
from typing import Any

import waffle
from asgiref.sync import sync_to_async
from debug_toolbar.toolbar import debug_toolbar_urls
from django.core.exceptions import SynchronousOnlyOperation
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.template.backends.jinja2 import Jinja2
from django.urls import path
from django.views import View
from waffle.decorators import waffle_flag, waffle_switch
from waffle.mixins import WaffleFlagMixin, WaffleSampleMixin, WaffleSwitchMixin

PAGE = "<html><body><p>{}</p></body></html>"


def _check(request: HttpRequest, spec: str) -> Any:
    """``flag:NAME``, ``switch:NAME`` or ``sample:NAME``."""
    kind, name = spec.split(":", 1)
    if kind == "flag":
        return waffle.flag_is_active(request, name)  # the flag check
    if kind == "switch":
        return waffle.switch_is_active(name)  # the switch check
    return waffle.sample_is_active(name)  # the sample check


def checks_view(request: HttpRequest) -> HttpResponse:
    results = [_check(request, spec) for spec in request.GET.getlist("check")]
    return HttpResponse(PAGE.format(results))


def no_user_view(request: HttpRequest) -> HttpResponse:
    """A flag checked for a request that has no user (built without middleware)."""
    from django.test import RequestFactory

    bare = RequestFactory().get("/")
    return HttpResponse(PAGE.format(waffle.flag_is_active(bare, "plain_flag")))


def model_view(request: HttpRequest) -> HttpResponse:
    """The models' own methods, with no entry point around them."""
    from waffle.models import Flag, Switch

    flag = Flag.get("everyone_flag").is_active(request)  # the model check
    switch = Switch.get("on_switch").is_active()
    return HttpResponse(PAGE.format([flag, switch]))


def wrapped_view(request: HttpRequest) -> HttpResponse:
    """Whether django-waffle's models are wrapped during this request."""
    from waffle.models import AbstractBaseFlag, AbstractBaseSample, AbstractBaseSwitch

    wrapped = [
        hasattr(model.is_active, "__djdt_signalpanels_original__")
        for model in (AbstractBaseFlag, AbstractBaseSwitch, AbstractBaseSample)
    ]
    return HttpResponse(PAGE.format(wrapped))


def flip_view(request: HttpRequest) -> HttpResponse:
    """A switch turned off between two checks."""
    from waffle.models import Switch

    before = waffle.switch_is_active("on_switch")
    switch = Switch.objects.get(name="on_switch")
    switch.active = False
    switch.save()  # flushes waffle's cache once committed
    after = waffle.switch_is_active("on_switch")
    return HttpResponse(PAGE.format([before, after]))


TEMPLATE = (
    "{% load waffle_tags %}<html><body><p>"
    '{% flag "everyone_flag" %}flag on{% else %}flag off{% endflag %} '
    '{% switch "on_switch" %}switch on{% endswitch %} '
    '{% sample "all_sample" %}sample on{% endsample %}'
    "</p><script>{% wafflejs %}</script></body></html>"
)


def template_view(request: HttpRequest) -> HttpResponse:
    template = engines["django"].from_string(TEMPLATE)
    return HttpResponse(template.render({"request": request}, request))


@functools.cache
def jinja2() -> Jinja2:
    # Built on first use, as Django builds its template engines.
    return Jinja2(
        {
            "NAME": "waffle_jinja2",
            "DIRS": [],
            "APP_DIRS": False,
            "OPTIONS": {"extensions": ["waffle.jinja.WaffleExtension"]},
        }
    )


def jinja2_view(request: HttpRequest) -> HttpResponse:
    template = jinja2().from_string(
        "<html><body><p>{{ waffle.flag('everyone_flag') }}"
        " {{ waffle.switch('on_switch') }} {{ waffle.sample('none_sample') }}"
        "</p></body></html>"
    )
    return HttpResponse(template.render({}, request))


def fallback_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE.format("fallback"))


@waffle_flag("everyone_flag")
def flag_decorated_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE.format("flag decorated"))


@waffle_switch("!off_switch")
def switch_decorated_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE.format("switch decorated"))


class FlagMixinView(WaffleFlagMixin, View):
    waffle_flag = "everyone_flag"

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(PAGE.format("flag mixin"))


class SwitchMixinView(WaffleSwitchMixin, View):
    waffle_switch = "on_switch"

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(PAGE.format("switch mixin"))


class SampleMixinView(WaffleSampleMixin, View):
    waffle_sample = "all_sample"

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(PAGE.format("sample mixin"))


async def async_view(request: HttpRequest) -> HttpResponse:
    """Switches waffle has cached: no query, so they can be checked right here."""
    results = [
        waffle.switch_is_active(spec.split(":", 1)[1])  # the async check
        for spec in request.GET.getlist("check")
    ]
    return HttpResponse(PAGE.format(results))


async def async_database_view(request: HttpRequest) -> HttpResponse:
    results: list[Any] = []
    try:
        waffle.switch_is_active("on_switch")  # not cached yet: a query, refused here
    except SynchronousOnlyOperation:
        results.append("refused")
    results.append(await sync_to_async(waffle.switch_is_active)("on_switch"))
    results.append(waffle.switch_is_active("on_switch"))  # cached now
    return HttpResponse(PAGE.format(results))


urlpatterns = [
    path("checks/", checks_view),
    path("no-user/", no_user_view),
    path("model/", model_view),
    path("wrapped/", wrapped_view),
    path("flip/", flip_view),
    path("template/", template_view),
    path("jinja2/", jinja2_view),
    path("flag-decorated/", flag_decorated_view),
    path("switch-decorated/", switch_decorated_view),
    path("flag-mixin/", FlagMixinView.as_view()),
    path("switch-mixin/", SwitchMixinView.as_view()),
    path("sample-mixin/", SampleMixinView.as_view()),
    path("async/", async_view),
    path("async-database/", async_database_view),
    *debug_toolbar_urls(),
]
