"""Django Debug Toolbar panels that record each signal send in the request that sent it."""

from __future__ import annotations

from .panel import Column, SignalPanel
from .recording import bind_request_context

__all__ = ["Column", "SignalPanel", "bind_request_context"]
