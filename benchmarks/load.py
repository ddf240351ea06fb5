"""Load test of the signal panels on real multi-process deployments.

Usage, from the repository root::

    python benchmarks/load.py                      # every server and store: ~15 minutes
    python benchmarks/load.py --server uvicorn --store redis --duration 10
    python benchmarks/load.py --skip-baseline --json out.json

It starts PostgreSQL and Redis (``tests/services.py``), then for each server
(gunicorn: 4 gthread workers of 8 threads; uvicorn: 4 workers) and toolbar store
(redis, database) the example site with the toolbar and every signal panel
(``tests/deployment.py``). ``wrk`` drives it for ``--duration`` seconds through
``benchmarks/load.lua``, every request carrying a unique token; afterwards every
recorded request's signal panels are read back through DjDT's ``render_panel``
view, on whichever worker answers, and counted for foreign and missing events.
A baseline compares requests per second with and without the signal panels.

It prints a table, writes JSON (default ``benchmarks/results/load.json``) and
exits with status 1 on any foreign or missing event, unavailable panel, non-2xx
response, connect, read or write error, response not recorded or not verified,
or when no request completed. wrk's timeouts (responses slower than
``--timeout``, still read and verified) are shown, not failed.
Needs ``wrk``, PostgreSQL and ``redis-server``. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal as os_signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
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

from benchmarks.concurrency import version  # noqa: E402
from tests import deployment, services  # noqa: E402

LUA_SCRIPT = HERE / "load.lua"
DEFAULT_JSON = HERE / "results" / "load.json"
SERVERS = ("gunicorn", "uvicorn")
STORES = ("redis", "database")
HOST = "127.0.0.1"
SOCKET_ERRORS = ("connect", "read", "write", "timeout")  # as wrk prints them

# The token load.lua puts in each request: "tk" + thread id + 7-digit counter + "z".
TOKEN_RE = re.compile(r"^tk([0-9a-f]+)([0-9a-f]{7})z$")


@dataclass(frozen=True)
class Options:
    wrk: str = "wrk"  # the binary, or its path
    duration: int = 30
    connections: int = 64
    threads: int = 2  # wrk's
    timeout: int = 10  # wrk's per-request timeout, seconds
    warmup: int = 3
    keep_alive: bool = False  # else a new connection per request, any worker's
    workers: int = 4
    server_threads: int = 8  # gunicorn gthread threads per worker
    baseline_duration: int = 10
    baseline_rounds: int = 3  # pairs of with/without runs, order swapped each pair
    fetch_threads: int = 16
    verify_timeout: float = 900.0
    cache_size: int = 100_000  # RESULTS_CACHE_SIZE: must hold every request of a run


# wrk


@dataclass(frozen=True)
class Record:
    """One response, as load.lua wrote it."""

    status: int
    token: str | None
    request_id: str | None
    served_by: str | None


@dataclass(frozen=True)
class WrkRun:
    requests: int  # responses wrk completed
    seconds: float
    requests_per_second: float
    socket_errors: dict[str, int]  # SOCKET_ERRORS
    non_2xx_3xx: int
    latency_avg: float | None  # seconds, of the responses within wrk's timeout
    latency_max: float | None
    records: list[Record] = field(repr=False)

    @property
    def statuses(self) -> Counter[int]:
        return Counter(record.status for record in self.records)


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_wrk(output: str) -> dict[str, Any]:
    """Figures from wrk's summary; the error lines appear only when non-zero."""
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h),", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if total is None or rate is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    latency = re.search(
        r"Latency\s+([\d.]+)(us|ms|s|m|h)\s+[\d.]+\w+\s+([\d.]+)(us|ms|s|m|h)", output
    )
    return {
        "requests": int(total.group(1)),
        "seconds": float(total.group(2)) * _UNITS[total.group(3)],
        "requests_per_second": float(rate.group(1)),
        "socket_errors": {
            kind: int(errors.group(i + 1)) if errors else 0
            for i, kind in enumerate(SOCKET_ERRORS)
        },
        "non_2xx_3xx": int(non_2xx.group(1)) if non_2xx else 0,
        # wrk prints no latency figures when no response came in time
        "latency_avg": float(latency.group(1)) * _UNITS[latency.group(2)]
        if latency
        else None,
        "latency_max": float(latency.group(3)) * _UNITS[latency.group(4)]
        if latency
        else None,
    }


