"""SignalPanel: a complete DjDT panel declared by a signal and its columns."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from debug_toolbar.panels import Panel
from debug_toolbar.utils import render_stacktrace
from django.core.checks import CheckMessage
from django.core.exceptions import ImproperlyConfigured
from django.dispatch import Signal
from django.template.loader import render_to_string
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import ngettext

from . import recording, stacks
from .values import JSON

FORMATS = ("text", "code", "json", "duration", "bool", "number")


@dataclass(frozen=True)
class Column:
    """One column of a panel: the signal keyword argument ``name``, shown as ``label``.

    ``format`` is one of ``"text"`` (default), ``"code"`` (monospace), ``"json"``
    (pretty-printed block), ``"duration"`` (a number of milliseconds),
    ``"bool"`` or ``"number"``. An ``optional`` column is shown only when at
    least one send in the request passed that argument.
    """

    name: str
    label: str | Promise = ""
    format: str = field(default="text", kw_only=True)
    optional: bool = field(default=False, kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(
                f"Column name must be a keyword argument name, got {self.name!r}."
            )
        if not isinstance(self.label, (str, Promise)):
            raise ValueError(f"Column label must be a string, got {self.label!r}.")
        if self.format not in FORMATS:
            raise ValueError(
                f"Column format must be one of {', '.join(FORMATS)}; "
                f"got {self.format!r}."
            )
        if not self.label:
            object.__setattr__(self, "label", self.name.replace("_", " ").capitalize())


def as_columns(specs: Any) -> tuple[Column, ...]:
    """Normalize ``columns``: each item a :class:`Column` or a plain name."""
    if isinstance(specs, (str, bytes)) or not isinstance(specs, Sequence):
        raise ValueError(
            f"columns must be a list of Column objects or names, got {specs!r}."
        )
    columns = tuple(
        spec if isinstance(spec, Column) else Column(spec) for spec in specs
    )
    names = [column.name for column in columns]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"columns name {', '.join(duplicates)} more than once.")
    return columns


@functools.cache
def resolve_signal(spec: Signal | str) -> Signal:
    """The :class:`~django.dispatch.Signal` named by ``spec`` (or ``spec`` itself)."""
    if isinstance(spec, str):
        try:
            spec = import_string(spec)
        except ImportError as error:
            raise ImproperlyConfigured(
                f"The signal path {spec!r} does not import: {error}"
            ) from error
    if not isinstance(spec, Signal):
        raise ImproperlyConfigured(
            f"{spec!r} is not a django.dispatch.Signal instance."
        )
    return spec


def as_text(value: JSON) -> str:
    """Short display text for a converted value, Python-style for scalars."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def format_cell(column: Column, kwargs: dict[str, JSON]) -> dict[str, str]:
    """``{"kind", "text"}`` for one cell; the template picks markup by kind."""
    if column.name not in kwargs:
        return {"kind": "missing", "text": "—"}
    value = kwargs[column.name]
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if column.format == "json":
        return {"kind": "pre", "text": json.dumps(value, indent=2, ensure_ascii=False)}
    if column.format == "duration" and number:
        return {"kind": "number", "text": f"{value:.2f} ms"}
    if column.format == "bool" and isinstance(value, bool):
        return {"kind": "bool", "text": str(value)}
    if column.format == "number" and number:
        return {"kind": "number", "text": f"{value:,}"}
    kind = "code" if column.format == "code" else "text"
    return {"kind": kind, "text": as_text(value)}


