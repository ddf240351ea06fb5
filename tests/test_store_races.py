"""No request id lost when many threads, or one event loop, store at once.

Runs ``benchmarks/stores.py`` on private PostgreSQL and Redis servers: our
RedisStore and DatabaseStore, and DjDT's CacheStore as the control that shows
the run does catch lost ids.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import require

pytestmark = pytest.mark.deployment

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = 960  # 30 per thread at 32 threads; 4 per task at 240 tasks


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    require("postgres", "redis-server")  # fails in CI, skips elsewhere
    output = tmp_path_factory.mktemp("stores") / "stores.json"
    completed = subprocess.run(
        [
            sys.executable,
            "benchmarks/stores.py",
            "--stores",
            "redis,database,djdt-cache",
            "--requests",
            str(REQUESTS),
            "--json",
            str(output),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return {result["store"]: result for result in json.loads(output.read_text())}


@pytest.mark.parametrize("store", ["redis", "database"])
@pytest.mark.parametrize("mode", ["threads", "event loop"])
def test_no_request_id_is_lost(results: dict[str, dict], store: str, mode: str) -> None:
    run = results[store][mode]
    assert run["requests"] == REQUESTS
    assert run["errors"] == 0, run["first_error"]
    assert run["lost"] == 0


@pytest.mark.parametrize("store", ["redis", "database"])
def test_store_keeps_exactly_its_capacity(results: dict[str, dict], store: str) -> None:
    bounded = results[store]["bounded"]
    assert bounded["errors"] == 0
    assert bounded["kept"] == bounded["capacity"] == 100


def test_djdts_cache_store_loses_ids_in_the_same_run(results: dict[str, dict]) -> None:
    """The control: the same threads lose ids with a read-modify-write id list."""
    assert results["djdt-cache"]["threads"]["lost"] > 0
