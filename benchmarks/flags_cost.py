"""What FeatureFlagsPanel's instrumentation costs a flag check while nothing records.

Usage, from the repository root::

    python benchmarks/flags_cost.py            # about a minute
    python benchmarks/flags_cost.py --quick    # about 10 seconds
    python benchmarks/flags_cost.py --json out.json

The same check is timed with the library as it ships (uninstrumented) and with
the integration installed while no request records:

- django-flags: ``flag_enabled("BENCH")`` for a flag defined in the ``FLAGS``
  setting, with ``FLAG_SOURCES`` limited to the settings source, so no
  database query drowns the wrappers' cost;
- django-waffle: ``waffle.switch_is_active("bench")`` for a switch waffle has
  cached (no query), and ``waffle.flag_is_active(request, "bench")`` for a
  cached flag set for ``everyone``.

These are the cheapest checks each library makes, so the ratio shows the
wrappers' own cost at its largest; a check that queries the database pays the
same on top of a query. While nothing records, django-waffle's check passes one
wrapper (the entry point it was called by) and django-flags' none at all (its
wrappers are in place only while a FeatureFlagsPanel records): its ratio shows
the measurement's noise.

Calls are timed in batches of ``--calls``, in this thread's CPU time, in pairs:
one batch per side, back to back, the order swapped every pair, the library
(un)wrapped and warmed up before each batch. The ratio is the median over all
pairs of installed / uninstrumented, so pairs that other work on the machine
disturbed do not count. Target: at most 1.02, while nothing records in the
process.

For information, the same ratio while another request in the process records
(its panel has the deeper wrappers in place, and the signal a receiver).

Prints the figures and writes them as JSON (default
``benchmarks/results/flags_cost.json``). See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import contextvars
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
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

DEFAULT_JSON = HERE / "results" / "flags_cost.json"
# This thread's CPU time: time other processes take from this one does not count.
CLOCK = time.thread_time
WARM_UP = 5  # untimed calls after each install or uninstall


def setup_django() -> None:
    """Both libraries installed, an in-memory database; no request ever records."""
    costs.setup_django(
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "debug_toolbar",
            "djdt_signalpanels",
            "flags",
            "waffle",
        ],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
        },
        CACHES={
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
        },
        DEBUG_TOOLBAR_PANELS=["djdt_signalpanels.panels.FeatureFlagsPanel"],
        FLAGS={"BENCH": [("boolean", True)]},
        FLAG_SOURCES=["flags.sources.SettingsFlagsSource"],
    )
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def compare(
    options: argparse.Namespace,
    call: Callable[[], Any],
    instrument: Callable[[bool], None],
) -> dict[str, Any]:
    """The median, over all pairs of batches, of installed / uninstrumented.

    The two batches of a pair run back to back, so they share the machine's
    state more than any two batches further apart; the median leaves out the
    pairs that other work disturbed.
    """
    calls = range(options.calls)
    times: dict[bool, list[float]] = {False: [], True: []}
    pair_ratios = []
    for number in range(options.rounds):
        for pair in range(options.batches):
            batch = {}
            for side in costs.order(number, pair):
                instrument(side)
                for _ in range(WARM_UP):  # after a swap, caches settle again
                    call()
                started = CLOCK()
                for _ in calls:
                    call()
                batch[side] = (CLOCK() - started) / options.calls
                times[side].append(batch[side])
            pair_ratios.append(batch[True] / batch[False])
    instrument(True)
    return {
        "ratio": statistics.median(pair_ratios),
        "uninstrumented_us_per_call": statistics.median(times[False]) * 1e6,
        "installed_us_per_call": statistics.median(times[True]) * 1e6,
        "pair_ratio_quartiles": statistics.quantiles(pair_ratios, n=4),
    }


def main(argv: list[str] | None = None) -> int:
    options = costs.parse_args(
        argv,
        doc=__doc__,
        default_json=DEFAULT_JSON,
        counts={
            "rounds": (15, 5, "rounds"),
            "batches": (20, 8, "pairs of batches per round"),
            "calls": (200, 100, "calls per batch"),
        },
    )
    setup_django()

    import flags.state
    import waffle
    from django.test import RequestFactory
    from waffle.models import Flag, Switch

    from djdt_signalpanels import recording
    from djdt_signalpanels.integrations import flags as flags_integration
    from djdt_signalpanels.integrations import waffle as waffle_integration
    from djdt_signalpanels.signals import feature_flag_evaluated

    assert recording.current() is None  # no check made here is recorded

    def toggle(integration: Any, *, busy: bool) -> Callable[[bool], None]:
        def instrument(on: bool) -> None:
            if not on:
                integration.uninstall()
            elif not integration.is_installed():
                integration.install()
                if busy:  # as FeatureFlagsPanel does in the recording request
                    integration.activate()

        return instrument

    Switch.objects.create(name="bench", active=True)
    Flag.objects.create(name="bench", everyone=True)
    request = RequestFactory().get("/")
    # Looked up on the module at each call, as the wrappers replace them there.
    checks = {
        "django-flags flag (settings)": (
            lambda: flags.state.flag_enabled("BENCH"),
            flags_integration,
        ),
        "django-waffle switch (cached)": (
            lambda: waffle.switch_is_active("bench"),
            waffle_integration,
        ),
        "django-waffle flag (cached)": (
            lambda: waffle.flag_is_active(request, "bench"),
            waffle_integration,
        ),
    }
    for call, _ in checks.values():
        assert call() is True  # and waffle has cached it now

    results: dict[str, dict[str, Any]] = {"idle": {}, "busy": {}}
    for name, (call, integration) in checks.items():
        figures = compare(options, call, toggle(integration, busy=False))
        figures["met"] = figures["ratio"] <= costs.TARGET
        results["idle"][name] = figures
    # Another request records: the signal has a receiver, the deeper wrappers
    # are in place, and a check made here still is not recorded.
    other_request = contextvars.Context()
    recorded = other_request.run(recording.start, feature_flag_evaluated)
    try:
        for name, (call, integration) in checks.items():
            results["busy"][name] = compare(
                options, call, toggle(integration, busy=True)
            )
    finally:
        other_request.run(recording.stop, recorded, feature_flag_evaluated)
        for _, integration in checks.values():
            integration.uninstall()
            integration.install()
    assert not recorded.events(feature_flag_evaluated)

    report = {
        "benchmark": "flags_cost",
        "target": costs.TARGET,
        "rounds": options.rounds,
        "batch_pairs_per_round": options.batches,
        "calls_per_batch": options.calls,
        "method": "median over pairs of back-to-back batches (thread CPU time "
        "per call) of installed-not-recording / uninstrumented, order swapped "
        "every pair",
        "versions": {
            "python": platform.python_version(),
            "django": metadata.version("django"),
            "django-flags": metadata.version("django-flags"),
            "django-waffle": metadata.version("django-waffle"),
        },
        "checks": results["idle"],
        "while_another_request_records": results["busy"],
        "met": all(figures["met"] for figures in results["idle"].values()),
    }
    print_report(report)
    costs.write_json(report, options.json)
    return 0


def print_report(report: dict[str, Any]) -> None:
    versions = report["versions"]
    print(
        f"django-flags {versions['django-flags']}, django-waffle "
        f"{versions['django-waffle']}, Django {versions['django']}, Python "
        f"{versions['python']}; {report['rounds']} rounds of "
        f"{report['batch_pairs_per_round']} batch pairs of "
        f"{report['calls_per_batch']} checks"
    )
    print("Nothing records in the process:")
    costs.print_ratios(report["checks"].items(), width=30, unit="us", number="7.2f")
    print("(info) Another request in the process records:")
    costs.print_ratios(
        report["while_another_request_records"].items(),
        width=30,
        target=None,
        unit="us",
        number="7.2f",
    )


if __name__ == "__main__":
    sys.exit(main())
