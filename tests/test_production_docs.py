"""docs/production.rst: its settings examples are valid, and it lists every check.

Each ``.. code-block:: python`` whose first line is ``# settings.py...``,
``# urls.py`` or ``# myapp/<module>.py`` runs in a fresh namespace. The settings
it defines must pass the production checks; the block of defaults must equal
the defaults; the example CALLABLE must decide through the real policy.
"""

from __future__ import annotations

import re
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.test import RequestFactory, override_settings

from djdt_signalpanels.production import conf, is_trusted
from djdt_signalpanels.production.checks import check_technical_errors
from tests import production_settings

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "production.rst"
CHECKS_SOURCE = ROOT / "djdt_signalpanels" / "production" / "checks.py"


def blocks() -> list[tuple[str, int, str]]:
    """(first line, line number, source) of each python block."""
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    found = []
    for index, line in enumerate(lines):
        if line.strip() != ".. code-block:: python":
            continue
        body = index + 1
        while not lines[body].strip():
            body += 1
        end = body
        while end < len(lines) and (
            not lines[end].strip() or lines[end].startswith(" ")
        ):
            end += 1
        source = textwrap.dedent("\n".join(lines[body:end])).strip() + "\n"
        found.append((source.splitlines()[0], body + 1, source))
    return found


BLOCKS = blocks()
SETTINGS_BLOCKS = [b for b in BLOCKS if b[0].startswith("# settings.py")]


def run(source: str, line: int) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, f"{PAGE}:{line}", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def myapp() -> Iterator[None]:
    """The page's ``myapp`` modules, importable while the tests run."""
    saved = {name: sys.modules.get(name) for name in ("myapp", "myapp.errors")}
    package = types.ModuleType("myapp")
    package.__path__ = []
    sys.modules["myapp"] = package
    for first, line, source in BLOCKS:
        match = re.match(r"# myapp/(\w+)\.py$", first)
        if match:
            module = types.ModuleType(f"myapp.{match[1]}")
            vars(module).update(run(source, line))
            sys.modules[module.__name__] = module
            setattr(package, match[1], module)
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def test_page_has_examples() -> None:
    assert len(SETTINGS_BLOCKS) >= 4
    assert any(first == "# urls.py" for first, _, _ in BLOCKS)


@pytest.mark.parametrize(
    "block", SETTINGS_BLOCKS, ids=[f"production.rst:{b[1]}" for b in SETTINGS_BLOCKS]
)
def test_settings_examples_pass_the_checks(
    block: tuple[str, int, str], myapp: None
) -> None:
    first, line, source = block
    namespace = run(source, line)
    options: dict[str, Any] = {
        "ROOT_URLCONF": production_settings.ROOT_URLCONF,
        "MIDDLEWARE": namespace.get("MIDDLEWARE", production_settings.MIDDLEWARE),
        "TECHNICAL_ERRORS": namespace["TECHNICAL_ERRORS"],
        # A shared cache, as the page recommends for GROUPS.
        "CACHES": {
            "default": {
                "BACKEND": "django.core.cache.backends.db.DatabaseCache",
                "LOCATION": "cache",
            }
        },
    }
    with override_settings(**options):
        assert check_technical_errors(None) == []
        conf.get_config()
    if "with its default" in first:
        assert namespace["TECHNICAL_ERRORS"] == conf.DEFAULTS


def test_urls_example(myapp: None) -> None:
    [(_, line, source)] = [b for b in BLOCKS if b[0] == "# urls.py"]
    assert run(source, line)["handler500"] == conf.HANDLER_PATH


@pytest.mark.django_db
def test_callable_example(myapp: None) -> None:
    [(_, line, source)] = [b for b in SETTINGS_BLOCKS if "myapp.errors" in b[2]]
    request = RequestFactory().get("/")
    request.user = User.objects.create_superuser("root")
    request.session = SessionStore()

    with override_settings(TECHNICAL_ERRORS=run(source, line)["TECHNICAL_ERRORS"]):
        assert not is_trusted(request)
        request.session["second_factor_verified"] = True
        assert is_trusted(request)


def test_every_check_is_documented() -> None:
    pattern = re.compile(r"djdt_signalpanels\.[EW]1\d\d")
    in_code = set(pattern.findall(CHECKS_SOURCE.read_text(encoding="utf-8")))
    in_docs = set(pattern.findall(PAGE.read_text(encoding="utf-8")))

    assert in_code == in_docs
    assert len(in_code) == 22


def test_every_setting_is_documented() -> None:
    text = PAGE.read_text(encoding="utf-8")
    undocumented = [key for key in conf.DEFAULTS if f"``{key}``" not in text]
    assert undocumented == []
