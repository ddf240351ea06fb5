#!/usr/bin/env python
"""The demo site's manage.py: run it from anywhere, such as the repository root."""

from __future__ import annotations

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    # The directory holding the `demo` package, so "demo.settings" imports.
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    # The repository root, for tests.loopback: the small servers that stand in
    # for Elasticsearch, OpenAI and Anthropic when no real service is set.
    sys.path.insert(1, str(here.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
