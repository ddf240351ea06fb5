"""django-flags 5.x: each flag check sends ``feature_flag_evaluated``.

Every check goes through ``flags.state``: ``flag_enabled`` and
``flag_disabled`` call ``flag_state``, which calls the module's private
``_get_flag_state`` (``_flag_state`` before 5.0.3), looked up at each call;
the template tags (``{% flag_enabled %}``, ``{% flag_disabled %}``, also the
Jinja2 globals), the ``flag_check``/``flag_required`` decorators and
``FlaggedViewMixin`` all call those functions, however they were imported.

While a FeatureFlagsPanel records in some request, these are wrapped:

- ``_get_flag_state``: one check, and a flag that is not defined;
- ``flags.sources.Flag.check_state``, where a defined flag is decided: its
  conditions and their source (the ``FLAGS`` setting or the database);
- ``flags.sources.Condition.check``, to see each condition's result as the
  library computed it, never evaluating a condition again.

Nothing is wrapped the rest of the time, so a check made while no request
records costs what it costs without this integration. FeatureFlagsPanel hides
the frames of ``flags.state`` from the recorded stacks, so the last frame is
the line that called ``flag_enabled``, ``flag_disabled`` or ``flag_state``:
your code, or the template tag or decorator that called it.

The event: ``name``, ``result`` (the flag's state: ``True``/``False``, ``None``
for a flag that is not defined, whichever function asked), ``reason``,
``provider="django-flags"``, ``source`` and ``conditions`` (each condition
with its value, ``required`` and whether it was ``met``).
"""

from __future__ import annotations

import functools
import importlib
from contextvars import ContextVar
from typing import Any

from django.conf import settings

from ..recording import current
from ..signals import feature_flag_evaluated
from . import _flag_checks
from ._flag_checks import Event, Patch

PROVIDER = "django-flags"

# Between the caller and the send: flag_enabled, flag_state... and, when it
# is listed, django-flags' own FlagChecksPanel, which wraps _get_flag_state too.
HIDDEN_MODULES = ("flags.state", "flags.panels")

# The conditions checked by the flag evaluation running in this context.
_checked: ContextVar[list[tuple[Any, Any]] | None] = ContextVar(
    "djdt_signalpanels_flags_checked", default=None
)


def available() -> bool:
    """Whether django-flags can be imported."""
    try:
        importlib.import_module("flags.state")
    except ImportError:
        return False
    return True


def _patch_nothing() -> list[Patch]:
    importlib.import_module("flags.state")  # ImportError without django-flags
    return []


def _patch_evaluations() -> list[Patch]:
    sources = importlib.import_module("flags.sources")
    state = importlib.import_module("flags.state")
    name = "_get_flag_state" if hasattr(state, "_get_flag_state") else "_flag_state"
    return [
        *_flag_checks.patch(
            state,
            name,
            lambda original: _flag_checks.entry_point(original, _state_of),
        ),
        *_flag_checks.patch(sources.Flag, "check_state", _wrap_check_state),
        *_flag_checks.patch(sources.Condition, "check", _wrap_condition),
    ]


_instrumentation = _flag_checks.Instrumentation(_patch_nothing, _patch_evaluations)


def install() -> None:
    """Prepare the instrumentation; a second call changes nothing.

    The wrappers follow while a FeatureFlagsPanel records (:func:`activate`),
    and the panel hides ``HIDDEN_MODULES`` from its stacks.
    Raises ``ImportError`` when django-flags is not installed.
    """
    _instrumentation.install()


def uninstall() -> None:
    """Put django-flags' own functions back (tests and benchmarks)."""
    _instrumentation.uninstall()


def is_installed() -> bool:
    return _instrumentation.is_installed()


def activate() -> bool:
    """A panel starts recording: wrap django-flags (see the module's doc).

    Counted: the wrappers go when the last panel calls :func:`deactivate`.
    Returns False (and counts nothing) unless installed.
    """
    return _instrumentation.activate()


