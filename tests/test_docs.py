"""The tutorial's code examples run, and their panels work through the toolbar.

Every ``.. code-block:: python`` in docs/tutorial.rst whose first line is a
``# myapp/<module>.py`` comment is a complete example. Each block runs in a fresh
namespace, in document order, and its names then go into that module of a
``myapp`` package (so a second views block adds views, and a second panels block
redefines the panel). Then each panel class the blocks define is listed in
DEBUG_TOOLBAR_PANELS and every view of ``myapp.views`` is requested through the
test client: the panel must have recorded every send the view made, and render
them. The masking examples of reference.rst are checked the same way.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from debug_toolbar.store import get_store
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import include, path

from djdt_signalpanels import SignalPanel
from djdt_signalpanels.values import MASK
from tests.signals import search_done

TUTORIAL = Path(__file__).resolve().parent.parent / "docs" / "tutorial.rst"
EXAMPLE_FILE = re.compile(r"# myapp/(\w+)\.py$")
URLCONF = "tests_docs_examples_urls"
SUMMARY_KEYS = {"subtitle", "tables", "highlight_events"}


@dataclass(frozen=True)
class Example:
    module: str  # "myapp.panels"
    line: int  # line of the first code line in tutorial.rst
    source: str


def tutorial_examples() -> list[Example]:
    lines = TUTORIAL.read_text(encoding="utf-8").splitlines()
    examples = []
    for index, line in enumerate(lines):
        if line.strip() != ".. code-block:: python":
            continue
        body = index + 1
        while body < len(lines) and not lines[body].strip():
            body += 1
        end = body
        while end < len(lines) and (
            not lines[end].strip() or lines[end].startswith(" ")
        ):
            end += 1
        source = textwrap.dedent("\n".join(lines[body:end])).strip() + "\n"
        match = EXAMPLE_FILE.match(source.splitlines()[0])
        if match:
            examples.append(Example(f"myapp.{match[1]}", body + 1, source))
    return examples


EXAMPLES = tutorial_examples()
PANEL_EXAMPLES = [example for example in EXAMPLES if example.module == "myapp.panels"]


@pytest.fixture(scope="module")
def myapp() -> Iterator[dict[int, list[type[SignalPanel]]]]:
    """Executes the examples; returns the panel classes each panels block defines."""
    names = ["myapp", *sorted({example.module for example in EXAMPLES})]
    saved = {name: sys.modules.get(name) for name in names}
    package = types.ModuleType("myapp")
    package.__path__ = []
    sys.modules["myapp"] = package
    for name in names[1:]:
        sys.modules[name] = types.ModuleType(name)
        setattr(package, name.rpartition(".")[2], sys.modules[name])
    panels: dict[int, list[type[SignalPanel]]] = {}
    try:
        for example in EXAMPLES:
            # A namespace of its own proves the block complete (its own imports).
            namespace: dict[str, Any] = {"__name__": example.module}
            code = compile(example.source, f"{TUTORIAL}:{example.line}", "exec")
            exec(code, namespace)
            del namespace["__builtins__"]
            vars(sys.modules[example.module]).update(namespace)
            panels[example.line] = [
                value
                for value in namespace.values()
                if isinstance(value, type)
                and issubclass(value, SignalPanel)
                and value.__module__ == example.module
            ]
        yield panels
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def views() -> list[Any]:
    module = sys.modules["myapp.views"]
    return [
        value
        for value in vars(module).values()
        if isinstance(value, types.FunctionType)
        and value.__module__ == "myapp.views"
        and value.__code__.co_varnames[:1] == ("request",)
    ]


def test_tutorial_has_examples() -> None:
    # Guards against a change of markup that would leave nothing to test.
    modules = {example.module for example in EXAMPLES}
    assert {"myapp.signals", "myapp.search", "myapp.panels", "myapp.views"} <= modules
    assert len(PANEL_EXAMPLES) >= 3


@pytest.mark.parametrize(
    "example", PANEL_EXAMPLES, ids=[f"tutorial.rst:{e.line}" for e in PANEL_EXAMPLES]
)
def test_tutorial_panel(
    example: Example,
    myapp: dict[int, list[type[SignalPanel]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    panel_classes = myapp[example.line]
    assert panel_classes, "the block defines no SignalPanel subclass"
    view_functions = views()
    assert len(view_functions) >= 2
    install_urlconf(monkeypatch, {f"{view.__name__}/": view for view in view_functions})
    panels_module = sys.modules["myapp.panels"]
    for panel_class in panel_classes:
        assert panel_class.run_checks() == []
        # Later blocks redefine the class: list this block's version.
        monkeypatch.setattr(panels_module, panel_class.__name__, panel_class)
        with override_settings(
            DEBUG=True,
            ROOT_URLCONF=URLCONF,
            DEBUG_TOOLBAR_PANELS=[f"myapp.panels.{panel_class.__name__}"],
        ):
            for view in view_functions:
                check_view(panel_class, f"/{view.__name__}/")


def install_urlconf(monkeypatch: pytest.MonkeyPatch, routes: dict[str, Any]) -> None:
    """Makes URLCONF a module routing ``routes`` plus the toolbar's own URLs."""
    urlconf = types.ModuleType(URLCONF)
    urlconf.urlpatterns = [  # type: ignore[attr-defined]
        *(path(route, view) for route, view in routes.items()),
        path("__debug__/", include("debug_toolbar.urls")),
    ]
    monkeypatch.setitem(sys.modules, URLCONF, urlconf)


