"""What ElasticsearchPanel's instrumentation costs a client call while nothing records.

Usage, from the repository root::

    python benchmarks/elasticsearch_cost.py            # under a minute
    python benchmarks/elasticsearch_cost.py --quick    # about 10 seconds
    python benchmarks/elasticsearch_cost.py --json out.json

The same search, made by the real elasticsearch-py client against the same
loopback Elasticsearch server (``tests/loopback/elasticsearch.py``, in this
process), is timed with the client as it ships (uninstrumented) and with the
integration installed while no request records. The two sides alternate call
by call, the order swapped every pair, so both see the same load from other
work on the machine; each round compares the two sides' median call times
(installed / uninstrumented), and the result is the median of the rounds'
ratios. Target: at most 1.02.
Measured for ``Elasticsearch`` and for ``AsyncElasticsearch``.

Prints the figures and writes them as JSON (default
``benchmarks/results/elasticsearch_cost.json``). See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Coroutine
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Run as a script, sys.path[0] is benchmarks/, whose site/ package would shadow
# Python's own site module: import everything from the repository root instead.
if sys.path and Path(sys.path[0] or os.getcwd()).resolve() == HERE:
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_JSON = HERE / "results" / "elasticsearch_cost.json"
TARGET = 1.02  # installed-not-recording / uninstrumented, at most
INDEX = "bench"
QUERY = {"match": {"name": "shoe"}}
# Small answers make the call short, so a fixed overhead shows more, not less.
DOCUMENTS = [{"name": f"shoe {number}", "size": 36 + number} for number in range(3)]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (small counts)")
    parser.add_argument("--rounds", type=int, help="rounds (default 21, quick 7)")
    parser.add_argument(
        "--calls", type=int, help="calls per side and round (default 200, quick 60)"
    )
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help=f"default {DEFAULT_JSON}"
    )
    options = parser.parse_args(argv)
    options.rounds = options.rounds or (7 if options.quick else 21)
    options.calls = options.calls or (60 if options.quick else 200)
    return options


def setup_django() -> None:
    """Settings for the package's imports; no request ever records here."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=True,
            INSTALLED_APPS=["debug_toolbar", "djdt_signalpanels"],
            DEBUG_TOOLBAR_PANELS=["djdt_signalpanels.panels.ElasticsearchPanel"],
        )
    django.setup()


def compare(
    rounds: int, calls: int, call: Callable[[], Any], instrument: Callable[[bool], None]
) -> dict[str, Any]:
    """Per-round ratios of the median call time, installed / uninstrumented.

    The sides alternate call by call (the order swapped every pair), so both
    see the same load from whatever else runs on the machine.
    """
    samples: dict[bool, list[float]] = {False: [], True: []}
    ratios = []
    for side in (False, True):  # warm up: connections, caches
        instrument(side)
        call()
    for number in range(rounds):
        times: dict[bool, list[float]] = {False: [], True: []}
        for pair in range(calls):
            for side in (False, True) if (number + pair) % 2 == 0 else (True, False):
                instrument(side)
                started = time.perf_counter()
                call()
                times[side].append(time.perf_counter() - started)
        medians = {side: statistics.median(values) for side, values in times.items()}
        ratios.append(medians[True] / medians[False])
        for side, value in medians.items():
            samples[side].append(value)
    instrument(False)
    return summary(ratios, samples)


async def acompare(
    rounds: int,
    calls: int,
    call: Callable[[], Coroutine[Any, Any, Any]],
    instrument: Callable[[bool], None],
) -> dict[str, Any]:
    """:func:`compare` for a coroutine function, on the running event loop."""
    samples: dict[bool, list[float]] = {False: [], True: []}
    ratios = []
    for side in (False, True):
        instrument(side)
        await call()
    for number in range(rounds):
        times: dict[bool, list[float]] = {False: [], True: []}
        for pair in range(calls):
            for side in (False, True) if (number + pair) % 2 == 0 else (True, False):
                instrument(side)
                started = time.perf_counter()
                await call()
                times[side].append(time.perf_counter() - started)
        medians = {side: statistics.median(values) for side, values in times.items()}
        ratios.append(medians[True] / medians[False])
        for side, value in medians.items():
            samples[side].append(value)
    instrument(False)
    return summary(ratios, samples)


def summary(ratios: list[float], samples: dict[bool, list[float]]) -> dict[str, Any]:
    return {
        "ratio": statistics.median(ratios),
        "uninstrumented_s_per_call": statistics.median(samples[False]),
        "installed_s_per_call": statistics.median(samples[True]),
        "ratios": ratios,
    }


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    setup_django()

    from elasticsearch import AsyncElasticsearch, Elasticsearch

    from djdt_signalpanels import recording
    from djdt_signalpanels.integrations import elasticsearch as integration
    from tests.loopback.elasticsearch import ElasticsearchServer

    assert recording.current() is None  # nothing records: the case measured

    def instrument(on: bool) -> None:
        if on:
            integration.install()
        else:
            integration.uninstall()

    calls = options.calls
    results: dict[str, Any] = {}
    with ElasticsearchServer(indices={INDEX: DOCUMENTS}) as server:
        with Elasticsearch(server.url) as client:
            assert client.search(index=INDEX, query=QUERY)["hits"]["total"]["value"]
            results["sync"] = compare(
                options.rounds,
                calls,
                lambda: client.search(index=INDEX, query=QUERY),
                instrument,
            )

        async def measure_async() -> dict[str, Any]:
            async with AsyncElasticsearch(server.url) as client:
                return await acompare(
                    options.rounds,
                    calls,
                    lambda: client.search(index=INDEX, query=QUERY),
                    instrument,
                )

        results["async"] = asyncio.run(measure_async())

    report = {
        "benchmark": "elasticsearch_cost",
        "target": TARGET,
        "rounds": options.rounds,
        "calls_per_round": calls,
        "method": "median of per-round ratios of the median call time, "
        "installed-not-recording / uninstrumented; the sides alternate call by "
        "call, order swapped every pair",
        "versions": {
            "python": platform.python_version(),
            "elasticsearch": metadata.version("elasticsearch"),
            "elastic-transport": metadata.version("elastic-transport"),
        },
        "clients": {
            name: {
                "ratio": round(figures["ratio"], 4),
                "met": figures["ratio"] <= TARGET,
                "uninstrumented_us_per_call": round(
                    figures["uninstrumented_s_per_call"] * 1e6, 1
                ),
                "installed_us_per_call": round(
                    figures["installed_s_per_call"] * 1e6, 1
                ),
                "round_ratios": [round(ratio, 4) for ratio in figures["ratios"]],
            }
            for name, figures in results.items()
        },
    }
    print_report(report)
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"JSON written to {options.json}")
    return 0


def print_report(report: dict[str, Any]) -> None:
    versions = report["versions"]
    print(
        f"elasticsearch {versions['elasticsearch']} "
        f"(elastic-transport {versions['elastic-transport']}), Python {versions['python']}; "
        f"{report['rounds']} rounds of {report['calls_per_round']} searches per side"
    )
    for name, figures in report["clients"].items():
        verdict = "met" if figures["met"] else "NOT met"
        print(
            f"  {name:5}  uninstrumented {figures['uninstrumented_us_per_call']:8.1f} us/call, "
            f"installed and not recording {figures['installed_us_per_call']:8.1f} us/call "
            f"-> ratio {figures['ratio']:.4f} (target <= {report['target']}: {verdict})"
        )


if __name__ == "__main__":
    sys.exit(main())
