"""What the feature-flag integrations share: one check, one send, from the caller.

A flag library decides a flag a few calls below the function the caller
called (``flag_enabled`` calls ``flag_state``, which calls the flag's own
method). The integrations wrap both ends:

- an *entry point* (:func:`entry_point`) wraps a function a check passes
  through near its caller; it sends the check's event once the library
  returns, so the caller's frames are on the stack;
- an *evaluation* (:func:`evaluate`) wraps the library method that decides a
  flag, where the flag object is at hand; it describes what the library
  decided and hands that to the enclosing entry point, or sends it itself when
  no entry point wraps it.

:class:`Instrumentation` installs one library's wrappers in two groups: some
from :meth:`~Instrumentation.install` on, the rest only while at least one
FeatureFlagsPanel records (:meth:`~Instrumentation.activate`), so that they
cost nothing the rest of the time. A flag checked from inside another flag's
evaluation (a condition that checks a flag) is a check of its own.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from ..recording import current
from ..signals import feature_flag_evaluated

R = TypeVar("R")

# Kwargs for feature_flag_evaluated, or None for nothing to send.
Event = dict[str, Any]
Describe = Callable[[Any, BaseException | None], Event | None]
# (args, kwargs, result, error): the event of a check no evaluation reported.
Fallback = Callable[
    [tuple[Any, ...], dict[str, Any], Any, BaseException | None], Event | None
]
# (owner, attribute, original) of one replaced attribute.
Patch = tuple[Any, str, Any]

# The attribute that marks a wrapper and keeps what it wraps.
ORIGINAL = "__djdt_signalpanels_original__"


class Check:
    """One call of an entry point: the events its evaluations reported."""

    __slots__ = ("evaluating", "events")

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.evaluating = False


_check: ContextVar[Check | None] = ContextVar(
    "djdt_signalpanels_flag_check", default=None
)


def send(event: Event) -> None:
    # Robust: a failing receiver must not change what the caller gets.
    feature_flag_evaluated.send_robust(sender=None, **event)


def _safely(build: Callable[..., Event | None], *args: Any) -> Event | None:
    try:
        return build(*args)
    except Exception:  # describing a check must never break it
        return None


def entry_point(original: Callable[..., R], fallback: Fallback) -> Callable[..., R]:
    """Wrap a function that callers use to check a flag.

    ``fallback`` describes the check when no evaluation reported one (a flag
    the library does not know, or a call that failed before any evaluation).
    """

    @functools.wraps(original)
    def check_flag(*args: Any, **kwargs: Any) -> R:
        if not feature_flag_evaluated.receivers or current() is None:
            return original(*args, **kwargs)
        check = _check.get()
        if check is not None and not check.evaluating:
            return original(*args, **kwargs)  # another entry point of this check
        check = Check()
        token = _check.set(check)
        try:
            result = original(*args, **kwargs)
        except BaseException as error:
            _check.reset(token)
            _finish(check, fallback, args, kwargs, None, error)
            raise
        _check.reset(token)
        _finish(check, fallback, args, kwargs, result, None)
        return result

    setattr(check_flag, ORIGINAL, original)
    return check_flag


def _finish(
    check: Check,
    fallback: Fallback,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    result: Any,
    error: BaseException | None,
) -> None:
    events: list[Event | None] = [*check.events] or [
        _safely(fallback, args, kwargs, result, error)
    ]
    for event in events:
        if event is not None:
            send(event)


def evaluate(call: Callable[[], R], describe: Describe) -> R:
    """Run the library's own evaluation; report it to the entry point around it.

    Call this only while the current request records. Each wrapper tests that
    first, cheapest part first: ``not feature_flag_evaluated.receivers`` (no
    request in the process records: no function call) ``or current() is None``.
    ``describe(result, error)`` builds the event from what the library decided;
    it runs after ``call`` and may read the flag and the request, never query.
    """
    check = _check.get()
    if check is None or check.evaluating:
        check = None  # nothing wraps this evaluation: send from here
    else:
        check.evaluating = True
    try:
        result = call()
    except BaseException as error:
        _report(check, _safely(describe, None, error))
        raise
    finally:
        if check is not None:
            check.evaluating = False
    _report(check, _safely(describe, result, None))
    return result


def _report(check: Check | None, event: Event | None) -> None:
    if event is None:
        return
    if check is None:
        send(event)
    else:
        check.events.append(event)


def error_fields(error: BaseException) -> Event:
    """``reason`` and ``error_type`` (OpenTelemetry ``error.type``) of a failed check."""
    return {"reason": "error", "error_type": type(error).__qualname__}


def patch(owner: Any, name: str, wrap: Callable[[Any], Any]) -> list[Patch]:
    """Replace ``owner.name`` by ``wrap(owner.name)`` unless it is wrapped already.

    Returns ``[(owner, name, original)]`` for :func:`unpatch`, or ``[]``.
    """
    value = getattr(owner, name, None)
    if value is None or getattr(value, ORIGINAL, None) is not None:
        return []
    wrapper = wrap(value)
    if getattr(wrapper, ORIGINAL, None) is None:
        setattr(wrapper, ORIGINAL, value)
    setattr(owner, name, wrapper)
    return [(owner, name, value)]


def rebind(owner: Any, name: str, original: Any, wrapper: Any) -> list[Patch]:
    """Point ``owner.name`` at ``wrapper`` where it holds ``original``.

    For modules that imported a library function by name before it was wrapped.
    """
    if getattr(owner, name, None) is not original:
        return []
    setattr(owner, name, wrapper)
    return [(owner, name, original)]


def unpatch(patched: list[Patch]) -> None:
    """Put back what :func:`patch` and :func:`rebind` replaced, last first."""
    while patched:
        owner, name, original = patched.pop()
        setattr(owner, name, original)


class Instrumentation:
    """One library's wrappers: some from :meth:`install` on, the others while
    at least one panel is active.

    ``entry_points()`` and ``evaluations()`` apply those two groups of patches
    and return them; they run under the instance's lock.
    """

    def __init__(
        self,
        entry_points: Callable[[], list[Patch]],
        evaluations: Callable[[], list[Patch]],
    ) -> None:
        self._apply_entry_points = entry_points
        self._apply_evaluations = evaluations
        self._lock = threading.Lock()
        self._installed = False
        self._entry_points: list[Patch] = []
        self._evaluations: list[Patch] = []
        self._active = 0

    def install(self) -> None:
        with self._lock:
            if not self._installed:
                self._entry_points = self._apply_entry_points()
                self._installed = True

    def uninstall(self) -> None:
        with self._lock:
            unpatch(self._evaluations)
            unpatch(self._entry_points)
            self._active = 0
            self._installed = False

    def is_installed(self) -> bool:
        return self._installed

    def is_active(self) -> bool:
        """Whether the evaluations are installed (some panel records)."""
        return self._active > 0

    def activate(self) -> bool:
        """A panel starts recording: install the evaluations if it is the first.

        Returns whether this counted (the integration is installed); pass
        that to :meth:`deactivate` when the panel stops.
        """
        with self._lock:
            if not self._installed:
                return False
            self._active += 1
            if self._active == 1:
                self._evaluations = self._apply_evaluations()
            return True

    def deactivate(self) -> None:
        """A panel stopped recording: remove the evaluations after the last."""
        with self._lock:
            if self._active == 0:
                return  # uninstalled in between
            self._active -= 1
            if self._active == 0:
                unpatch(self._evaluations)
