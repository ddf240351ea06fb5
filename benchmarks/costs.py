"""The harness the ``*_cost.py`` benchmarks share.

Each of them times one call with a library as it ships (uninstrumented) and
with an integration installed while no request records, the two sides
interleaved and their order swapped every pair, and reports the ratio
installed / uninstrumented against a target.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

TARGET = 1.02  # installed-not-recording / uninstrumented, at most
METHOD = (
    "median of per-round ratios of the median call time, "
    "installed-not-recording / uninstrumented; the sides alternate call by "
    "call, order swapped every pair"
)


def parse_args(
    argv: list[str] | None,
    *,
    doc: str | None,
    default_json: Path,
    counts: dict[str, tuple[int, int, str]],
) -> argparse.Namespace:
    """``--quick``, one option per count, ``--json``.

    ``counts`` maps an option's name to its default, its ``--quick`` default
    and its help.
    """
    parser = argparse.ArgumentParser(description=(doc or "").partition("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (small counts)")
    for name, (full, quick, help) in counts.items():
        parser.add_argument(
            f"--{name}", type=int, help=f"{help} (default {full}, quick {quick})"
        )
    parser.add_argument(
        "--json", type=Path, default=default_json, help=f"default {default_json}"
    )
    options = parser.parse_args(argv)
    for name, (full, quick, _) in counts.items():
        setattr(
            options, name, getattr(options, name) or (quick if options.quick else full)
        )
    return options


def setup_django(**settings: Any) -> None:
    """Settings for the package's imports; no request ever records here."""
    import django
    from django.conf import settings as django_settings

    if not django_settings.configured:
        django_settings.configure(DEBUG=True, **settings)
    django.setup()


def order(number: int, pair: int) -> tuple[bool, bool]:
    """The sides (installed or not) of pair ``pair`` in round ``number``."""
    return (False, True) if (number + pair) % 2 == 0 else (True, False)


class _Rounds:
    """Per-round medians of each side's call times, and their ratios."""

    def __init__(self) -> None:
        self.samples: dict[bool, list[float]] = {False: [], True: []}
        self.ratios: list[float] = []

    def add(self, times: dict[bool, list[float]]) -> None:
        medians = {side: statistics.median(values) for side, values in times.items()}
        self.ratios.append(medians[True] / medians[False])
        for side, value in medians.items():
            self.samples[side].append(value)

    def summary(self) -> dict[str, Any]:
        return {
            "ratio": statistics.median(self.ratios),
            "uninstrumented_s_per_call": statistics.median(self.samples[False]),
            "installed_s_per_call": statistics.median(self.samples[True]),
            "ratios": self.ratios,
        }


def compare(
    rounds: int, calls: int, call: Callable[[], Any], instrument: Callable[[bool], None]
) -> dict[str, Any]:
    """Per-round ratios of the median call time, installed / uninstrumented.

    The sides alternate call by call (the order swapped every pair), so both
    see the same load from whatever else runs on the machine.
    """
    measured = _Rounds()
    for side in (False, True):  # warm up: connections, caches
        instrument(side)
        call()
    for number in range(rounds):
        times: dict[bool, list[float]] = {False: [], True: []}
        for pair in range(calls):
            for side in order(number, pair):
                instrument(side)
                started = time.perf_counter()
                call()
                times[side].append(time.perf_counter() - started)
        measured.add(times)
    instrument(False)
    return measured.summary()


async def acompare(
    rounds: int,
    calls: int,
    call: Callable[[], Awaitable[Any]],
    instrument: Callable[[bool], None],
) -> dict[str, Any]:
    """:func:`compare` for a coroutine function, on the running event loop."""
    measured = _Rounds()
    for side in (False, True):
        instrument(side)
        await call()
    for number in range(rounds):
        times: dict[bool, list[float]] = {False: [], True: []}
        for pair in range(calls):
            for side in order(number, pair):
                instrument(side)
                started = time.perf_counter()
                await call()
                times[side].append(time.perf_counter() - started)
        measured.add(times)
    instrument(False)
    return measured.summary()


def figures_json(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """:func:`compare`'s figures by name, rounded, in microseconds, against TARGET."""
    return {
        name: {
            "ratio": round(figures["ratio"], 4),
            "met": figures["ratio"] <= TARGET,
            "uninstrumented_us_per_call": round(
                figures["uninstrumented_s_per_call"] * 1e6, 1
            ),
            "installed_us_per_call": round(figures["installed_s_per_call"] * 1e6, 1),
            "round_ratios": [round(ratio, 4) for ratio in figures["ratios"]],
        }
        for name, figures in results.items()
    }


def print_ratios(
    figures: Iterable[tuple[str, dict[str, Any]]],
    *,
    width: int,
    target: float | None = TARGET,
    unit: str = "us/call",
    number: str = "8.1f",
) -> None:
    """One line a measured call: both sides' times, the ratio, the verdict."""
    for name, each in figures:
        verdict = (
            ""
            if target is None
            else f" (target <= {target}: {'met' if each['met'] else 'NOT met'})"
        )
        print(
            f"  {name:{width}}  uninstrumented "
            f"{each['uninstrumented_us_per_call']:{number}} {unit}, installed and "
            f"not recording {each['installed_us_per_call']:{number}} {unit} "
            f"-> ratio {each['ratio']:.4f}{verdict}"
        )


def write_json(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"JSON written to {path}")
