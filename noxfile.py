"""Test matrix: ``python3 dev.py test`` runs the default sessions below."""

from __future__ import annotations

import nox

nox.needs_version = ">=2024.3.2"
nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "deployment", "elasticsearch8", "docs", "lint"]

DJANGO = {"5.2": "Django~=5.2.0", "6.0": "Django~=6.0.0", "6.1": "Django~=6.1.0"}
DJDT = {"8": "django-debug-toolbar~=8.0", "6.3 (oldest)": "django-debug-toolbar==6.3.0"}

# (python, Django, DjDT): Django 6.x needs Python 3.12 or newer.
MATRIX = [
    ("3.11", "5.2", "8"),
    ("3.12", "5.2", "8"),
    ("3.12", "6.0", "8"),
    ("3.12", "6.1", "8"),
    ("3.13", "5.2", "8"),
    ("3.13", "6.0", "8"),
    ("3.13", "6.1", "8"),
    ("3.12", "5.2", "6.3 (oldest)"),
]


@nox.session
@nox.parametrize(
    "python,django,djdt",
    MATRIX,
    ids=[f"py{py}-django{dj}-djdt{dt.split()[0]}" for py, dj, dt in MATRIX],
)
def tests(session: nox.Session, django: str, djdt: str) -> None:
    session.install("-e", ".[test]", DJANGO[django], DJDT[djdt])
    session.run(
        "python",
        "-m",
        "pytest",
        "-m",
        "not deployment",
        *session.posargs,
        env={"PYTHONDEVMODE": "1"},
    )


@nox.session(python="3.12")
def deployment(session: nox.Session) -> None:
    """Multi-process servers on PostgreSQL and Redis, and the load test.

    Once, not per combination; without PYTHONDEVMODE, which the servers would
    inherit and which would slow the load.
    """
    session.install("-e", ".[test]")
    session.run(
        "python",
        "-m",
        "pytest",
        "-m",
        "deployment",
        *session.posargs,
    )


@nox.session(python="3.12")
@nox.parametrize("elasticsearch", ["8.0.1", "8.19.3"])
def elasticsearch8(session: nox.Session, elasticsearch: str) -> None:
    """The main matrix runs elasticsearch-py 9; the integration supports 8 too."""
    session.install("-e", ".[test]", f"elasticsearch[async]=={elasticsearch}")
    session.run(
        "python", "-m", "pytest", "tests/test_elasticsearch.py", *session.posargs
    )


@nox.session(python="3.12")
def docs(session: nox.Session) -> None:
    session.install("-e", ".[docs]")
    session.run(
        "python",
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-b",
        "html",
        "docs",
        "docs/_build/html",
    )


@nox.session(python="3.12")
def lint(session: nox.Session) -> None:
    session.install(
        "-e",
        ".[elasticsearch,openai,anthropic,flags,waffle,redis]",
        "mypy",
        "django-stubs",
        "ruff",
    )
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session(python="3.12")
def benchmark(session: nox.Session) -> None:
    session.install("-e", ".[benchmark]")
    session.run("python", "benchmarks/concurrency.py", *session.posargs)
    session.run("python", "benchmarks/stores.py")
    session.run("python", "benchmarks/load.py")
