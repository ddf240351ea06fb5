"""Stack traces: captured cheaply at send time, rendered once the request ends.

DjDT's ``get_stack_trace`` resolves source files, source lines and the
``HIDE_IN_STACKTRACES`` filter for every frame of every call. Here a send only
walks ``f_back`` and keeps ``(code, line, module)`` per frame; the expensive
part runs in ``generate_stats``, after the response is built.
"""

from __future__ import annotations

import linecache
import sys
from collections.abc import Sequence
from pprint import pformat
from types import CodeType, FrameType

from debug_toolbar import settings as dt_settings

# (code, line number, module name, formatted locals or None)
RawFrame = tuple[CodeType, int, str | None, str | None]

# [file name, line number, function, source line, locals]: what DjDT's
# render_stacktrace() takes, as JSON-native lists.
Frame = list[str | int | None]

# Always hidden: the recorder and the dispatcher are never the code you look for.
ALWAYS_HIDDEN = ("djdt_signalpanels", "django.dispatch")


def enabled() -> bool:
    return bool(dt_settings.get_config()["ENABLE_STACKTRACES"])


def locals_enabled() -> bool:
    return bool(dt_settings.get_config()["ENABLE_STACKTRACES_LOCALS"])


def capture(*, skip: int = 0, with_locals: bool = False) -> list[RawFrame]:
    """The frames calling this one, innermost first; ``skip`` drops that many more."""
    frame: FrameType | None = sys._getframe(skip + 1)
    frames: list[RawFrame] = []
    append = frames.append
    while frame is not None:
        append(
            (
                frame.f_code,
                frame.f_lineno or 0,
                frame.f_globals.get("__name__"),
                pformat(frame.f_locals) if with_locals else None,
            )
        )
        frame = frame.f_back
    return frames


def _hidden(module: str | None, hidden: Sequence[str]) -> bool:
    if not isinstance(module, str):
        return False
    return any(module == name or module.startswith(name + ".") for name in hidden)


def render(raw: list[RawFrame]) -> list[Frame]:
    """Plain frames, outermost first, without ``HIDE_IN_STACKTRACES`` modules."""
    hidden = (*dt_settings.get_config()["HIDE_IN_STACKTRACES"], *ALWAYS_HIDDEN)
    frames: list[Frame] = []
    for code, line, module, frame_locals in reversed(raw):
        if _hidden(module, hidden):
            continue
        filename = code.co_filename
        source = linecache.getline(filename, line).strip()
        frames.append([filename, line, code.co_name, source, frame_locals])
    return frames
