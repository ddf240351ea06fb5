"""Elasticsearch queries made through elasticsearch-py, with repeated queries pointed out."""

from __future__ import annotations

import json
from typing import Any

from django.core.checks import CheckMessage, Error
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..integrations import elasticsearch as integration
from ..panel import Column, SignalPanel, as_text
from ..signals import elasticsearch_query

# Characters of a duplicated query's body shown in the summary table.
SUMMARY_BODY_LENGTH = 200


class ElasticsearchPanel(SignalPanel):
    """Records :data:`~djdt_signalpanels.signals.elasticsearch_query`.

    Listing it instruments ``Elasticsearch`` and ``AsyncElasticsearch``
    (elasticsearch-py 8.x and 9.x) when the toolbar starts.
    """

    title = _("Elasticsearch")
    signal = elasticsearch_query
    hidden_modules = integration.HIDDEN_MODULES
    columns = [
        Column("method", _("Method")),
        Column("path", _("Path"), format="code"),
        Column("index", _("Index")),
        Column("body", _("Body"), format="json"),
        Column("status", _("Status")),
        Column("duration", _("Duration"), format="duration"),
        Column("took", _("Took (ms)"), format="number"),
        Column("hits", _("Hits"), format="number"),
        Column("error", _("Error"), optional=True),
    ]

    @classmethod
    def ready(cls) -> None:
        if integration.available():
            integration.install()

    @classmethod
    def run_checks(cls) -> list[CheckMessage]:
        errors = super().run_checks()
        if not integration.available():
            errors.append(
                Error(
                    f"{cls.__module__}.{cls.__qualname__} is listed in "
                    "DEBUG_TOOLBAR_PANELS, but the elasticsearch package is not "
                    "installed, so no query can be recorded.",
                    hint="Install elasticsearch-py 8 or 9: "
                    "pip install 'djdt-signalpanels[elasticsearch]'; "
                    "or remove the panel from DEBUG_TOOLBAR_PANELS.",
                    obj=cls,
                    id="djdt_signalpanels.E010",
                )
            )
        return errors

    def summarize(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        # Same method, path and body: the same query, sent again.
        positions: dict[str, list[int]] = {}
        total_ms = 0.0
        for index, event in enumerate(events):
            kwargs = event.get("kwargs", {})
            duration = kwargs.get("duration")
            if isinstance(duration, (int, float)) and not isinstance(duration, bool):
                total_ms += duration
            key = json.dumps(
                [kwargs.get("method"), kwargs.get("path"), kwargs.get("body")],
                sort_keys=True,
                ensure_ascii=False,
            )
            positions.setdefault(key, []).append(index)
        repeated = [indexes for indexes in positions.values() if len(indexes) > 1]
        subtitle = ngettext(
            "%(count)d query in %(time).2f ms",
            "%(count)d queries in %(time).2f ms",
            len(events),
        ) % {"count": len(events), "time": total_ms}
        rows = []
        for indexes in repeated:
            kwargs = events[indexes[0]].get("kwargs", {})
            rows.append(
                [
                    as_text(kwargs.get("method")),
                    as_text(kwargs.get("path")),
                    _short_body(kwargs),
                    str(len(indexes)),
                ]
            )
        tables = (
            [
                {
                    "title": str(_("Duplicate queries")),
                    "headers": [
                        str(_("Method")),
                        str(_("Path")),
                        str(_("Body")),
                        str(_("Count")),
                    ],
                    "rows": rows,
                    "highlight_rows": [],
                }
            ]
            if rows
            else []
        )
        return {
            "subtitle": subtitle,
            "tables": tables,
            "highlight_events": sorted(index for group in repeated for index in group),
        }


def _short_body(kwargs: dict[str, Any]) -> str:
    if "body" not in kwargs:
        return "—"
    text = json.dumps(kwargs["body"], ensure_ascii=False)
    if len(text) <= SUMMARY_BODY_LENGTH:
        return text
    return text[:SUMMARY_BODY_LENGTH] + "…"