def deactivate() -> None:
    """A panel stopped recording; the last one puts django-flags' functions back."""
    _instrumentation.deactivate()


def _wrap_check_state(original: Any) -> Any:
    def check_state(self: Any, **kwargs: Any) -> Any:
        if not feature_flag_evaluated.receivers or current() is None:
            return original(self, **kwargs)
        checked: list[tuple[Any, Any]] = []
        token = _checked.set(checked)
        try:
            return _flag_checks.evaluate(
                lambda: original(self, **kwargs),
                lambda result, error: describe(self, checked, result, error),
            )
        finally:
            _checked.reset(token)

    return functools.wraps(original)(check_state)


def _wrap_condition(original: Any) -> Any:
    def check(self: Any, **kwargs: Any) -> Any:
        checked = _checked.get()
        result = original(self, **kwargs)
        if checked is not None:
            checked.append((self, result))
        return result

    return functools.wraps(original)(check)


def _name(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return args[0] if args else kwargs.get("flag_name")


def _state_of(
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    result: Any,
    error: BaseException | None,
) -> Event:
    """A check that no ``Flag.check_state`` reported: a flag that is not defined."""
    event: Event = {"name": _name(args, kwargs), "result": result, "provider": PROVIDER}
    if error is not None:
        event.update(_flag_checks.error_fields(error))
    elif result is None:
        event["reason"] = "not defined"
    return event


def describe(
    flag: Any, checked: list[tuple[Any, Any]], result: Any, error: BaseException | None
) -> Event:
    """The event for one ``Flag.check_state`` call, from what it computed."""
    conditions = list(flag.conditions)
    met = {id(condition): bool(value) for condition, value in checked}
    event: Event = {"name": flag.name, "result": result, "provider": PROVIDER}
    if error is not None:
        event.update(_flag_checks.error_fields(error))
    else:
        reason = _reason(conditions, checked, result)
        if reason is not None:
            event["reason"] = reason
    in_settings = _in_settings(flag.name)
    sources = [_source(condition, in_settings) for condition in conditions]
    if not conditions and in_settings:
        sources = ["settings"]
    source = ", ".join(dict.fromkeys(name for name in sources if name))
    if source:
        event["source"] = source
    if conditions:
        event["conditions"] = [
            {
                "condition": condition.condition,
                "value": condition.value,
                "required": bool(condition.required),
                **({"source": where} if where else {}),
                **({"met": met[id(condition)]} if id(condition) in met else {}),
            }
            for condition, where in zip(conditions, sources, strict=True)
        ]
    return event


def _reason(
    conditions: list[Any], checked: list[tuple[Any, Any]], result: Any
) -> str | None:
    """Which conditions decided, following ``Flag.check_state``'s rule.

    The state is on when any non-required condition is met (or there is none)
    and all required ones are.
    """
    if not conditions:
        return "no conditions"
    if len(checked) != len(conditions):
        return None  # the conditions were not all checked through Condition.check
    if result:
        met = [
            _text(condition)
            for condition, value in checked
            if value and not condition.required
        ]
        return "met: " + ", ".join(met) if met else "all required met"
    failed = [
        _text(condition)
        for condition, value in checked
        if condition.required and not value
    ]
    if failed:
        return "required not met: " + ", ".join(failed)
    return "no condition met"


def _text(condition: Any) -> str:
    return f"{condition.condition} {condition.value}"


def _in_settings(name: Any) -> bool:
    flags = getattr(settings, "FLAGS", None)
    if not isinstance(flags, dict) or name not in flags:
        return False
    sources = getattr(settings, "FLAG_SOURCES", None)
    return sources is None or "flags.sources.SettingsFlagsSource" in sources


def _source(condition: Any, in_settings: bool) -> str | None:
    sources = importlib.import_module("flags.sources")
    if isinstance(condition, sources.DatabaseCondition):
        return "database"
    return "settings" if in_settings else None