def read_records(out_dir: Path) -> list[Record]:
    records = []
    for path in sorted(out_dir.glob("thread-*.txt")):
        for line in path.read_text().splitlines():
            status, token, request_id, served_by = line.split(" ")
            records.append(
                Record(
                    int(status),
                    None if token == "-" else token,
                    None if request_id == "-" else request_id,
                    None if served_by == "-" else served_by,
                )
            )
    return records


def run_wrk(port: int, duration: int, options: Options) -> WrkRun:
    """One wrk run against 127.0.0.1:port, with every response recorded."""
    wrk = shutil.which(options.wrk)
    if wrk is None:
        raise RuntimeError(f"{options.wrk} not found; on Debian: apt-get install wrk")
    with tempfile.TemporaryDirectory(prefix="djdt-load-") as out_dir:
        command = [
            wrk,
            f"-t{options.threads}",
            f"-c{options.connections}",
            f"-d{duration}s",
            f"--timeout={options.timeout}s",
            "-s",
            str(LUA_SCRIPT),
            f"http://{HOST}:{port}/",
            "--",
            out_dir,
            "keep-alive" if options.keep_alive else "close",
            *deployment.PAGES,
        ]
        # wrk stops by itself after the duration; the margin covers the requests
        # still in flight (at most one timeout) and a slow start.
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=duration + options.timeout + 30,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stderr}")
        summary = parse_wrk(done.stdout)
        return WrkRun(**summary, records=read_records(Path(out_dir)))


# Verification


def page_of(token: str) -> str | None:
    """The page template load.lua used for the token (same rule as the script)."""
    match = TOKEN_RE.match(token)
    if match is None:
        return None  # not a token load.lua makes
    counter = int(match.group(2), 16)
    return deployment.PAGES[(counter - 1) % len(deployment.PAGES)]


@dataclass
class Verification:
    responses_2xx: int = 0  # what should be checked
    checked: int = 0  # requests whose panels were all read
    foreign: int = 0  # events of other requests shown in a request's panels
    missing: int = 0  # the request's own events not shown
    unavailable: int = 0  # requests whose panels the store no longer had
    cross_worker: int = 0  # requests with a panel served by another worker
    errors: int = 0  # checks that raised or could not fetch a panel
    unparsed: int = 0  # 2xx responses without a token or request id
    duplicate_tokens: int = 0
    duplicate_request_ids: int = 0
    examples: list[str] = field(default_factory=list)  # a few problems, for people
    seconds: float = 0.0

    def note(self, text: str) -> None:
        if len(self.examples) < 10:
            self.examples.append(text)


def check_duplicates(records: list[Record], result: Verification) -> None:
    for name, values in (
        ("token", [r.token for r in records if r.token]),
        ("request id", [r.request_id for r in records if r.request_id]),
    ):
        repeated = [value for value, n in Counter(values).items() if n > 1]
        for value in repeated[:3]:
            result.note(f"{name} {value} appears in more than one response")
        if name == "token":
            result.duplicate_tokens = len(repeated)
        else:
            result.duplicate_request_ids = len(repeated)


