"""Settings of the demo site: DjDT's default panels plus two signal panels."""

from __future__ import annotations

import os
from pathlib import Path

from debug_toolbar.settings import PANELS_DEFAULTS

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "demo-only-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INTERNAL_IPS = ["127.0.0.1"]  # DjDT shows the toolbar to these addresses only
ROOT_URLCONF = "demo.urls"
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",  # serves the toolbar's CSS and JavaScript
    "debug_toolbar",
    "djdt_signalpanels",
    "demo",
]
MIDDLEWARE = [
    "debug_toolbar.middleware.DebugToolbarMiddleware",
    "django.middleware.common.CommonMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": ["django.template.context_processors.request"]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        # DEMO_DATABASE lets a test run the site on a throwaway file.
        "NAME": os.environ.get("DEMO_DATABASE", BASE_DIR / "db.sqlite3"),
    }
}
STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# DjDT's default panels, then the signal panels: one bundled, one declared in
# demo/panels.py.
DEBUG_TOOLBAR_PANELS = [
    *PANELS_DEFAULTS,
    "djdt_signalpanels.panels.FeatureFlagsPanel",
    "demo.panels.RecommendationsPanel",
]
