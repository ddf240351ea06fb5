"""The production companion in a project where django-debug-toolbar cannot be imported.

A subprocess blocks ``import debug_toolbar`` with an import hook, sets Django up
with tests/production_settings.py, runs ``manage.py check`` and requests a
failing view as a superuser and as an anonymous user.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    """
    import importlib.abc
    import io
    import json
    import os
    import sys


    class NoToolbar(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "debug_toolbar" or name.startswith("debug_toolbar."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None


    sys.meta_path.insert(0, NoToolbar())
    try:
        import debug_toolbar  # noqa: F401
    except ModuleNotFoundError:
        blocked = True
    else:
        blocked = False

    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.production_settings"
    import django

    django.setup()

    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    output = io.StringIO()
    call_command("check", fail_level="WARNING", stdout=output, stderr=output)

    superuser = Client(raise_request_exception=False)
    superuser.force_login(User.objects.create_superuser("root"))
    technical = superuser.get("/boom/")
    anonymous = Client(raise_request_exception=False).get("/boom/")

    import djdt_signalpanels

    try:
        djdt_signalpanels.SignalPanel
    except ImportError:
        panel_needs_toolbar = True
    else:
        panel_needs_toolbar = False

    print(json.dumps({
        "blocked": blocked,
        "check": output.getvalue(),
        "technical": [technical.status_code, technical.content.decode()],
        "anonymous": [anonymous.status_code, anonymous.content.decode()],
        "toolbar_modules": sorted(m for m in sys.modules if m.startswith("debug_toolbar")),
        "panel_needs_toolbar": panel_needs_toolbar,
    }))
    """
)


def test_works_without_django_debug_toolbar() -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH")
    }
    env["PYTHONPATH"] = str(ROOT)
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.splitlines()[-1])

    assert result["blocked"], "the import hook did not block debug_toolbar"
    assert result["check"].strip() == "System check identified no issues (0 silenced)."
    status, body = result["technical"]
    assert status == 500
    assert '<div id="traceback">' in body and "view failed" in body
    status, body = result["anonymous"]
    assert status == 500
    assert "<h1>Server Error (500)</h1>" in body and "traceback" not in body
    assert result["toolbar_modules"] == []
    # The panels themselves do need the toolbar; only they fail to import.
    assert result["panel_needs_toolbar"]