def verify(
    site: deployment.Site, records: list[Record], options: Options
) -> Verification:
    """Read every 2xx response's signal panels back and count wrong events."""
    result = Verification()
    started = time.perf_counter()
    check_duplicates(records, result)
    todo = []  # (record, page template, token, request id)
    for record in records:
        if not 200 <= record.status < 300:
            continue
        result.responses_2xx += 1
        token, request_id = record.token, record.request_id
        page = page_of(token) if token is not None else None
        if token is None or page is None or request_id is None:
            result.unparsed += 1
            result.note(f"a {record.status} response without a token or request id")
            continue
        todo.append((record, page, token, request_id))

    with ThreadPoolExecutor(options.fetch_threads) as pool:
        futures = {
            pool.submit(deployment.check_request, site, page, token, request_id): record
            for record, page, token, request_id in todo
        }
        done, pending = wait(futures, timeout=options.verify_timeout)
        for future in pending:  # the deadline passed: give up, count them
            future.cancel()
        for future in done:
            record = futures[future]
            try:
                verdict = future.result()
            except Exception as exc:  # reported; it fails the run
                result.errors += 1
                result.note(f"{record.token}: check failed: {exc!r}")
                continue
            add_verdict(result, record, verdict)
    if pending:
        result.note(f"{len(pending)} checks not done within {options.verify_timeout} s")
    result.seconds = round(time.perf_counter() - started, 1)
    return result


def add_verdict(
    result: Verification, record: Record, verdict: deployment.Verdict
) -> None:
    if verdict.errors:  # some panel could not be fetched: not verified
        result.errors += 1
        result.note(f"{record.token}: {'; '.join(verdict.errors)}")
        return
    result.checked += 1
    result.foreign += verdict.foreign
    result.missing += verdict.missing
    if verdict.unavailable:
        result.unavailable += 1
    if verdict.served_by - {record.served_by}:
        result.cross_worker += 1
    if verdict.foreign or verdict.missing or verdict.unavailable:
        result.note(
            f"{record.token} (request {record.request_id}, served by "
            f"{record.served_by}): foreign {verdict.foreign}, missing "
            f"{verdict.missing}, unavailable {verdict.unavailable_panels}"
        )


# Configurations


def warm_up(site: deployment.Site, options: Options) -> None:
    """Start every worker's lazy parts (imports, loopback services, connections)."""
    if options.warmup > 0:
        settle(run_wrk(site.port, options.warmup, options), options)


def settle(run: WrkRun, options: Options) -> None:
    """Let the requests wrk left in flight (one per connection) finish.

    wrk stops at the deadline without waiting for their responses; the
    servers still work on them, and would slow the next run down. They drain
    at about the rate just measured.
    """
    backlog = options.connections / max(run.requests_per_second, 1.0)
    time.sleep(min(max(backlog, 1.0), options.timeout))


def load_summary(run: WrkRun) -> dict[str, Any]:
    statuses = run.statuses
    return {
        "requests": run.requests,
        "recorded": len(run.records),
        "seconds": round(run.seconds, 2),
        "requests_per_second": run.requests_per_second,
        "latency_avg_s": run.latency_avg,
        "latency_max_s": run.latency_max,
        "statuses": {str(status): n for status, n in sorted(statuses.items())},
        "non_2xx": sum(n for status, n in statuses.items() if not 200 <= status < 300),
        "server_errors": sum(n for status, n in statuses.items() if status >= 500),
        "socket_errors": run.socket_errors,
        # keep-alive connections stay on the worker that accepted them
        "responses_per_worker": sorted(
            Counter(r.served_by for r in run.records if r.served_by).values(),
            reverse=True,
        ),
    }