class SignalPanel(Panel):
    """A panel showing each send of ``signal`` made by the current request.

    Subclasses set ``title``, ``signal`` (a Signal or its dotted path) and
    ``columns``, and may override :meth:`summarize` to add analysis.
    """

    is_async = True
    template = "djdt_signalpanels/panel.html"
    signal: ClassVar[Signal | str]
    columns: ClassVar[Sequence[Column | str]] = ()
    #: Modules left out of stack traces besides DjDT's ``HIDE_IN_STACKTRACES``,
    #: e.g. the client library whose calls send the signal.
    hidden_modules: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._recording: recording.Recording | None = None
        self._recording_stopped = False

    @property
    def title(self) -> Any:  # a str or a lazy translation
        return type(self).__name__

    # Configuration

    @classmethod
    def get_signal(cls) -> Signal:
        spec = getattr(cls, "signal", None)
        if not isinstance(spec, (Signal, str)):
            raise ImproperlyConfigured(
                f"{cls.__qualname__}.signal must be a Signal or its dotted path, "
                f"got {spec!r}."
            )
        return resolve_signal(spec)

    @classmethod
    def get_columns(cls) -> tuple[Column, ...]:
        return as_columns(cls.columns)

    @classmethod
    def run_checks(cls) -> list[CheckMessage]:
        from .checks import check_panel_class

        return check_panel_class(cls)

    # Recording

    def enable_instrumentation(self) -> None:
        if self._recording is None:
            self._recording = recording.start(self.get_signal())

    def disable_instrumentation(self) -> None:
        if self._recording is not None and not self._recording_stopped:
            self._recording_stopped = True
            recording.stop(self._recording, self.get_signal())

    def generate_stats(self, request: Any, response: Any) -> None:
        signal = self.get_signal()
        raw = self._recording.events(signal) if self._recording else []
        events: list[dict[str, Any]] = [
            {
                "time_ms": round(event.time_ms, 3),
                "sender": event.sender,
                "kwargs": event.kwargs,
                "stack": stacks.render(event.stack, hide=self.hidden_modules)
                if event.stack
                else None,
            }
            for event in raw
        ]
        dropped = self._recording.dropped(signal) if self._recording else 0
        self.record_stats(
            {"events": events, "dropped": dropped, "summary": self.summarize(events)}
        )

    def summarize(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        """Analysis stored with the events; plain JSON data only.

        It may also add derived values to an event's ``"kwargs"`` (LLMPanel adds
        each call's cost): the events are stored after this returns.

        Recognised keys: ``"subtitle"`` (replaces the nav subtitle),
        ``"tables"`` (a list of ``{"title", "headers", "rows",
        "highlight_rows"}`` shown above the sends) and ``"highlight_events"``
        (indexes of sends to highlight).
        """
        return {}

    # Display

    @property
    def nav_subtitle(self) -> str:
        stats = self.get_stats()
        subtitle = (stats.get("summary") or {}).get("subtitle")
        if subtitle:
            return str(subtitle)
        count = len(stats.get("events", ())) + int(stats.get("dropped", 0))
        return ngettext("%(count)d send", "%(count)d sends", count) % {"count": count}

    @property
    def content(self) -> str:
        stats = self.get_stats()
        events = stats.get("events", [])
        summary = stats.get("summary") or {}
        highlighted = set(summary.get("highlight_events", ()))
        columns = self.get_columns()
        shown = [
            column
            for column in columns
            if not column.optional
            or any(column.name in event.get("kwargs", {}) for event in events)
        ]
        names = {column.name for column in columns}
        rows = []
        for index, event in enumerate(events):
            kwargs = event.get("kwargs", {})
            other = {name: value for name, value in kwargs.items() if name not in names}
            rows.append(
                {
                    "time_ms": event.get("time_ms"),
                    "cells": [format_cell(column, kwargs) for column in shown],
                    "sender": event.get("sender"),
                    "other": json.dumps(other, indent=2, ensure_ascii=False)
                    if other
                    else "",
                    "stack": render_stacktrace(event["stack"])
                    if event.get("stack")
                    else "",
                    "stack_off": event.get("stack") is None,
                    "highlight": index in highlighted,
                }
            )
        context = {
            "panel_id": self.panel_id,
            "columns": shown,
            "rows": rows,
            "dropped": stats.get("dropped", 0),
            "tables": summary.get("tables", []),
        }
        return render_to_string(self.template, context)
