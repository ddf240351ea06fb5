"""Smoke run of ``benchmarks/concurrency.py --quick``: real servers, real requests.

Asserts the JSON's structure and correctness only (never timings or ratios):
SignalPanel keeps every request's sends, and only its own, on both servers;
and the benchmark does see foreign and missing events where they occur, so a
zero for SignalPanel means something.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "concurrency.py"
VARIANTS = {"signalpanel", "naive", "threadlocal"}
PHASES = {("gunicorn", "sync"), ("uvicorn", "async"), ("uvicorn", "sync")}
ROW_NUMBERS = (
    "requests",
    "completed",
    "errors",
    "seconds",
    "requests_per_second",
    "expected_events",
    "recorded_events",
    "requests_with_foreign",
    "foreign_events",
    "foreign_percent",
    "requests_with_missing",
    "missing_events",
    "duplicate_events",
    "unavailable_panels",
)
# The subprocess is stopped (SIGTERM, so it stops its servers) past this.
TIMEOUT = 90


def require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        message = f"the benchmark smoke run needs {module} (pip install {module})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    require("gunicorn")
    require("uvicorn")
    path = tmp_path_factory.mktemp("benchmark") / "results.json"
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(path)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.terminate()
        output, _ = process.communicate(timeout=60)
        pytest.fail(f"the quick benchmark took more than {TIMEOUT} s:\n{output}")
    assert process.returncode == 0, output
    return json.loads(path.read_text()), output


@pytest.fixture(scope="module")
def results(run: tuple[dict[str, Any], str]) -> dict[str, Any]:
    return run[0]


def rows_of(results: dict[str, Any], variant: str) -> list[dict[str, Any]]:
    return [row for row in results["concurrency"] if row["variant"] == variant]


def test_json_structure(results: dict[str, Any]) -> None:
    assert results["meta"]["quick"] is True
    assert results["meta"]["server_threads"] == 8
    rows = results["concurrency"]
    assert {(row["variant"], row["server"], row["view"]) for row in rows} == {
        (variant, server, view) for variant in VARIANTS for server, view in PHASES
    }
    assert len(rows) == len(VARIANTS) * len(PHASES)
    for row in rows:
        for key in ROW_NUMBERS:
            assert isinstance(row[key], (int, float)) and not isinstance(
                row[key], bool
            ), (key, row)
        assert row["requests"] > 0
        assert row["expected_events"] == row["completed"] * row["events_per_request"]

    costs = results["costs"]
    for name in ("recording", "idle_send"):
        assert isinstance(costs[name]["ratio"], float)
        assert isinstance(costs[name]["met"], bool)
        assert costs[name]["target"]
        assert len(costs[name]["ratio_per_round"]) == costs["rounds"]
    assert isinstance(costs["send_while_other_request_records"]["ratio"], float)


def test_table_is_printed(run: tuple[dict[str, Any], str]) -> None:
    output = run[1]
    assert "reqs w/ foreign" in output
    assert "target >= 10" in output
    assert "target <= 1.2" in output


@pytest.mark.parametrize(("server", "view"), sorted(PHASES))
def test_signalpanel_keeps_requests_apart(
    results: dict[str, Any], server: str, view: str
) -> None:
    [row] = [
        row
        for row in rows_of(results, "signalpanel")
        if (row["server"], row["view"]) == (server, view)
    ]
    assert row["errors"] == 0, row["error_examples"]
    assert row["completed"] == row["requests"]
    assert row["unavailable_panels"] == 0
    assert row["foreign_events"] == 0
    assert row["requests_with_foreign"] == 0
    assert row["missing_events"] == 0
    assert row["duplicate_events"] == 0
    assert row["recorded_events"] == row["expected_events"]


def test_benchmark_detects_foreign_events(results: dict[str, Any]) -> None:
    # Eight concurrent requests, each pausing between sends: the naive panel's
    # receivers get one another's sends. Were counting broken, SignalPanel's
    # zero foreign events above would prove nothing.
    naive = rows_of(results, "naive")
    assert all(row["errors"] == 0 for row in naive)
    assert sum(row["foreign_events"] for row in naive) > 0


def test_benchmark_detects_missing_events(results: dict[str, Any]) -> None:
    # Under ASGI a sync view runs in a worker thread, not in the event loop's
    # thread where enable_instrumentation set the threading.local up.
    [row] = [
        row
        for row in rows_of(results, "threadlocal")
        if (row["server"], row["view"]) == ("uvicorn", "sync")
    ]
    assert row["errors"] == 0
    assert row["missing_events"] > 0