def compare_baseline(
    with_panels: deployment.Site, without_panels: deployment.Site, options: Options
) -> dict[str, Any]:
    """Alternate short runs on both sites, so machine load hits both alike."""
    sites = {"with": with_panels, "without": without_panels}
    runs: dict[str, list[WrkRun]] = {"with": [], "without": []}
    for pair in range(options.baseline_rounds):
        order = ("without", "with") if pair % 2 == 0 else ("with", "without")
        for side in order:
            run = run_wrk(sites[side].port, options.baseline_duration, options)
            settle(run, options)
            runs[side].append(run)
            print(f"    baseline {side} panels: {run.requests_per_second:.1f} req/s")
    # Each pair ran back to back: its ratio saw one machine load.
    pair_ratios = [
        w.requests_per_second / max(wo.requests_per_second, 1e-9)
        for w, wo in zip(runs["with"], runs["without"], strict=True)
    ]

    def rate(side: str) -> float:
        return sum(r.requests for r in runs[side]) / sum(r.seconds for r in runs[side])

    def count(side: str, bad: Callable[[int], bool]) -> int:
        return sum(n for r in runs[side] for s, n in r.statuses.items() if bad(s))

    return {
        "runs_per_side": options.baseline_rounds,
        "seconds_per_run": options.baseline_duration,
        "with_rps": round(rate("with"), 1),
        "without_rps": round(rate("without"), 1),
        "ratio": round(statistics.median(pair_ratios), 3),
        "ratio_of_totals": round(rate("with") / rate("without"), 3),
        "pair_ratios": [round(r, 3) for r in pair_ratios],
        "per_run_rps": {
            side: [r.requests_per_second for r in runs[side]] for side in runs
        },
        "non_2xx": {side: count(side, lambda s: not 200 <= s < 300) for side in runs},
        "server_errors": {side: count(side, lambda s: s >= 500) for side in runs},
        "socket_errors": {
            side: {
                kind: sum(r.socket_errors[kind] for r in runs[side])
                for kind in SOCKET_ERRORS
            }
            for side in runs
        },
    }


@contextmanager
def site(
    server: str,
    store: str,
    postgres: services.PostgresServer,
    redis: services.RedisServer | None,
    options: Options,
    *,
    signal_panels: bool = True,
) -> Iterator[deployment.Site]:
    with deployment.running_site(
        server,
        store,
        postgres=postgres,
        redis=redis,
        workers=options.workers,
        threads=options.server_threads,
        signal_panels=signal_panels,
        cache_size=options.cache_size,
    ) as running:
        yield running


def run_configuration(
    server: str,
    store: str,
    *,
    postgres: services.PostgresServer,
    redis: services.RedisServer | None,
    options: Options,
    baseline: bool = True,
) -> dict[str, Any]:
    """Load, verify and (optionally) compare one server and store."""
    label = f"{server}/{store}"
    started = time.perf_counter()
    with ExitStack() as stack:
        print(f"{label}: starting the site", flush=True)
        with_site = stack.enter_context(site(server, store, postgres, redis, options))
        warm_up(with_site, options)
        print(f"{label}: wrk for {options.duration} s", flush=True)
        run = run_wrk(with_site.port, options.duration, options)
        load = load_summary(run)
        print(
            f"{label}: {run.requests} requests ({run.requests_per_second:.1f}/s), "
            f"verifying",
            flush=True,
        )
        checked = verify(with_site, run.records, options)
        comparison = None
        if baseline:
            print(
                f"{label}: baseline, starting the site without signal panels",
                flush=True,
            )
            without_site = stack.enter_context(
                site(server, store, postgres, redis, options, signal_panels=False)
            )
            warm_up(without_site, options)
            comparison = compare_baseline(with_site, without_site, options)
    row = {
        "server": server,
        "store": store,
        "workers": options.workers,
        "cache_size": options.cache_size,
        "load": load,
        "verification": asdict(checked),
        "baseline": comparison,
        "seconds": round(time.perf_counter() - started, 1),
    }
    row["problems"] = problems(row)
    return row


def run_or_report(server: str, store: str, **kwargs: Any) -> dict[str, Any]:
    """run_configuration(), or a row saying why it failed: the others still run."""
    try:
        return run_configuration(server, store, **kwargs)
    except Exception as error:  # reported; it fails the run
        traceback.print_exc()
        return {
            "server": server,
            "store": store,
            "error": repr(error),
            "problems": [
                f"failed: {str(error).splitlines()[0] if str(error) else repr(error)}"
            ],
        }


def broken_connections(socket_errors: dict[str, int]) -> int:
    """Connect, read and write errors; not wrk's timeouts.

    wrk counts a response slower than its timeout as a timeout and still reads
    it (load.lua records it, and it is verified): on a loaded machine that is a
    queue of requests, not a failure. The row shows them.
    """
    return sum(n for kind, n in socket_errors.items() if kind != "timeout")


