"""django-waffle 4.x and 5.x: each flag, switch and sample check sends ``feature_flag_evaluated``.

:func:`install` wraps the entry points ``waffle.flag_is_active``,
``switch_is_active`` and ``sample_is_active``, and the names that waffle's
decorators (``waffle_flag``, ``waffle_switch``), view mixins
(``WaffleFlagMixin``...), template tags (``{% flag %}``, ``{% switch %}``,
``{% sample %}``) and Jinja2 helpers imported them under. The event is sent
from there, so the caller's line is the last frame of its stack.

While a FeatureFlagsPanel records in some request, these are wrapped too:

- the ``is_active`` methods of ``waffle.models.AbstractBaseFlag``,
  ``AbstractBaseSwitch`` and ``AbstractBaseSample``, which decide every check
  whatever the path (also ``{% wafflejs %}`` and the ``wafflejs`` view), for the
  default models and for swapped models built on those bases;
- ``AbstractBaseFlag._is_active_for_user``, to see whether the user rules
  decided a flag, as the library computed it.

The event: ``name``, ``result`` (what ``is_active`` returned),
``provider="django-waffle"``, ``kind`` (``"flag"``, ``"switch"`` or
``"sample"``), ``source`` (``"database"`` for one that exists) and, where the
library's data tells without another query, ``reason``: see
:func:`flag_reason`. Nothing is evaluated twice: a percentage is never drawn
again, and the user and group lists are not read.

While no request records, a check costs one wrapper call (the entry point's).
"""

from __future__ import annotations

import functools
import importlib
import sys
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from ..recording import current
from ..signals import feature_flag_evaluated
from . import _flag_checks
from ._flag_checks import Event, Patch

PROVIDER = "django-waffle"

_ENTRY_POINTS = ("flag_is_active", "switch_is_active", "sample_is_active")

# Modules that import the entry points by name.
_ALIASES = (
    "waffle.decorators",
    "waffle.mixins",
    "waffle.templatetags.waffle_tags",
    "waffle.jinja",
)


@dataclass(slots=True)
class _Trace:
    """What one flag evaluation's user step returned."""

    flag: Any
    user_step: bool = False
    user_result: Any = None


_trace: ContextVar[_Trace | None] = ContextVar(
    "djdt_signalpanels_waffle_trace", default=None
)


def available() -> bool:
    """Whether django-waffle can be imported and its app is installed."""
    try:
        importlib.import_module("waffle")
    except ImportError:
        return False
    from django.apps import apps

    return apps.is_installed("waffle")


def _patch_entry_points() -> list[Patch]:
    waffle = importlib.import_module("waffle")
    for module_name in _ALIASES[:3]:  # they import the entry points by name
        importlib.import_module(module_name)
    originals = {name: getattr(waffle, name) for name in _ENTRY_POINTS}
    patched: list[Patch] = []
    for name in _ENTRY_POINTS:
        kind = name.split("_", 1)[0]
        patched += _flag_checks.patch(
            waffle, name, functools.partial(_wrap_entry_point, kind=kind)
        )
    for module_name in _ALIASES:
        module = sys.modules.get(module_name)
        if module is None:
            continue  # imported later, it takes the wrapped functions
        for name in _ENTRY_POINTS:
            patched += _flag_checks.rebind(
                module, name, originals[name], getattr(waffle, name)
            )
    return patched


def _patch_evaluations() -> list[Patch]:
    models = importlib.import_module("waffle.models")
    patched: list[Patch] = []
    for model, kind in (
        (models.AbstractBaseFlag, "flag"),
        (models.AbstractBaseSwitch, "switch"),
        (models.AbstractBaseSample, "sample"),
    ):
        patched += _flag_checks.patch(
            model, "is_active", functools.partial(_wrap_is_active, kind=kind)
        )
    patched += _flag_checks.patch(
        models.AbstractBaseFlag, "_is_active_for_user", _wrap_user_step
    )
    return patched


_instrumentation = _flag_checks.Instrumentation(_patch_entry_points, _patch_evaluations)


def install() -> None:
    """Wrap django-waffle's entry points; a second call changes nothing.

    Raises ``ImportError`` when django-waffle is not installed; needs
    ``"waffle"`` in ``INSTALLED_APPS`` (its models are wrapped while a panel
    records).
    """
    _instrumentation.install()


def uninstall() -> None:
    """Put django-waffle's own functions back (tests and benchmarks)."""
    _instrumentation.uninstall()


def is_installed() -> bool:
    return _instrumentation.is_installed()


def activate() -> bool:
    """A panel starts recording: wrap the evaluations too (see the module's doc)."""
    return _instrumentation.activate()


def deactivate() -> None:
    """A panel stopped recording; the last one puts the evaluations back."""
    _instrumentation.deactivate()


def _wrap_entry_point(original: Any, *, kind: str) -> Any:
    # flag_is_active(request, flag_name, read_only=False); the others take a name.
    position, keyword = (1, "flag_name") if kind == "flag" else (0, f"{kind}_name")

    def fallback(
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        result: Any,
        error: BaseException | None,
    ) -> Event:
        name = args[position] if len(args) > position else kwargs.get(keyword)
        event: Event = {
            "name": name,
            "result": result,
            "provider": PROVIDER,
            "kind": kind,
        }
        if error is not None:
            event.update(_flag_checks.error_fields(error))
        return event

    return _flag_checks.entry_point(original, fallback)


