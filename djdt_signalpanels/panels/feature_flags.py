"""Feature flag evaluations, per flag, with flags that flipped mid-request."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..panel import Column, SignalPanel, as_text
from ..signals import feature_flag_evaluated


class FeatureFlagsPanel(SignalPanel):
    """Records :data:`~djdt_signalpanels.signals.feature_flag_evaluated`."""

    title = _("Feature flags")
    signal = feature_flag_evaluated
    columns = [
        Column("name", _("Flag"), format="code"),
        Column("result", _("Result")),
        Column("variant", _("Variant"), optional=True),
        Column("reason", _("Reason"), optional=True),
        Column("provider", _("Provider"), optional=True),
    ]

    def summarize(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        results: dict[str, list[str]] = {}
        for event in events:
            kwargs = event["kwargs"]
            name = as_text(kwargs.get("name"))
            results.setdefault(name, []).append(as_text(kwargs.get("result")))
        changed = {name for name, seen in results.items() if len(set(seen)) > 1}
        rows = [
            [
                name,
                len(seen),
                ", ".join(dict.fromkeys(seen)),
                _("Yes") if name in changed else _("No"),
            ]
            for name, seen in results.items()
        ]
        subtitle = ngettext(
            "%(count)d evaluation", "%(count)d evaluations", len(events)
        ) % {"count": len(events)}
        if results:
            subtitle += ngettext(
                " of %(count)d flag", " of %(count)d flags", len(results)
            ) % {"count": len(results)}
        if changed:
            subtitle += ngettext(
                ", %(count)d changed", ", %(count)d changed", len(changed)
            ) % {"count": len(changed)}
        return {
            "subtitle": subtitle,
            "tables": [
                {
                    "title": str(_("Flags")),
                    "headers": [
                        str(_("Flag")),
                        str(_("Evaluations")),
                        str(_("Results")),
                        str(_("Changed in this request")),
                    ],
                    "rows": [[str(cell) for cell in row] for row in rows],
                    "highlight_rows": [
                        index for index, name in enumerate(results) if name in changed
                    ],
                }
            ]
            if results
            else [],
            "highlight_events": [
                index
                for index, event in enumerate(events)
                if as_text(event["kwargs"].get("name")) in changed
            ],
        }