def problems(row: dict[str, Any]) -> list[str]:
    """What makes the run fail; empty when all is well."""
    load, checked, baseline = row["load"], row["verification"], row["baseline"]
    found = []
    if load["requests"] == 0:
        found.append("no request completed")
    if load["recorded"] != load["requests"]:
        found.append(f"{load['recorded']} of {load['requests']} responses recorded")
    if load["requests"] > row["cache_size"]:
        found.append("more requests than RESULTS_CACHE_SIZE holds")
    for key, text in (
        ("server_errors", "5xx responses"),
        ("non_2xx", "non-2xx responses"),
    ):
        if load[key]:
            found.append(f"{load[key]} {text}")
    if broken_connections(load["socket_errors"]):
        found.append(f"socket errors {load['socket_errors']}")
    for key in (
        "foreign",
        "missing",
        "unavailable",
        "errors",
        "unparsed",
        "duplicate_tokens",
        "duplicate_request_ids",
    ):
        if checked[key]:
            found.append(f"{checked[key]} {key.replace('_', ' ')}")
    if checked["checked"] != checked["responses_2xx"]:
        found.append(
            f"{checked['checked']} of {checked['responses_2xx']} 2xx responses verified"
        )
    if baseline is not None:
        for side in ("with", "without"):
            for key in ("server_errors", "non_2xx"):
                if n := baseline[key][side]:
                    found.append(f"baseline {side} panels: {n} {key.replace('_', ' ')}")
            if broken_connections(errors := baseline["socket_errors"][side]):
                found.append(f"baseline {side} panels: socket errors {errors}")
    return found


# Report

TABLE_COLUMNS = (
    ("config", "server/store", 17),
    ("requests", "requests", 8),
    ("rps", "req/s", 7),
    ("latency", "latency avg/max s", 17),
    ("spread", "workers", 7),
    ("5xx", "5xx", 4),
    ("non2xx", "non-2xx", 7),
    ("sockets", "sock err", 8),
    ("timeouts", "timeouts", 8),
    ("verified", "verified", 11),
    ("foreign", "foreign", 7),
    ("missing", "missing", 7),
    ("unavailable", "unavail", 7),
    ("cross", "cross-worker", 12),
    ("without", "req/s w/o", 9),
    ("ratio", "with/w/o", 8),
)


def table_cells(row: dict[str, Any]) -> dict[str, str]:
    load, checked, baseline = row["load"], row["verification"], row["baseline"]
    share = checked["cross_worker"] / checked["checked"] if checked["checked"] else 0
    return {
        "config": f"{row['server']}/{row['store']}",
        "requests": str(load["requests"]),
        "rps": f"{load['requests_per_second']:.1f}",
        "latency": "-"
        if load["latency_avg_s"] is None
        else f"{load['latency_avg_s']:.2f}/{load['latency_max_s']:.2f}",
        "spread": f"{len(load['responses_per_worker'])}/{row['workers']}",
        "5xx": str(load["server_errors"]),
        "non2xx": str(load["non_2xx"]),
        "sockets": str(broken_connections(load["socket_errors"])),
        "timeouts": str(load["socket_errors"]["timeout"]),
        "verified": f"{checked['checked']}/{load['requests']}",
        "foreign": str(checked["foreign"]),
        "missing": str(checked["missing"]),
        "unavailable": str(checked["unavailable"]),
        "cross": f"{share:.0%}",
        "without": f"{baseline['without_rps']:.1f}" if baseline else "-",
        "ratio": f"{baseline['ratio']:.2f}" if baseline else "-",
    }