def _wrap_is_active(original: Any, *, kind: str) -> Any:
    if kind == "flag":

        def flag_is_active(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            if not feature_flag_evaluated.receivers or current() is None:
                return original(self, request, *args, **kwargs)
            read_only = bool(kwargs.get("read_only", args[0] if args else False))
            earlier = _decided_earlier(self, request)
            trace = _Trace(self)
            token = _trace.set(trace)
            try:
                return _flag_checks.evaluate(
                    lambda: original(self, request, *args, **kwargs),
                    lambda result, error: _event(
                        self,
                        "flag",
                        result,
                        error,
                        lambda: flag_reason(
                            self, request, result, trace, earlier, read_only
                        ),
                    ),
                )
            finally:
                _trace.reset(token)

        return functools.wraps(original)(flag_is_active)

    def is_active(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not feature_flag_evaluated.receivers or current() is None:
            return original(self, *args, **kwargs)
        return _flag_checks.evaluate(
            lambda: original(self, *args, **kwargs),
            lambda result, error: _event(
                self, kind, result, error, lambda: _static_reason(self, kind)
            ),
        )

    return functools.wraps(original)(is_active)


def _wrap_user_step(original: Any) -> Any:
    def _is_active_for_user(self: Any, request: Any) -> Any:
        trace = _trace.get()
        result = original(self, request)
        if trace is not None and trace.flag is self:
            trace.user_step = True
            trace.user_result = result
        return result

    return functools.wraps(original)(_is_active_for_user)


def _event(
    obj: Any, kind: str, result: Any, error: BaseException | None, reason: Any
) -> Event:
    event: Event = {
        "name": obj.name,
        "result": result,
        "provider": PROVIDER,
        "kind": kind,
    }
    if obj.pk:
        event["source"] = "database"
    if error is not None:
        event.update(_flag_checks.error_fields(error))
        return event
    try:
        why = reason()
    except Exception:  # a request the library accepted but we cannot read
        why = None
    if why is not None:
        event["reason"] = why
    return event


def _setting(name: str) -> Any:
    from waffle.utils import get_setting

    return get_setting(name)


def _static_reason(obj: Any, kind: str) -> str | None:
    if not obj.pk:
        return f"not defined (WAFFLE_{kind.upper()}_DEFAULT)"
    if kind == "sample":
        return f"percent {obj.percent}% (random)"
    return None  # a switch is what its "active" field says


def _decided_earlier(flag: Any, request: Any) -> bool:
    """Whether a percentage for ``flag`` was drawn earlier in this request."""
    try:
        return flag.name in getattr(request, "waffles", {})
    except Exception:
        return False


def flag_reason(
    flag: Any,
    request: Any,
    result: Any,
    trace: _Trace,
    earlier: bool,
    read_only: bool,
) -> str | None:
    """Which rule of ``Flag.is_active`` decided, or None when that is not certain.

    The rules, in the library's order: a missing flag takes
    ``WAFFLE_FLAG_DEFAULT``; the ``WAFFLE_OVERRIDE`` query string; ``everyone``;
    testing mode (query string, header, cookie); languages; the user rules
    (``authenticated``, ``staff``, ``superusers``, then the flag's users and
    groups); the percentage (drawn earlier in the request, from its cookie, or
    drawn now). The first steps read only the flag and the request; for the
    user step, what the library's ``_is_active_for_user`` returned decides.
    """
    if not flag.pk:
        return "not defined (WAFFLE_FLAG_DEFAULT)"
    early = _early_rule(flag, request)
    if early is not None:
        # The library returned before the user step; if it did not, another
        # is_active (a swapped model's) decided: say nothing.
        return None if trace.user_step else early
    if not trace.user_step:
        return "language" if result and _language_matches(flag, request) else None
    if trace.user_result is not None:
        if trace.user_result != result:
            return None
        if trace.user_result is False:
            return "no user"
        return _user_rule(flag, request.user)
    if flag.percent and flag.percent > 0:
        cookie = _setting("COOKIE") % flag.name
        if earlier:
            return f"percent {flag.percent}% (earlier in this request)"
        if cookie in request.COOKIES:
            return f"percent {flag.percent}% (cookie)"
        if not read_only:
            return f"percent {flag.percent}% (random)"
    return "no rule matched" if not result else None


def _early_rule(flag: Any, request: Any) -> str | None:
    """The rules ``is_active`` checks before languages and users."""
    if _setting("OVERRIDE") and flag.name in request.GET:
        return "override (query string)"
    if flag.everyone is not None:
        return "everyone"
    if flag.testing:
        cookie = _setting("TEST_COOKIE") % flag.name
        if cookie in request.GET:
            return "testing (query string)"
        if cookie.replace("_", "-") in request.headers:
            return "testing (header)"
        if cookie in request.COOKIES:
            return "testing (cookie)"
    return None


def _language_matches(flag: Any, request: Any) -> bool:
    languages = [language.strip() for language in (flag.languages or "").split(",")]
    return getattr(request, "LANGUAGE_CODE", None) in languages


def _user_rule(flag: Any, user: Any) -> str:
    if flag.authenticated and user.is_authenticated:
        return "authenticated"
    if flag.staff and getattr(user, "is_staff", False):
        return "staff"
    if flag.superusers and getattr(user, "is_superuser", False):
        return "superusers"
    return "users or groups"
