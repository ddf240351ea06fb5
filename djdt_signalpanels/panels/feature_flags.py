"""Feature flag evaluations, per flag, with flags that flipped mid-request.

Listing the panel instruments django-flags and django-waffle when they are
installed; it also records what your own code sends.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..integrations import flags, waffle
from ..panel import Column, SignalPanel, as_text
from ..signals import feature_flag_evaluated

INTEGRATIONS = (flags, waffle)


class FeatureFlagsPanel(SignalPanel):
    """Records :data:`~djdt_signalpanels.signals.feature_flag_evaluated`.

    Listing it instruments django-flags (5.x) and django-waffle (4.x, 5.x, with
    ``"waffle"`` in ``INSTALLED_APPS``) when the toolbar starts, whichever is
    installed; with neither, it records the sends of your own code.
    """

    title = _("Feature flags")
    hidden_modules = flags.HIDDEN_MODULES
    signal = feature_flag_evaluated
    columns = [
        Column("name", _("Flag"), format="code"),
        Column("result", _("Result")),
        Column("variant", _("Variant"), optional=True),
        Column("reason", _("Reason"), optional=True),
        Column("provider", _("Provider"), optional=True),
        Column("kind", _("Kind"), optional=True),
        Column("source", _("Source"), optional=True),
    ]

    @classmethod
    def ready(cls) -> None:
        for integration in INTEGRATIONS:
            if integration.available():
                integration.install()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._activated: list[Any] | None = None

    def enable_instrumentation(self) -> None:
        super().enable_instrumentation()
        # The integrations' deeper wrappers (reasons, sources) stay in place
        # only while some request records: they cost nothing the rest of the time.
        if self._activated is None:
            self._activated = [
                integration for integration in INTEGRATIONS if integration.activate()
            ]

    def disable_instrumentation(self) -> None:
        for integration in self._activated or ():
            integration.deactivate()
        self._activated = []
        super().disable_instrumentation()

    def summarize(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        results: dict[str, list[str]] = {}
        for event in events:
            name = _key(event["kwargs"])
            results.setdefault(name, []).append(as_text(event["kwargs"].get("result")))
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
                if _key(event["kwargs"]) in changed
            ],
        }


def _key(kwargs: dict[str, Any]) -> str:
    """A flag's name; with its kind if given (a waffle switch may share a flag's name)."""
    name = as_text(kwargs.get("name"))
    kind = kwargs.get("kind")
    return f"{name} ({as_text(kind)})" if kind is not None else name
