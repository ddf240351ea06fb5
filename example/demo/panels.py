"""A panel for the demo's own signal: a title, a signal, its columns."""

from __future__ import annotations

from djdt_signalpanels import Column, SignalPanel


class RecommendationsPanel(SignalPanel):
    title = "Recommendations"
    signal = "demo.signals.recommendations_served"
    columns = [
        Column("strategy", format="code"),
        Column("items", format="json"),
        Column("took", "Lookup time", format="duration"),
        Column("cached", format="bool"),
    ]
