"""A production project: DEBUG off, no django-debug-toolbar, technical pages for trusted users.

The tests of ``djdt_signalpanels.production`` use these values through
``override_settings``, and run a subprocess with this module as its settings
to prove that the companion needs no django-debug-toolbar.
"""

from __future__ import annotations

SECRET_KEY = "production-tests-secret-key-0c41d9"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.production_urls"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "djdt_signalpanels",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tests.production_views.RaisingMiddleware",
    # Last, so that Django asks it first about an exception.
    "djdt_signalpanels.production.TechnicalErrorMiddleware",
]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates"}]
# Sessions in signed cookies: no session table, and no query to read one.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
TECHNICAL_ERRORS = {"SUPERUSER": True}
