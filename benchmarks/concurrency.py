"""Concurrency and cost benchmark for djdt-signalpanels.

Usage, from the repository root::

    python benchmarks/concurrency.py            # full run, a few minutes
    python benchmarks/concurrency.py --quick    # short run, well under a minute
    python benchmarks/concurrency.py --json out.json

Part 1 (servers): for each panel variant (SignalPanel, the naive tutorial panel,
a threading.local panel) it starts a real server of its own on 127.0.0.1 (gunicorn
with gthread workers: 1 process, 8 threads; then uvicorn: 1 process, async and sync
views), sends concurrent requests that each send a known number of tagged events,
then reads every request's panel back through DjDT's ``render_panel`` view and
counts events that belong to other requests (foreign) and events that are missing.

Part 2 (costs): per-event cost ratios measured side by side in this process, with
interleaved repetitions and the median of several rounds.

It prints a table and writes all figures as JSON (default
``benchmarks/results/latest.json``). See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import contextvars
import http.client
import json
import os
import platform
import re
import signal as os_signal
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
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

from tests.services import free_port  # noqa: E402

SETTINGS_MODULE = "benchmarks.site.settings"
DEFAULT_JSON = HERE / "results" / "latest.json"

# Variant name (DJDT_BENCH_PANEL) -> panel id (the class name).
VARIANTS = {
    "signalpanel": "SignalPanelVariant",
    "naive": "NaivePanel",
    "threadlocal": "ThreadLocalPanel",
}
# Server -> the views it is driven through, one phase each.
SERVERS = {"gunicorn": ("sync",), "uvicorn": ("async", "sync")}
SERVER_THREADS = 8

REQUEST_ID_RE = re.compile(r'data-request-id="([0-9a-f]+)"')
EVENT_RE = re.compile(r"evt:([0-9a-z]+):(\d+)")
UNAVAILABLE = "available anymore"  # DjDT's text when a request was evicted

RECORDING_TARGET = 10.0  # usual / ours, at least
IDLE_TARGET = 1.2  # idle send / send with no receivers, at most
STACK_DEPTH = 30


@dataclass(frozen=True)
class Config:
    requests: int
    events: int
    concurrency: int
    pause: float
    warmup: int
    request_timeout: float
    server_start_timeout: float
    rounds: int
    recording_sends: int
    idle_sends: int
    variants: tuple[str, ...]
    servers: tuple[str, ...]
    quick: bool


def parse_args(argv: list[str] | None) -> tuple[Config, Path, bool]:
    parser = argparse.ArgumentParser(
        description="Concurrency and per-event cost benchmark of the panel variants."
    )
    parser.add_argument("--quick", action="store_true", help="short run (small counts)")
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        help="where to write the JSON results",
    )
    parser.add_argument(
        "--requests", type=int, help="requests per variant, server and view"
    )
    parser.add_argument("--events", type=int, help="sends per request")
    parser.add_argument(
        "--concurrency", type=int, default=SERVER_THREADS, help="client threads"
    )
    parser.add_argument(
        "--pause", type=float, help="seconds a view waits between sends"
    )
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="comma-separated variants"
    )
    parser.add_argument(
        "--servers", default=",".join(SERVERS), help="comma-separated servers"
    )
    parser.add_argument(
        "--skip-costs", action="store_true", help="skip the per-event cost ratios"
    )
    args = parser.parse_args(argv)
    variants = tuple(name for name in args.variants.split(",") if name)
    servers = tuple(name for name in args.servers.split(",") if name)
    for name in variants:
        if name not in VARIANTS:
            parser.error(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")
    for name in servers:
        if name not in SERVERS:
            parser.error(f"unknown server {name!r}; known: {', '.join(SERVERS)}")
    quick = args.quick
    config = Config(
        requests=args.requests or (24 if quick else 240),
        events=args.events or (5 if quick else 10),
        concurrency=max(1, args.concurrency),
        pause=args.pause if args.pause is not None else 0.001,
        warmup=4 if quick else 8,
        request_timeout=30.0,
        server_start_timeout=60.0,
        rounds=5 if quick else 21,
        recording_sends=50 if quick else 300,
        idle_sends=5_000 if quick else 50_000,
        variants=variants,
        servers=servers,
        quick=quick,
    )
    return config, args.json, args.skip_costs


# Servers


def http_get(port: int, path: str, timeout: float) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Connection": "close"})
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def gunicorn_extra_options() -> list[str]:
    from gunicorn.config import KNOWN_SETTINGS

    # Newer gunicorn opens a control socket under $HOME by default; not wanted here.
    names = {setting.name for setting in KNOWN_SETTINGS}
    return ["--no-control-socket"] if "control_socket_disable" in names else []


def server_command(server: str, port: int) -> list[str]:
    if server == "gunicorn":
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "benchmarks.site.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            "1",
            "--threads",
            str(SERVER_THREADS),
            "--timeout",
            "120",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
            *gunicorn_extra_options(),
        ]
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "benchmarks.site.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--lifespan",
        "off",
        "--log-level",
        "warning",
        "--no-access-log",
    ]


@contextmanager
def running_server(server: str, variant: str, config: Config) -> Iterator[int]:
    """Start ``server`` showing ``variant`` on a free loopback port; yield the port."""
    port = free_port()
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
        DJDT_BENCH_PANEL=variant,
        # Room for every request the server gets: nothing is evicted before it is read.
        DJDT_BENCH_CACHE_SIZE=str(10 * (config.requests + config.warmup) + 100),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            server_command(server, port),
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + config.server_start_timeout
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(
                        f"{server} exited with {process.returncode}:\n"
                        + log.read()[-4000:]
                    )
                try:
                    if http_get(port, "/health/", timeout=2)[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{server} did not answer on port {port} in time"
                    )
                time.sleep(0.1)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


# Part 1: concurrent requests


@dataclass
class Sent:
    tag: str
    status: int | None
    request_id: str | None
    error: str | None


def send_request(port: int, view: str, tag: str, config: Config) -> Sent:
    path = f"/{view}/?tag={tag}&n={config.events}&pause={config.pause}"
    try:
        status, body = http_get(port, path, config.request_timeout)
    except (OSError, http.client.HTTPException) as error:
        return Sent(tag, None, None, repr(error))
    match = REQUEST_ID_RE.search(body)
    if status != 200 or match is None:
        return Sent(
            tag,
            status,
            None,
            f"status {status}, request id {'found' if match else 'not found'}",
        )
    return Sent(tag, status, match.group(1), None)


def fetch_panel(
    port: int, request_id: str, panel_id: str, config: Config
) -> str | None:
    path = f"/__debug__/render_panel/?request_id={request_id}&panel_id={panel_id}"
    try:
        status, body = http_get(port, path, config.request_timeout)
    except (OSError, http.client.HTTPException):
        return None
    if status != 200:
        return None
    return str(json.loads(body)["content"])


def run_phase(
    port: int, variant: str, server: str, view: str, config: Config
) -> dict[str, Any]:
    panel_id = VARIANTS[variant]
    # Warm-up, one at a time: imports, template compilation, first connections.
    for _ in range(config.warmup):
        send_request(port, view, "w" + uuid.uuid4().hex[:11], config)
    tags = [uuid.uuid4().hex[:12] for _ in range(config.requests)]
    started = time.perf_counter()
    with ThreadPoolExecutor(config.concurrency) as pool:
        sent = list(pool.map(lambda tag: send_request(port, view, tag, config), tags))
    seconds = time.perf_counter() - started

    completed = [item for item in sent if item.request_id is not None]
    with ThreadPoolExecutor(config.concurrency) as pool:
        contents = list(
            pool.map(
                lambda item: fetch_panel(port, item.request_id, panel_id, config),
                completed,
            )
        )

    recorded = foreign = missing = duplicates = unavailable = 0
    with_foreign = with_missing = 0
    expected = set(range(config.events))
    for item, content in zip(completed, contents, strict=True):
        if content is None or UNAVAILABLE in content:
            unavailable += 1
            missing += config.events
            with_missing += 1
            continue
        rows = EVENT_RE.findall(content)
        own = [int(index) for tag, index in rows if tag == item.tag]
        item_foreign = len(rows) - len(own)
        item_missing = len(expected - set(own))
        recorded += len(rows)
        foreign += item_foreign
        missing += item_missing
        duplicates += len(own) - len(set(own))
        with_foreign += item_foreign > 0
        with_missing += item_missing > 0
    errors = [item.error for item in sent if item.error]
    return {
        "variant": variant,
        "server": server,
        "view": view,
        "requests": config.requests,
        "completed": len(completed),
        "errors": len(errors),
        "error_examples": errors[:3],
        "seconds": round(seconds, 3),
        "requests_per_second": round(len(completed) / seconds, 1) if seconds else None,
        "events_per_request": config.events,
        "expected_events": len(completed) * config.events,
        "recorded_events": recorded,
        "requests_with_foreign": with_foreign,
        "foreign_events": foreign,
        "foreign_percent": round(100 * foreign / recorded, 1) if recorded else 0.0,
        "requests_with_missing": with_missing,
        "missing_events": missing,
        "duplicate_events": duplicates,
        "unavailable_panels": unavailable,
    }


def run_servers(config: Config) -> list[dict[str, Any]]:
    rows = []
    for server in config.servers:
        for variant in config.variants:
            with running_server(server, variant, config) as port:
                for view in SERVERS[server]:
                    row = run_phase(port, variant, server, view, config)
                    print(
                        f"  {variant:<12} {server:<9} {view:<6} "
                        f"{row['requests_per_second']:>8} req/s",
                        flush=True,
                    )
                    rows.append(row)
    return rows


# Part 2: per-event costs in this process


def frame_depth() -> int:
    """Frames on the stack of the caller, the caller included."""
    frame = sys._getframe(1)
    depth = 0
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth


def descend(extra: int, func: Callable[[], float]) -> float:
    if extra > 0:
        return descend(extra - 1, func)
    return func()


class DeepTimer:
    """Times a statement once, run with ``depth`` frames on the stack."""

    def __init__(self, depth: int) -> None:
        probe: list[int] = []
        descend(
            0,
            lambda: timeit.Timer(lambda: probe.append(frame_depth())).timeit(number=1),
        )
        self.extra = max(0, depth - probe[0])
        depths: list[int] = []
        descend(
            self.extra,
            lambda: timeit.Timer(lambda: depths.append(frame_depth())).timeit(number=1),
        )
        self.depth = depths[0]

    def time(self, stmt: Callable[[], None]) -> float:
        timer = timeit.Timer(stmt)
        return descend(self.extra, lambda: timer.timeit(number=1))


def sender_loop(signal: Any, count: int) -> Callable[[], None]:
    def loop() -> None:
        send = signal.send
        for _ in range(count):
            send(sender=None, event="evt:costs:0")

    return loop


def measure_costs(config: Config) -> dict[str, Any]:
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    os.environ["DJDT_BENCH_PANEL"] = "signalpanel"
    import django

    django.setup()

    from debug_toolbar import settings as dt_settings
    from debug_toolbar.utils import clear_stack_trace_caches
    from django.dispatch import Signal

    from benchmarks.site.panels import NaivePanel
    from benchmarks.site.signals import bench_event
    from djdt_signalpanels import recording

    if not dt_settings.get_config()["ENABLE_STACKTRACES"]:
        raise RuntimeError("the cost benchmark needs ENABLE_STACKTRACES = True")
    if bench_event.receivers:
        raise RuntimeError("bench_event has receivers before the cost benchmark")

    timer = DeepTimer(STACK_DEPTH)
    k = config.recording_sends
    m = config.idle_sends

    ours_signal = Signal()

    def ours() -> float:
        def sample() -> float:
            rec = recording.start(ours_signal)
            try:
                seconds = timer.time(sender_loop(ours_signal, k))
            finally:
                recording.stop(rec, ours_signal)
            events = rec.events(ours_signal)
            if len(events) != k or events[0].stack is None:
                raise RuntimeError(
                    "SignalPanel's recorder did not record every send with its stack"
                )
            return seconds / k

        # A context of its own, as each request has.
        return contextvars.Context().run(sample)

    def usual() -> float:
        panel = NaivePanel(
            None, None
        )  # the tutorial panel; it needs no toolbar to record
        clear_stack_trace_caches()  # DjDT clears them at the end of each request
        panel.enable_instrumentation()
        try:
            seconds = timer.time(sender_loop(bench_event, k))
        finally:
            panel.disable_instrumentation()
        if len(panel.events) != k or not panel.events[0]["stack"]:
            raise RuntimeError(
                "the usual receiver did not record every send with its stack"
            )
        return seconds / k

    idle_signal = Signal()
    empty_signal = Signal()
    busy_signal = Signal()

    def record_once(signal: Any) -> None:
        rec = recording.start(signal)
        signal.send(sender=None, event="evt:costs:0")
        recording.stop(rec, signal)

    contextvars.Context().run(record_once, idle_signal)
    if recording.is_connected(idle_signal) or idle_signal.receivers:
        raise RuntimeError("the receiver stayed connected after the recording stopped")
    # Informational: another request records busy_signal while this context sends it.
    other_request = contextvars.Context()
    busy_recording = other_request.run(recording.start, busy_signal)

    def idle() -> float:
        return timer.time(sender_loop(idle_signal, m)) / m

    def empty() -> float:
        return timer.time(sender_loop(empty_signal, m)) / m

    def busy() -> float:
        return timer.time(sender_loop(busy_signal, m)) / m

    measures: dict[str, Callable[[], float]] = {
        "ours": ours,
        "usual": usual,
        "idle": idle,
        "empty": empty,
        "busy": busy,
    }
    # The two sides of each ratio run next to each other, their order swapped
    # every round, so that a change in machine load hits both alike.
    pairs = (("ours", "usual"), ("idle", "empty"), ("busy", "empty"))
    samples: dict[str, list[float]] = {name: [] for name in measures}
    busy_baseline: list[float] = []
    try:
        for measure in measures.values():  # warm-up round, not counted
            measure()
        for round_index in range(config.rounds):
            for a, b in pairs:
                order = (a, b) if round_index % 2 == 0 else (b, a)
                timed = {name: measures[name]() for name in order}
                if a == "busy":
                    samples["busy"].append(timed["busy"])
                    busy_baseline.append(timed["empty"])
                else:
                    samples[a].append(timed[a])
                    samples[b].append(timed[b])
    finally:
        other_request.run(recording.stop, busy_recording, busy_signal)
    if busy_recording.events(busy_signal):
        raise RuntimeError("a send from a context that does not record was recorded")

    def ratios(a: list[float], b: list[float]) -> list[float]:
        return [x / y for x, y in zip(a, b, strict=True)]

    recording_ratios = ratios(samples["usual"], samples["ours"])
    idle_ratios = ratios(samples["idle"], samples["empty"])
    busy_ratios = ratios(samples["busy"], busy_baseline)
    recording_ratio = statistics.median(recording_ratios)
    idle_ratio = statistics.median(idle_ratios)
    median = {
        name: statistics.median(values) for name, values in samples.items() if values
    }

    return {
        "stack_depth": timer.depth,
        "rounds": config.rounds,
        "method": "each ratio is the median of its per-round ratios; the two sides "
        "of a ratio are timed next to each other, order swapped every round; absolute "
        "figures are medians and depend on the machine",
        "recording": {
            "description": "per event, recording with the stack trace: usual receiver "
            "(DjDT get_stack_trace, appended) / SignalPanel's recorder",
            "sends_per_sample": k,
            "ours_us_per_event": round(median["ours"] * 1e6, 3),
            "usual_us_per_event": round(median["usual"] * 1e6, 3),
            "ratio": round(recording_ratio, 2),
            "ratio_per_round": [round(r, 3) for r in recording_ratios],
            "target": f">= {RECORDING_TARGET:g}",
            "met": recording_ratio >= RECORDING_TARGET,
        },
        "idle_send": {
            "description": "per send while no request in the process records "
            "(signal recorded once, then stopped) / send on a Signal with no receivers",
            "sends_per_sample": m,
            "idle_ns_per_send": round(median["idle"] * 1e9, 1),
            "no_receivers_ns_per_send": round(median["empty"] * 1e9, 1),
            "ratio": round(idle_ratio, 3),
            "ratio_per_round": [round(r, 3) for r in idle_ratios],
            "target": f"<= {IDLE_TARGET:g}",
            "met": idle_ratio <= IDLE_TARGET,
        },
        "send_while_other_request_records": {
            "description": "informational, no target: per send from a context that "
            "does not record while another request records the same signal / send "
            "with no receivers",
            "ns_per_send": round(median["busy"] * 1e9, 1),
            "ratio": round(statistics.median(busy_ratios), 3),
        },
    }


# Report


def version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


TABLE_COLUMNS = (
    ("variant", "variant", 12),
    ("server", "server", 8),
    ("view", "view", 5),
    ("completed", "requests", 8),
    ("requests_per_second", "req/s", 7),
    ("requests_with_foreign", "reqs w/ foreign", 15),
    ("foreign_events", "foreign events", 14),
    ("foreign_percent", "foreign %", 9),
    ("requests_with_missing", "reqs w/ missing", 15),
    ("missing_events", "missing events", 14),
    ("errors", "errors", 6),
)


def format_table(rows: list[dict[str, Any]]) -> str:
    header = "  ".join(
        f"{label:>{width}}" if i > 2 else f"{label:<{width}}"
        for i, (_, label, width) in enumerate(TABLE_COLUMNS)
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        cells = []
        for i, (key, _, width) in enumerate(TABLE_COLUMNS):
            value = row[key]
            if key in ("requests_with_foreign", "requests_with_missing"):
                value = f"{value}/{row['completed']}"
            elif key == "foreign_events":
                value = f"{value}/{row['recorded_events']}"
            elif key == "missing_events":
                value = f"{value}/{row['expected_events']}"
            cells.append(f"{value!s:>{width}}" if i > 2 else f"{value!s:<{width}}")
        lines.append("  ".join(cells))
    return "\n".join(lines)


def format_costs(costs: dict[str, Any]) -> str:
    rec, idle, busy = (
        costs["recording"],
        costs["idle_send"],
        costs["send_while_other_request_records"],
    )
    return "\n".join(
        [
            f"Per-event costs (median of {costs['rounds']} interleaved rounds, "
            f"sends from a stack {costs['stack_depth']} frames deep):",
            f"  recording with stack: usual {rec['usual_us_per_event']} us, "
            f"SignalPanel {rec['ours_us_per_event']} us -> "
            f"ours is {rec['ratio']}x cheaper "
            f"(target {rec['target']}: {'met' if rec['met'] else 'NOT met'})",
            f"  send while nothing records: {idle['idle_ns_per_send']} ns vs "
            f"{idle['no_receivers_ns_per_send']} ns with no receivers -> "
            f"{idle['ratio']}x "
            f"(target {idle['target']}: {'met' if idle['met'] else 'NOT met'})",
            f"  (info) send from a non-recording request while another records: "
            f"{busy['ns_per_send']} ns -> {busy['ratio']}x a send with no receivers",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    config, json_path, skip_costs = parse_args(argv)

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)  # so the servers are stopped on the way out

    os_signal.signal(os_signal.SIGTERM, stop)
    print(
        f"Servers: {config.requests} requests per variant/server/view, "
        f"{config.events} sends each, {config.concurrency} client threads, "
        f"{config.pause * 1000:g} ms between sends",
        flush=True,
    )
    started = time.perf_counter()
    rows = run_servers(config)
    costs = None if skip_costs else measure_costs(config)
    results = {
        "meta": {
            "quick": config.quick,
            "config": asdict(config),
            "server_threads": SERVER_THREADS,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "versions": {
                name: version(name)
                for name in (
                    "django",
                    "django-debug-toolbar",
                    "asgiref",
                    "gunicorn",
                    "uvicorn",
                )
            },
            "seconds": round(time.perf_counter() - started, 1),
        },
        "concurrency": rows,
        "costs": costs,
    }
    print()
    print(format_table(rows))
    if costs is not None:
        print()
        print(format_costs(costs))
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nJSON written to {json_path} ({results['meta']['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
