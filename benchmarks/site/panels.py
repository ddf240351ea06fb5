"""The three panel variants the benchmark compares, all on ``bench_event``.

``SignalPanelVariant``
    This package's :class:`~djdt_signalpanels.SignalPanel`.
``NaivePanel``
    The pattern the tutorials teach: ``enable_instrumentation`` connects a
    bound method, which appends each send with DjDT's ``get_stack_trace()``
    to ``self.events``; ``disable_instrumentation`` disconnects it. Every
    panel connected at the time of a send receives it, whichever request sent it.
``ThreadLocalPanel``
    The usual fix: one receiver, always connected, appends to a
    ``threading.local`` list that ``enable_instrumentation`` sets up. Right for
    one request per thread; under ASGI concurrent async requests share the
    event loop's thread, and sync code runs in other threads.

All three set ``is_async = True`` so that they are shown for ASGI requests
too (DjDT hides panels that do not).
"""

from __future__ import annotations

import threading
from typing import Any

from debug_toolbar.panels import Panel
from debug_toolbar.utils import get_stack_trace, render_stacktrace
from django.template.loader import render_to_string

from benchmarks.site.signals import bench_event
from djdt_signalpanels import Column, SignalPanel


class SignalPanelVariant(SignalPanel):
    title = "Bench events (SignalPanel)"
    signal = bench_event
    columns = [Column("event", "Event", format="code")]


class _EventsPanel(Panel):
    """Storage and display shared by the two hand-written variants."""

    is_async = True
    template = "benchsite/events.html"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events: list[dict[str, Any]] = []

    @property
    def nav_subtitle(self) -> str:
        return f"{len(self.get_stats().get('events', []))} sends"

    def generate_stats(self, request: Any, response: Any) -> None:
        self.record_stats({"events": self.events})

    @property
    def content(self) -> str:
        rows = [
            {
                "event": event["kwargs"].get("event"),
                "stack": render_stacktrace(event["stack"]),
            }
            for event in self.get_stats().get("events", [])
        ]
        return render_to_string(self.template, {"rows": rows})


class NaivePanel(_EventsPanel):
    title = "Bench events (naive)"

    def enable_instrumentation(self) -> None:
        bench_event.connect(self._record)

    def disable_instrumentation(self) -> None:
        bench_event.disconnect(self._record)

    def _record(self, sender: Any, **kwargs: Any) -> None:
        kwargs.pop("signal", None)
        self.events.append({"kwargs": kwargs, "stack": get_stack_trace(skip=1)})


_local = threading.local()


def _record_in_thread(sender: Any, **kwargs: Any) -> None:
    events = getattr(_local, "events", None)
    if events is None:
        return
    kwargs.pop("signal", None)
    events.append({"kwargs": kwargs, "stack": get_stack_trace(skip=1)})


class ThreadLocalPanel(_EventsPanel):
    title = "Bench events (threading.local)"

    @classmethod
    def ready(cls) -> None:
        bench_event.connect(
            _record_in_thread, weak=False, dispatch_uid="benchsite.threadlocal"
        )

    def enable_instrumentation(self) -> None:
        _local.events = self.events

    def disable_instrumentation(self) -> None:
        _local.events = None