def format_table(rows: list[dict[str, Any]]) -> str:
    header = "  ".join(
        f"{label:<{width}}" if i == 0 else f"{label:>{width}}"
        for i, (_, label, width) in enumerate(TABLE_COLUMNS)
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        if "error" in row:
            config = f"{row['server']}/{row['store']}"
            lines.append(f"{config:<{TABLE_COLUMNS[0][2]}}  {row['problems'][0]}")
            continue
        cells = table_cells(row)
        lines.append(
            "  ".join(
                f"{cells[key]:<{width}}" if i == 0 else f"{cells[key]:>{width}}"
                for i, (key, _, width) in enumerate(TABLE_COLUMNS)
            )
        )
    return "\n".join(lines)


def wrk_version() -> str | None:
    done = subprocess.run(
        ["wrk", "-v"], capture_output=True, text=True, timeout=10, check=False
    )
    first = (done.stdout or done.stderr).splitlines()
    return first[0].strip() if first else None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Load the example site on multi-worker servers with wrk and "
        "verify every request's signal panels."
    )

    def choices(allowed: tuple[str, ...]) -> Any:
        def parse(text: str) -> tuple[str, ...]:
            picked = tuple(part.strip() for part in text.split(",") if part.strip())
            wrong = set(picked) - set(allowed)
            if wrong or not picked:
                raise argparse.ArgumentTypeError(
                    f"choose from {', '.join(allowed)} (comma-separated)"
                )
            return picked

        return parse

    parser.add_argument("--server", type=choices(SERVERS), default=SERVERS)
    parser.add_argument("--store", type=choices(STORES), default=STORES)
    parser.add_argument("--duration", type=int, default=Options.duration)
    parser.add_argument("--connections", type=int, default=Options.connections)
    parser.add_argument("--threads", type=int, default=Options.threads, help="wrk's")
    parser.add_argument("--workers", type=int, default=Options.workers)
    parser.add_argument(
        "--baseline-duration", type=int, default=Options.baseline_duration
    )
    parser.add_argument("--baseline-rounds", type=int, default=Options.baseline_rounds)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--timeout", type=int, default=Options.timeout, help="wrk's, seconds"
    )
    parser.add_argument(
        "--keep-alive",
        action="store_true",
        help="keep wrk's connections open (each stays on one worker)",
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    return parser.parse_args(argv)


@contextmanager
def backing_services(
    stores: Sequence[str],
) -> Iterator[tuple[services.PostgresServer, services.RedisServer | None]]:
    """PostgreSQL always (the site's database); Redis when a store needs it."""
    with ExitStack() as stack:
        postgres = stack.enter_context(services.PostgresServer())
        redis = (
            stack.enter_context(services.RedisServer()) if "redis" in stores else None
        )
        yield postgres, redis


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    options = Options(
        duration=args.duration,
        connections=args.connections,
        threads=args.threads,
        workers=args.workers,
        baseline_duration=args.baseline_duration,
        baseline_rounds=args.baseline_rounds,
        timeout=args.timeout,
        keep_alive=args.keep_alive,
    )
    started = time.perf_counter()
    rows = []
    with backing_services(args.store) as (postgres, redis):
        for server in args.server:
            for store in args.store:
                rows.append(
                    run_or_report(
                        server,
                        store,
                        postgres=postgres,
                        redis=redis,
                        options=options,
                        baseline=not args.skip_baseline,
                    )
                )
    results: dict[str, Any] = {
        "meta": {
            "options": asdict(options),
            "pages": list(deployment.PAGES),
            "signal_panels": list(deployment.SIGNAL_PANELS),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "wrk": wrk_version(),
            "versions": {
                name: version(name)
                for name in ("django", "django-debug-toolbar", "gunicorn", "uvicorn")
            },
            "seconds": round(time.perf_counter() - started, 1),
        },
        "configurations": rows,
    }
    print()
    print(format_table(rows))
    failed = False
    for row in rows:
        for problem in row["problems"]:
            failed = True
            print(f"FAIL {row['server']}/{row['store']}: {problem}")
        for example in row.get("verification", {}).get("examples", []):
            print(f"  {row['server']}/{row['store']}: {example}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nJSON written to {args.json} ({results['meta']['seconds']} s)")
    return 1 if failed else 0


if __name__ == "__main__":

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)  # so the servers are stopped on the way out

    os_signal.signal(os_signal.SIGTERM, stop)
    sys.exit(main())
