from __future__ import annotations

SECRET_KEY = "tests"
DEBUG = True
ALLOWED_HOSTS = ["*"]
INTERNAL_IPS = ["127.0.0.1"]
ROOT_URLCONF = "tests.urls"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "debug_toolbar",
    "djdt_signalpanels",
    "tests",
]
MIDDLEWARE = ["debug_toolbar.middleware.DebugToolbarMiddleware"]
TEMPLATES = [
    {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
STATIC_URL = "/static/"
DEBUG_TOOLBAR_PANELS = [
    "debug_toolbar.panels.history.HistoryPanel",
    "djdt_signalpanels.panels.FeatureFlagsPanel",
    "tests.panels.SearchPanel",
]
DEBUG_TOOLBAR_CONFIG = {"IS_RUNNING_TESTS": False, "RENDER_PANELS": False}
