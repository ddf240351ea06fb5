"""Two commands for a fresh clone, needing only python3 and pip.

    python3 dev.py demo   # the example site at http://127.0.0.1:8000/
    python3 dev.py test   # the full test suite, across every installed Python
                          # of the support matrix (nox), and the docs build

Both create a virtual environment in .venv on first use. Arguments after
``test`` go to nox, for example ``python3 dev.py test -s tests -- -k isolation``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def run(*args: str | Path) -> None:
    subprocess.run([str(arg) for arg in args], cwd=ROOT, check=True)


def ensure_venv(*packages: str) -> None:
    if not PYTHON.exists():
        venv.create(VENV, with_pip=True)
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PYTHON, "-m", "pip", "install", "--quiet", *packages)


def demo(args: list[str]) -> None:
    ensure_venv("-e", ".[elasticsearch,openai,anthropic,flags]")
    manage = ROOT / "example" / "manage.py"
    run(PYTHON, manage, "migrate", "--verbosity", "0")
    print("Demo at http://127.0.0.1:8000/ (Ctrl+C stops it)", flush=True)
    run(PYTHON, manage, "runserver", *(args or ["127.0.0.1:8000"]))


def test(args: list[str]) -> None:
    ensure_venv("nox")
    run(PYTHON, "-m", "nox", *args)


COMMANDS = {"demo": demo, "test": test}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    try:
        COMMANDS[sys.argv[1]](sys.argv[2:])
    except subprocess.CalledProcessError as error:
        sys.exit(error.returncode)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