def get_request_id(url: str, data: dict[str, Any] | None = None) -> str:
    """Requests ``url``; returns the id under which the toolbar stored it."""
    store = get_store()
    known = set(store.request_ids())
    response = Client().get(url, data)
    assert response.status_code == 200
    [request_id] = set(store.request_ids()) - known
    return str(request_id)


def check_view(panel_class: type[SignalPanel], url: str) -> None:
    signal: Signal = panel_class.get_signal()
    sent: list[dict[str, Any]] = []

    def count(sender: Any, **kwargs: Any) -> None:
        sent.append(kwargs)

    signal.connect(count, weak=False, dispatch_uid="tests.test_docs.count")
    try:
        request_id = get_request_id(url, {"q": ["tea", "mug", "tea"]})
    finally:
        signal.disconnect(count, dispatch_uid="tests.test_docs.count")
    panel_id = panel_class.panel_id
    stats = get_store().panel(request_id, panel_id)
    events = stats["events"]
    # Each send of the view, in threads too, is in the panel, and nothing else
    # (worker threads may interleave, so compare without order).
    assert sent, f"{url} sent nothing"
    assert sorted(event["kwargs"]["query"] for event in events) == sorted(
        kwargs["query"] for kwargs in sent
    )
    required = [
        column.name for column in panel_class.get_columns() if not column.optional
    ]
    for event in events:
        assert set(required) <= set(event["kwargs"])
        assert any(frame[2] == "search" for frame in event["stack"])

    summary = stats["summary"]
    assert set(summary) <= SUMMARY_KEYS
    assert json.loads(json.dumps(summary)) == summary
    assert all(
        0 <= index < len(events) for index in summary.get("highlight_events", ())
    )
    if "summarize" in vars(panel_class):
        assert summary, "summarize() returned nothing"

    rendered = Client().get(
        "/__debug__/render_panel/", {"request_id": request_id, "panel_id": panel_id}
    )
    assert rendered.status_code == 200
    content = rendered.json()["content"]
    for kwargs in sent:
        assert kwargs["query"] in content
    for table in summary.get("tables", ()):
        assert table["title"] in content


# reference.rst, "What is masked": the examples it gives.
MASKED = [
    "password",
    "access_token",
    "X-Auth-Token",
    "apiKey",
    "X-Api-Key",
    "stripe_api_key",
]
NOT_MASKED = ["input_tokens", "secrets"]
SECRET = "hunter2"


def masking_view(request: HttpRequest) -> HttpResponse:
    names = {name: SECRET for name in MASKED + NOT_MASKED}
    # A sensitive key inside containers nested 0 to 9 levels deep.
    nested: dict[str, Any] = {}
    for depth in range(10):
        value: Any = {"password": SECRET}
        for _ in range(depth):
            value = {"level": value}
        nested[f"depth_{depth}"] = value
    search_done.send(
        sender=None,
        query="q",
        hits=0,
        took=0.0,
        password=SECRET,
        names=names,
        nested=nested,
    )
    return HttpResponse("<html><body></body></html>")


def sent_kwargs(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    install_urlconf(monkeypatch, {"mask/": masking_view})
    with override_settings(
        DEBUG=True,
        ROOT_URLCONF=URLCONF,
        DEBUG_TOOLBAR_PANELS=["tests.panels.SearchPanel"],
    ):
        request_id = get_request_id("/mask/")
    [event] = get_store().panel(request_id, "SearchPanel")["events"]
    return dict(event["kwargs"])


def test_documented_masking_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    kwargs = sent_kwargs(monkeypatch)
    assert kwargs["password"] == MASK
    assert {name: kwargs["names"][name] for name in MASKED} == dict.fromkeys(
        MASKED, MASK
    )
    assert {name: kwargs["names"][name] for name in NOT_MASKED} == dict.fromkeys(
        NOT_MASKED, SECRET
    )


def test_masking_at_any_depth(monkeypatch: pytest.MonkeyPatch) -> None:
    # "The value of a keyword argument, or of a dict key at any depth, is replaced."
    nested = sent_kwargs(monkeypatch)["nested"]
    leaked = [depth for depth, value in nested.items() if SECRET in json.dumps(value)]
    assert leaked == []
