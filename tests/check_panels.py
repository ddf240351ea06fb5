"""Broken panels for the system checks.

The panels exist for the system checks: each one makes exactly one
``djdt_signalpanels.E00x`` fire. Listing one in ``DEBUG_TOOLBAR_PANELS`` is
only safe for checks, never for a request.
"""

from __future__ import annotations

from djdt_signalpanels import Column, SignalPanel

# Broken panels: one configuration error each.


class MissingModulePanel(SignalPanel):
    """E001: the module does not exist."""

    signal = "tests.no_such_module.search_done"
    columns = ["query"]


class MissingAttributePanel(SignalPanel):
    """E001: the module exists, the attribute does not."""

    signal = "tests.signals.no_such_signal"
    columns = ["query"]


class NoSignalPanel(SignalPanel):
    """E002: ``signal`` was never set."""

    columns = ["query"]


class NotASignalPanel(SignalPanel):
    """E002: the path imports, but names a view function."""

    signal = "tests.views.sync_view"
    columns = ["query"]


class SignalInAListPanel(SignalPanel):
    """E002: a list of paths instead of one."""

    signal = ["tests.signals.search_done"]  # type: ignore[assignment]
    columns = ["query"]


class BadColumnNamePanel(SignalPanel):
    """E003: a column name that is not a keyword argument name."""

    signal = "tests.signals.search_done"
    columns = ["query", "took ms"]


class DuplicateColumnsPanel(SignalPanel):
    """E003: the same argument twice."""

    signal = "tests.signals.search_done"
    columns = [Column("query", "Query"), "query"]


class ColumnsStringPanel(SignalPanel):
    """E003: a bare string where a list belongs."""

    signal = "tests.signals.search_done"
    columns = "query"


class SearchPanel(SignalPanel):
    """E009 when listed with ``tests.panels.SearchPanel``: the same panel id."""

    signal = "tests.signals.search_done"
    columns = ["query"]
