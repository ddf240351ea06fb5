"""Django Debug Toolbar panels that record each signal send in the request that sent it.

The panel names load lazily, so ``djdt_signalpanels.production`` works in
projects that do not install django-debug-toolbar.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .panel import Column, SignalPanel
    from .recording import bind_request_context

__all__ = ["Column", "SignalPanel", "bind_request_context"]

_HOMES = {
    "Column": ".panel",
    "SignalPanel": ".panel",
    "bind_request_context": ".recording",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name], __name__), name)
