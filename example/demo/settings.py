"""Settings of the demo site: DjDT's default panels plus four signal panels."""

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
    "flags",  # django-flags: its FlagState model and template tags
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

# DjDT's default panels, then the signal panels: three bundled, one declared in
# demo/panels.py. Listing ElasticsearchPanel and LLMPanel instruments the
# elasticsearch, openai and anthropic clients; FeatureFlagsPanel records
# django-flags' checks and the demo's own flag helper.
DEBUG_TOOLBAR_PANELS = [
    *PANELS_DEFAULTS,
    "djdt_signalpanels.panels.FeatureFlagsPanel",
    "djdt_signalpanels.panels.ElasticsearchPanel",
    "djdt_signalpanels.panels.LLMPanel",
    "demo.panels.RecommendationsPanel",
]

DJDT_SIGNALPANELS = {
    # Off by default: prompts and answers may be private. The demo's are not.
    "LLM_PREVIEWS": True,
    # US dollars per million tokens, for the Cost column. Example prices:
    # check your provider's price list.
    "LLM_PRICES": {
        "gpt-4o-mini": {"input": 0.15, "cached_input": 0.075, "output": 0.60},
        "claude-haiku-4-5": {"input": 1.00, "cached_input": 0.10, "output": 5.00},
    },
}

# django-flags reads flags from this setting (and from its database table).
FLAGS = {
    # The search page looks in descriptions too when the URL has ?descriptions=on.
    "SEARCH_DESCRIPTIONS": [{"condition": "parameter", "value": "descriptions=on"}],
}
