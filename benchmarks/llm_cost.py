"""What LLMPanel's instrumentation costs an SDK call while nothing records.

Usage, from the repository root::

    python benchmarks/llm_cost.py            # about two minutes
    python benchmarks/llm_cost.py --quick    # about 15 seconds
    python benchmarks/llm_cost.py --json out.json

The same call, made by the real SDK against the same loopback API server (the
tests' ``tests/loopback/openai.py`` and ``tests/loopback/anthropic.py``, in this
process, on 127.0.0.1), is timed with the SDK as it ships (uninstrumented) and
with the integration installed while no request records. Measured: an openai
chat completion and an anthropic message, each with the sync and the async
client. The two sides alternate call by call, the order swapped every pair, so
both see the same load from other work on the machine; each round compares the
two sides' median call times (installed / uninstrumented), and the result is
the median of the rounds' ratios. Target: at most 1.02.

Switching sides swaps the SDK's methods between the originals and the wrappers
that one ``install()`` made, so that switching allocates and imports nothing
that would weigh on the next call. It also reports, for information, what the
wrapper alone adds to a method that returns at once.

Prints the figures and writes them as JSON (default
``benchmarks/results/llm_cost.json``). See ``benchmarks/README.md``.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import platform
import sys
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

DEFAULT_JSON = HERE / "results" / "llm_cost.json"
MESSAGES = [{"role": "user", "content": "hello there"}]
KEY = "sk-benchmark"


def wrapper_cost(number: int = 200_000) -> dict[str, float]:
    """Nanoseconds a patched method adds to a call while nothing records, measured alone.

    A method that returns at once, called directly and through the wrapper the
    integrations put around ``create``: what remains is the wrapper's own cost.
    """
    import timeit

    from djdt_signalpanels.integrations._llm import sync_method
    from djdt_signalpanels.integrations.openai import CHAT

    class Resource:
        def create(self, **kwargs: Any) -> None:
            return None

    resource = Resource()
    plain = Resource.create
    patched = sync_method(plain, CHAT, ())
    best = {"plain": float("inf"), "patched": float("inf")}
    for _ in range(7):
        for name, function in (("plain", plain), ("patched", patched)):
            seconds = timeit.timeit(
                lambda function=function: function(  # type: ignore[misc]
                    resource, model="gpt-4o-mini", messages=MESSAGES
                ),
                number=number,
            )
            best[name] = min(best[name], seconds / number * 1e9)
    return {"plain_ns": best["plain"], "patched_ns": best["patched"]}


def main(argv: list[str] | None = None) -> int:
    options = costs.parse_args(
        argv,
        doc=__doc__,
        default_json=DEFAULT_JSON,
        counts={
            "rounds": (15, 5, "rounds"),
            "calls": (150, 40, "calls per side and round"),
        },
    )
    costs.setup_django(
        INSTALLED_APPS=["debug_toolbar", "djdt_signalpanels"],
        DEBUG_TOOLBAR_PANELS=["djdt_signalpanels.panels.LLMPanel"],
    )

    import anthropic
    import openai

    from djdt_signalpanels import recording
    from djdt_signalpanels.integrations import anthropic as anthropic_integration
    from djdt_signalpanels.integrations import openai as openai_integration
    from tests.loopback.anthropic import AnthropicServer
    from tests.loopback.openai import OpenAIServer

    assert recording.current() is None  # nothing records: the case measured

    def toggle(integration: Any) -> Callable[[bool], None]:
        """Switch between the SDK as it ships and as install() leaves it."""
        integration.install()
        methods = []
        for path in integration.patched_methods():
            module, owner_name, name = path.rsplit(".", 2)
            owner = getattr(importlib.import_module(module), owner_name)
            patched = owner.__dict__[name]
            methods.append((owner, name, patched, patched.__wrapped__))
        integration.uninstall()

        def instrument(on: bool) -> None:
            for owner, name, patched, original in methods:
                setattr(owner, name, patched if on else original)

        return instrument

    rounds, calls = options.rounds, options.calls
    results: dict[str, Any] = {}
    with OpenAIServer() as openai_server, AnthropicServer() as anthropic_server:
        openai_options = {
            "api_key": KEY,
            "base_url": openai_server.base_url,
            "max_retries": 0,
        }
        anthropic_options = {
            "api_key": KEY,
            "base_url": anthropic_server.url,
            "max_retries": 0,
        }

        with openai.OpenAI(**openai_options) as client:
            chat = client.chat.completions

            def chat_call() -> Any:
                return chat.create(model="gpt-4o-mini", messages=MESSAGES)

            assert chat_call().usage is not None
            results["openai chat, sync"] = costs.compare(
                rounds, calls, chat_call, toggle(openai_integration)
            )

        with anthropic.Anthropic(**anthropic_options) as client:
            messages = client.messages

            def message_call() -> Any:
                return messages.create(
                    model="claude-haiku-4-5", max_tokens=100, messages=MESSAGES
                )

            assert message_call().usage is not None
            results["anthropic message, sync"] = costs.compare(
                rounds, calls, message_call, toggle(anthropic_integration)
            )

        async def measure_async() -> None:
            async with openai.AsyncOpenAI(**openai_options) as client:
                results["openai chat, async"] = await costs.acompare(
                    rounds,
                    calls,
                    lambda: client.chat.completions.create(
                        model="gpt-4o-mini", messages=MESSAGES
                    ),
                    toggle(openai_integration),
                )
            async with anthropic.AsyncAnthropic(**anthropic_options) as client:
                results["anthropic message, async"] = await costs.acompare(
                    rounds,
                    calls,
                    lambda: client.messages.create(
                        model="claude-haiku-4-5", max_tokens=100, messages=MESSAGES
                    ),
                    toggle(anthropic_integration),
                )

        asyncio.run(measure_async())

    alone = wrapper_cost(20_000 if options.quick else 200_000)
    report = {
        "benchmark": "llm_cost",
        "target": costs.TARGET,
        "rounds": rounds,
        "calls_per_round": calls,
        "method": costs.METHOD,
        "versions": {
            "python": platform.python_version(),
            "openai": metadata.version("openai"),
            "anthropic": metadata.version("anthropic"),
        },
        "calls": costs.figures_json(results),
        "wrapper_alone_ns": {
            "plain_call": round(alone["plain_ns"], 1),
            "patched_call": round(alone["patched_ns"], 1),
            "added": round(alone["patched_ns"] - alone["plain_ns"], 1),
        },
    }
    print_report(report)
    costs.write_json(report, options.json)
    return 0


def print_report(report: dict[str, Any]) -> None:
    versions = report["versions"]
    print(
        f"openai {versions['openai']}, anthropic {versions['anthropic']}, "
        f"Python {versions['python']}; {report['rounds']} rounds of "
        f"{report['calls_per_round']} calls per side"
    )
    costs.print_ratios(report["calls"].items(), width=25)
    alone = report["wrapper_alone_ns"]
    print(
        f"  (info) the wrapper alone, around a method that returns at once: "
        f"{alone['plain_call']:.0f} ns -> {alone['patched_call']:.0f} ns per call "
        f"(+{alone['added']:.0f} ns)"
    )


if __name__ == "__main__":
    sys.exit(main())
