"""Stack traces: captured cheaply at send time, rendered once the request ends.

DjDT's ``get_stack_trace`` resolves source files, source lines and the
``HIDE_IN_STACKTRACES`` filter for every frame of every call. Here a send only
walks ``f_back`` and keeps ``(code, instruction offset, globals)`` per frame;
line numbers, source lines and filtering wait for ``generate_stats``, after the
response is built. (Reading ``f_lineno`` at send time would decode each code
object's line table, which is most of the cost of a walk.)
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import linecache
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pprint import pformat
from types import CodeType, FrameType
from typing import Any

from debug_toolbar import settings as dt_settings

# (code, instruction offset, module globals, formatted locals or None)
RawFrame = tuple[CodeType, int, dict[str, Any], str | None]

# [file name, line number, function, source line, locals]: what DjDT's
# render_stacktrace() takes, as JSON-native lists.
Frame = list[str | int | None]

# Always hidden: the recorder and the dispatcher are never the code you look for.
ALWAYS_HIDDEN = ("djdt_signalpanels", "django.dispatch")

_DISPATCHER = "django.dispatch.dispatcher"

# How long a worker thread waits for the task awaiting asend() to suspend:
# usually microseconds, more on a loaded machine; past it, the worker's own stack.
_SUSPEND_TIMEOUT = 1.0
_FIRST_PAUSE = 0.00005
_LONGEST_PAUSE = 0.005


def enabled() -> bool:
    return bool(dt_settings.get_config()["ENABLE_STACKTRACES"])


def locals_enabled() -> bool:
    return bool(dt_settings.get_config()["ENABLE_STACKTRACES_LOCALS"])


def _raw(frame: FrameType, with_locals: bool) -> RawFrame:
    return (
        frame.f_code,
        frame.f_lasti,
        frame.f_globals,
        pformat(frame.f_locals) if with_locals else None,
    )


def capture(*, skip: int = 0, with_locals: bool = False) -> list[RawFrame]:
    """The frames calling this one, innermost first; ``skip`` drops that many more."""
    frame: FrameType | None = sys._getframe(skip + 1)
    frames: list[RawFrame] = []
    append = frames.append
    if with_locals:
        while frame is not None:
            append(_raw(frame, True))
            frame = frame.f_back
    else:
        while frame is not None:
            append((frame.f_code, frame.f_lasti, frame.f_globals, None))
            frame = frame.f_back
    return frames


def sent_by_asend(raw: list[RawFrame]) -> bool:
    """Whether ``raw`` starts in the worker thread ``Signal.asend`` runs sync receivers in."""
    if not raw:
        return False
    code, _, module_globals, _ = raw[0]
    return code.co_name == "sync_send" and module_globals.get("__name__") == _DISPATCHER


def awaiting_asend(
    signal: Any,
    sender: Any,
    kwargs: Mapping[str, Any],
    owns: Callable[[contextvars.Context], bool],
    *,
    with_locals: bool = False,
) -> list[RawFrame] | None:
    """The frames of the task awaiting ``signal.asend(sender, **kwargs)``, innermost first.

    ``Signal.asend`` calls sync receivers through ``sync_to_async``, in a worker
    thread whose own stack ends in the thread pool. The awaiting task is paused
    until the receiver returns, so its coroutine chain can be read from here.
    ``owns`` picks the task by its context, so identical sends from two
    requests are told apart; where a task's context cannot be read (Python
    3.11), only an unambiguous match is used.
    """
    from asgiref.sync import SyncToAsync

    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None:
        return None
    # The worker can start before the awaiting task has suspended (Django 6.1
    # awaits sync_to_async directly): give it a moment to reach its await.
    deadline = time.monotonic() + _SUSPEND_TIMEOUT
    pause = _FIRST_PAUSE
    found = _tasks_awaiting(loop, signal, sender, kwargs, owns)
    while not found and time.monotonic() < deadline:
        time.sleep(pause)  # lets the event loop's thread run to its await
        pause = min(pause * 2, _LONGEST_PAUSE)
        found = _tasks_awaiting(loop, signal, sender, kwargs, owns)
    if len(found) != 1:
        return None  # Python 3.11 cannot read a task's context: never guess.
    return [_raw(frame, with_locals) for frame in reversed(found[0])]


def _tasks_awaiting(
    loop: asyncio.AbstractEventLoop,
    signal: Any,
    sender: Any,
    kwargs: Mapping[str, Any],
    owns: Callable[[contextvars.Context], bool],
) -> list[list[FrameType]]:
    """The coroutine chains, down to ``asend``, of the tasks awaiting this send."""
    try:
        tasks = asyncio.all_tasks(loop)
    except RuntimeError:
        return []
    found = []
    for task in tasks:
        context = _context(task)
        if context is not None and not owns(context):
            continue  # another request's task: cheaper to skip than to walk
        chain = _coroutine_frames(task)
        for index, frame in enumerate(chain):
            if _is_this_asend(frame, signal, sender, kwargs):
                found.append(chain[: index + 1])
                break
    return found


def _coroutine_frames(task: asyncio.Task[Any]) -> list[FrameType]:
    """Frames of a paused task, outermost first, following ``await``."""
    frames: list[FrameType] = []
    awaitable: Any = task.get_coro()
    while awaitable is not None:
        frame = getattr(awaitable, "cr_frame", None) or getattr(
            awaitable, "gi_frame", None
        )
        if frame is None:
            break
        frames.append(frame)
        awaitable = getattr(awaitable, "cr_await", None) or getattr(
            awaitable, "gi_yieldfrom", None
        )
    return frames


def _is_this_asend(
    frame: FrameType, signal: Any, sender: Any, kwargs: Mapping[str, Any]
) -> bool:
    if frame.f_code.co_name not in ("asend", "asend_robust"):
        return False
    if frame.f_globals.get("__name__") != _DISPATCHER:
        return False
    local = frame.f_locals
    named = local.get("named")
    return (
        local.get("self") is signal
        and local.get("sender") is sender
        and isinstance(named, dict)
        and named.keys() == kwargs.keys()
        and all(named[name] is kwargs[name] for name in kwargs)
    )


def _context(task: asyncio.Task[Any]) -> contextvars.Context | None:
    get_context = getattr(task, "get_context", None)  # Python 3.12+
    return get_context() if get_context is not None else None


@functools.lru_cache(maxsize=8192)
def _line(code: CodeType, offset: int) -> int:
    for start, end, line in code.co_lines():
        if start <= offset < end:
            return line or code.co_firstlineno
    return code.co_firstlineno


def _hidden(module: Any, hidden: Sequence[str]) -> bool:
    if not isinstance(module, str):
        return False
    return any(module == name or module.startswith(name + ".") for name in hidden)


def render(raw: list[RawFrame], *, hide: Sequence[str] = ()) -> list[Frame]:
    """Plain frames, outermost first, without ``HIDE_IN_STACKTRACES`` modules.

    ``hide`` names more modules to leave out, such as the client library a
    panel instruments, so the caller's own line comes last.
    """
    hidden = (
        *dt_settings.get_config()["HIDE_IN_STACKTRACES"],
        *ALWAYS_HIDDEN,
        *hide,
    )
    frames: list[Frame] = []
    for code, offset, module_globals, frame_locals in reversed(raw):
        if _hidden(module_globals.get("__name__"), hidden):
            continue
        filename = code.co_filename
        line = _line(code, offset)
        source = linecache.getline(filename, line, module_globals).strip()
        frames.append([filename, line, code.co_name, source, frame_locals])
    return frames
