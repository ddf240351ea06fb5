"""Sphinx configuration for djdt-signalpanels."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# autodoc imports the package, and the package imports Django and DjDT, which
# need configured settings: the test project's settings are enough.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

project = "djdt-signalpanels"
author = "djdt-signalpanels contributors"
copyright = "djdt-signalpanels contributors"
release = "0.1.0"
version = "0.1"

extensions = ["sphinx.ext.autodoc"]

exclude_patterns = ["_build"]
default_role = "code"
pygments_style = "sphinx"

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_class_signature = "mixed"

html_theme = "alabaster"
html_title = "djdt-signalpanels"
html_theme_options = {
    "description": "Debug Toolbar panels for Django signals, one request at a time.",
    "fixed_sidebar": True,
}
