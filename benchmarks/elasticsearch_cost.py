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

import asyncio
import os
import platform
import sys
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

from benchmarks import costs  # noqa: E402

DEFAULT_JSON = HERE / "results" / "elasticsearch_cost.json"
INDEX = "bench"
QUERY = {"match": {"name": "shoe"}}
# Small answers make the call short, so a fixed overhead shows more, not less.
DOCUMENTS = [{"name": f"shoe {number}", "size": 36 + number} for number in range(3)]


def main(argv: list[str] | None = None) -> int:
    options = costs.parse_args(
        argv,
        doc=__doc__,
        default_json=DEFAULT_JSON,
        counts={
            "rounds": (21, 7, "rounds"),
            "calls": (200, 60, "calls per side and round"),
        },
    )
    costs.setup_django(
        INSTALLED_APPS=["debug_toolbar", "djdt_signalpanels"],
        DEBUG_TOOLBAR_PANELS=["djdt_signalpanels.panels.ElasticsearchPanel"],
    )

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
            results["sync"] = costs.compare(
                options.rounds,
                calls,
                lambda: client.search(index=INDEX, query=QUERY),
                instrument,
            )

        async def measure_async() -> dict[str, Any]:
            async with AsyncElasticsearch(server.url) as client:
                return await costs.acompare(
                    options.rounds,
                    calls,
                    lambda: client.search(index=INDEX, query=QUERY),
                    instrument,
                )

        results["async"] = asyncio.run(measure_async())

    report = {
        "benchmark": "elasticsearch_cost",
        "target": costs.TARGET,
        "rounds": options.rounds,
        "calls_per_round": calls,
        "method": costs.METHOD,
        "versions": {
            "python": platform.python_version(),
            "elasticsearch": metadata.version("elasticsearch"),
            "elastic-transport": metadata.version("elastic-transport"),
        },
        "clients": costs.figures_json(results),
    }
    print_report(report)
    costs.write_json(report, options.json)
    return 0


def print_report(report: dict[str, Any]) -> None:
    versions = report["versions"]
    print(
        f"elasticsearch {versions['elasticsearch']} "
        f"(elastic-transport {versions['elastic-transport']}), Python {versions['python']}; "
        f"{report['rounds']} rounds of {report['calls_per_round']} searches per side"
    )
    costs.print_ratios(report["clients"].items(), width=5)


if __name__ == "__main__":
    sys.exit(main())
