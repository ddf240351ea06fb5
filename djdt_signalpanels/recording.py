"""Request-scoped recording of signal sends.

A request that shows the toolbar gets one :class:`Recording`, held in a
``ContextVar``. That is what keeps requests apart: WSGI threads each have their
own context, every asyncio task runs in a copy of its creator's context, and
asgiref copies the context into the thread that runs a sync view. A
``threading.Local`` would be shared by the async requests that asgiref runs on
one sync thread.

One receiver serves every recorded signal, and it is connected only while at
least one request in the process records that signal, so a send made while
nothing records costs what a send with no receivers costs.
"""

from __future__ import annotations

import contextvars
import functools
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from time import perf_counter
from typing import Any, ParamSpec, TypeVar

from django.dispatch import Signal

from . import conf, stacks
from .values import JSON, Converter

P = ParamSpec("P")
R = TypeVar("R")

_DISPATCH_UID = "djdt_signalpanels.recording"

_current: ContextVar[Recording | None] = ContextVar(
    "djdt_signalpanels_recording", default=None
)


@dataclass(slots=True)
class Event:
    """One send, as recorded while the request runs."""

    time_ms: float
    sender: str | None
    kwargs: dict[str, JSON]
    stack: list[stacks.RawFrame] | None


class Recording:
    """The sends of the signals watched by one request, and what was dropped."""

    def __init__(self) -> None:
        self.started = perf_counter()
        self.converter = Converter.from_settings()
        self.max_events = conf.max_events()
        self.capture_stacks = stacks.enabled()
        self.capture_locals = stacks.locals_enabled()
        self._lock = threading.Lock()
        self._open = True
        self._watchers = 0
        self._events: dict[Signal, list[Event]] = {}
        self._dropped: dict[Signal, int] = {}

    @property
    def is_open(self) -> bool:
        return self._open

    def watch(self, signal: Signal) -> None:
        with self._lock:
            self._watchers += 1
            self._events.setdefault(signal, [])
            self._dropped.setdefault(signal, 0)

    def unwatch(self) -> bool:
        """Forget one watcher; close and return True when it was the last."""
        with self._lock:
            self._watchers -= 1
            if self._watchers <= 0:
                self._open = False
            return not self._open

    def events(self, signal: Signal) -> list[Event]:
        with self._lock:
            return list(self._events.get(signal, ()))

    def dropped(self, signal: Signal) -> int:
        with self._lock:
            return self._dropped.get(signal, 0)

    def add(self, signal: Signal, sender: Any, kwargs: dict[str, Any]) -> None:
        events = self._events.get(signal)
        if events is None or not self._open:
            return
        if len(events) >= self.max_events:
            self._drop(signal)
            return
        stack = self._stack(signal, sender, kwargs) if self.capture_stacks else None
        event = Event(
            time_ms=(perf_counter() - self.started) * 1000,
            sender=self._describe(sender),
            kwargs=self.converter.arguments(kwargs),
            stack=stack,
        )
        with self._lock:
            if not self._open:
                return
            if len(events) >= self.max_events:
                self._dropped[signal] += 1
                return
            events.append(event)

    def _stack(
        self, signal: Signal, sender: Any, kwargs: dict[str, Any]
    ) -> list[stacks.RawFrame]:
        # Skip this method, add() and the receiver; the dispatcher is hidden later.
        stack = stacks.capture(skip=3, with_locals=self.capture_locals)
        if stacks.sent_by_asend(stack):
            awaiting = stacks.awaiting_asend(
                signal,
                sender,
                kwargs,
                lambda context: context.get(_current) is self,
                with_locals=self.capture_locals,
            )
            return awaiting or stack
        return stack

    def _drop(self, signal: Signal) -> None:
        with self._lock:
            if self._open:
                self._dropped[signal] += 1

    def _describe(self, sender: Any) -> str | None:
        if sender is None:
            return None
        if isinstance(sender, str):
            return self.converter.text(sender)
        qualname = getattr(sender, "__qualname__", None)
        if isinstance(qualname, str):
            return f"{getattr(sender, '__module__', '')}.{qualname}".lstrip(".")
        return self.converter.repr(sender)


def _receive(signal: Signal, sender: Any = None, **kwargs: Any) -> None:
    recording = _current.get()
    if recording is not None:
        recording.add(signal, sender, kwargs)


_listeners_lock = threading.Lock()
_listeners: dict[Signal, int] = {}


def _subscribe(signal: Signal) -> None:
    with _listeners_lock:
        count = _listeners.get(signal, 0)
        if count == 0:
            signal.connect(_receive, weak=False, dispatch_uid=_DISPATCH_UID)
        _listeners[signal] = count + 1


def _unsubscribe(signal: Signal) -> None:
    with _listeners_lock:
        count = _listeners.get(signal, 0)
        if count <= 1:
            _listeners.pop(signal, None)
            signal.disconnect(_receive, dispatch_uid=_DISPATCH_UID)
        else:
            _listeners[signal] = count - 1


def is_connected(signal: Signal) -> bool:
    """Whether some request in this process is recording ``signal`` right now."""
    with _listeners_lock:
        return signal in _listeners


def start(signal: Signal) -> Recording:
    """Record ``signal`` in the current request; panels call this when enabled."""
    recording = _current.get()
    if recording is None or not recording.is_open:
        recording = Recording()
        _current.set(recording)
    recording.watch(signal)
    _subscribe(signal)
    return recording


def stop(recording: Recording, signal: Signal) -> None:
    """Stop recording ``signal``; the last panel to stop closes the recording.

    A closed recording takes no more events, even from threads that still hold
    a copy of the request's context. The ``ContextVar`` is cleared with ``set``,
    not ``reset(token)``: under ASGI start and stop may run in different
    contexts, where a token is refused (asgiref issue 267).
    """
    _unsubscribe(signal)
    if recording.unwatch() and _current.get() is recording:
        _current.set(None)


def current() -> Recording | None:
    """The recording of the request running in this context, if any."""
    recording = _current.get()
    return recording if recording is not None and recording.is_open else None


def bind_request_context(func: Callable[P, R]) -> Callable[P, R]:
    """Make ``func`` record into the current request when another thread runs it.

    Threads do not inherit context variables, so a send from a thread a view
    starts would be dropped. Wrap the callable where the request runs; each call
    then runs in its own copy of the request's context, so one wrapped function
    can be handed to many executor workers at once::

        with ThreadPoolExecutor() as pool:
            pool.map(bind_request_context(search), queries)

    Sends made after the request finished are dropped, never shown in another
    request. ``asyncio.to_thread`` and asgiref's ``sync_to_async`` copy the
    context already and need no wrapping.
    """
    context = contextvars.copy_context()

    @functools.wraps(func)
    def run_in_request_context(*args: P.args, **kwargs: P.kwargs) -> R:
        return context.copy().run(func, *args, **kwargs)

    return run_in_request_context
