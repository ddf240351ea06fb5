"""LLM API calls: tokens, durations and costs, per call and per model."""

from __future__ import annotations

import importlib
from typing import Any, TypeGuard

from django.core.checks import CheckMessage, Error
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .. import conf
from ..panel import Column, SignalPanel, as_text
from ..signals import llm_call

LIBRARIES = ("openai", "anthropic")


def is_count(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def count(kwargs: dict[str, Any], name: str) -> int:
    value = kwargs.get(name)
    return value if is_count(value) else 0


def call_cost(kwargs: dict[str, Any], prices: dict[str, Any]) -> float | None:
    """What one call cost by the price table, or None when unknown.

    The response model (a dated snapshot, often) is looked up first, then the
    requested one. Cached input tokens cost ``cached_input`` when given, else
    ``input``; input tokens include the cached ones.
    """
    price = None
    for key in ("response_model", "request_model"):
        model = kwargs.get(key)
        if isinstance(model, str) and isinstance(prices.get(model), dict):
            price = prices[model]
            break
    counted = is_count(kwargs.get("input_tokens")) or is_count(
        kwargs.get("output_tokens")
    )
    if price is None or not counted:
        return None
    tokens = count(kwargs, "input_tokens")
    cached = min(count(kwargs, "cached_tokens"), tokens)
    try:
        total = (
            (tokens - cached) * price["input"]
            + cached * price.get("cached_input", price["input"])
            + count(kwargs, "output_tokens") * price["output"]
        )
        return float(total) / 1_000_000
    except (KeyError, TypeError, ValueError):  # a malformed price (E012 says so)
        return None


def format_cost(cost: float) -> str:
    return f"{cost:,.6f}"


class LLMPanel(SignalPanel):
    """Records :data:`~djdt_signalpanels.signals.llm_call`.

    Listing the panel instruments the openai and anthropic SDKs, whichever are
    installed. When ``LLM_PRICES`` prices a call's model, :meth:`summarize`
    adds the call's cost to its row (as a ``cost`` value next to the sent
    arguments) before the request's calls are stored: the cost is analysis,
    computed once with the prices in force at the time of the request.
    """

    title = _("LLM calls")
    signal = llm_call
    columns = [
        Column("provider", _("Provider")),
        Column("operation", _("Operation")),
        Column("request_model", _("Model"), format="code"),
        Column("response_model", _("Response model"), format="code", optional=True),
        Column("input_tokens", _("Input tokens"), format="number"),
        Column("output_tokens", _("Output tokens"), format="number"),
        Column("cached_tokens", _("Cached tokens"), format="number", optional=True),
        Column(
            "reasoning_tokens", _("Reasoning tokens"), format="number", optional=True
        ),
        Column("finish_reasons", _("Finish reasons")),
        Column("duration", _("Duration"), format="duration"),
        Column(
            "time_to_first_chunk", _("First chunk"), format="duration", optional=True
        ),
        Column("stream", _("Stream"), format="bool", optional=True),
        Column("error_type", _("Error"), optional=True),
        Column("cost", _("Cost"), optional=True),
        Column("input_preview", _("Input"), optional=True),
        Column("output_preview", _("Output"), optional=True),
    ]

    @classmethod
    def ready(cls) -> None:
        from ..integrations import anthropic, openai

        openai.install()
        anthropic.install()

    @classmethod
    def run_checks(cls) -> list[CheckMessage]:
        errors = super().run_checks()
        if not any(_imports(name) for name in LIBRARIES):
            errors.append(
                Error(
                    f"{cls.__module__}.{cls.__qualname__} is listed in "
                    "DEBUG_TOOLBAR_PANELS, but neither openai nor anthropic is "
                    "installed: it has no calls to record.",
                    hint="Install the SDK you use, for example "
                    "pip install 'djdt-signalpanels[openai]' or "
                    "'djdt-signalpanels[anthropic]'.",
                    obj=cls,
                    id="djdt_signalpanels.E011",
                )
            )
        return errors

    def summarize(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        prices = conf.llm_prices()
        models: dict[str, dict[str, Any]] = {}
        tokens = 0
        duration = 0.0
        for event in events:
            kwargs = event["kwargs"]
            cost = call_cost(kwargs, prices) if prices else None
            if cost is not None and "cost" not in kwargs:
                kwargs["cost"] = format_cost(cost)
            model = kwargs.get("request_model") or kwargs.get("response_model")
            totals = models.setdefault(
                as_text(model) if model is not None else "—",
                {"calls": 0, "input": 0, "output": 0, "cost": 0.0, "priced": False},
            )
            totals["calls"] += 1
            for key, name in (("input", "input_tokens"), ("output", "output_tokens")):
                if is_count(kwargs.get(name)):
                    totals[key] += kwargs[name]
                    tokens += kwargs[name]
            if cost is not None:
                totals["cost"] += cost
                totals["priced"] = True
            if isinstance(kwargs.get("duration"), (int, float)):
                duration += kwargs["duration"]
        subtitle = ngettext("%(count)d call", "%(count)d calls", len(events)) % {
            "count": len(events)
        }
        subtitle += ngettext(", %(tokens)s token", ", %(tokens)s tokens", tokens) % {
            "tokens": f"{tokens:,}"
        }
        subtitle += gettext(", %(duration).2f ms") % {"duration": duration}
        headers = [_("Model"), _("Calls"), _("Input tokens"), _("Output tokens")]
        if prices:
            headers.append(_("Cost"))
        rows = []
        for model, totals in models.items():
            row = [
                model,
                totals["calls"],
                f"{totals['input']:,}",
                f"{totals['output']:,}",
            ]
            if prices:
                row.append(format_cost(totals["cost"]) if totals["priced"] else "—")
            rows.append([str(cell) for cell in row])
        return {
            "subtitle": subtitle,
            "tables": [
                {
                    "title": str(_("Models")),
                    "headers": [str(header) for header in headers],
                    "rows": rows,
                    "highlight_rows": [],
                }
            ]
            if models
            else [],
            "highlight_events": [
                index
                for index, event in enumerate(events)
                if "error_type" in event["kwargs"]
            ],
        }


def _imports(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True
