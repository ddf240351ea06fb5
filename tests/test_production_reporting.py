"""The technical page's cleansing and hardening.

Leak probes: secrets in settings, the query string, POST fields, a JSON body,
cookies, headers and META must not appear in the HTML or text page, while
harmless values still do. The same probes leak through Django's own page,
which shows that they test something.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import caches
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.utils.crypto import get_random_string

from djdt_signalpanels.production import (
    StrictExceptionReporterFilter,
    technical_500_response,
)
from djdt_signalpanels.production.reporting import SUBSTITUTE, strip_active_content
from tests import production_settings

CSRF_SECRET = get_random_string(32)

SECRETS = {
    "setting: URL with a password under a harmless name": "dbpass-2b7c9e",
    "setting: cache LOCATION": "cachepw-7d1f0a",
    "setting: SENTRY_DSN": "sentrykey91ab",
    "setting: PAYMENT_WEBHOOK_URL": "webhooksecret5c3e",
    "setting: SECRET_KEY": "secret-key-for-leak-probes-4410",
    "query: token": "qs-token-4e8a1b",
    "query: api_key": "qs-apikey-0f9d2c",
    "POST: password": "post-pass-6a2c3d",
    "POST: token": "post-token-8b1e4f",
    "POST: secret": "post-secret-3d5f6a",
    "POST: card": "4111111111111111",
    "cookie: auth_token": "cookie-auth-7e4b5c",
    "cookie and META: CSRF token": CSRF_SECRET,
    "header: Authorization": "bearer-secret-1a2b3c",
    "header: Referer query code": "oauth-code-9d8e7f",
}
HARMLESS = {
    "query: page": "harmless-page-77",
    "POST: comment": "harmless-comment-12",
    "cookie: theme": "harmless-theme-34",
    "header: Referer query state": "harmless-state-56",
}
JSON_SECRET = "json-pass-5e0d9c"
DIRECT_TOKEN = "direct-token-1f2e"
JSON_HARMLESS = "json-page-harmless"

PROBE_SETTINGS = {
    "DEBUG": False,
    "ALLOWED_HOSTS": production_settings.ALLOWED_HOSTS,
    "ROOT_URLCONF": production_settings.ROOT_URLCONF,
    "MIDDLEWARE": production_settings.MIDDLEWARE,
    "SESSION_ENGINE": production_settings.SESSION_ENGINE,
    "TECHNICAL_ERRORS": {},
    "SECRET_KEY": SECRETS["setting: SECRET_KEY"],
    "CACHES": {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"redis://:{SECRETS['setting: cache LOCATION']}@cache.internal:6379/0",
        }
    },
    "ANALYTICS_BACKEND": (
        f"postgres://app:{SECRETS['setting: URL with a password under a harmless name']}"
        "@db.internal/analytics"
    ),
    "SENTRY_DSN": f"https://{SECRETS['setting: SENTRY_DSN']}@o1.ingest.example.com/42",
    "PAYMENT_WEBHOOK_URL": (
        f"https://hooks.example.com/services/T0/B0/{SECRETS['setting: PAYMENT_WEBHOOK_URL']}"
    ),
}


@pytest.fixture(autouse=True)
def probe_settings(db: None) -> Iterator[None]:
    with override_settings(**PROBE_SETTINGS):
        caches["default"].clear()
        yield


def probe_client() -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.create_superuser("root"))
    client.cookies["csrftoken"] = CSRF_SECRET
    client.cookies["auth_token"] = SECRETS["cookie: auth_token"]
    client.cookies["theme"] = HARMLESS["cookie: theme"]
    return client


PROBE_HEADERS = {
    "HTTP_AUTHORIZATION": f"Bearer {SECRETS['header: Authorization']}",
    "HTTP_X_CSRFTOKEN": CSRF_SECRET,
    "HTTP_REFERER": (
        f"https://example.com/callback?code={SECRETS['header: Referer query code']}"
        f"&state={HARMLESS['header: Referer query state']}"
    ),
}
QUERY = (
    f"?token={SECRETS['query: token']}&api_key={SECRETS['query: api_key']}"
    f"&page={HARMLESS['query: page']}"
)


def form_post(client: Client, accept: str) -> HttpResponse:
    response: HttpResponse = client.post(
        f"/boom/{QUERY}",
        {
            "password": SECRETS["POST: password"],
            "token": SECRETS["POST: token"],
            "secret": SECRETS["POST: secret"],
            "card": SECRETS["POST: card"],
            "comment": HARMLESS["POST: comment"],
        },
        HTTP_ACCEPT=accept,
        **PROBE_HEADERS,
    )
    return response


def session_cookie(client: Client) -> str:
    return str(client.cookies["sessionid"].value)


ACCEPTS = {"html": "text/html", "text": "application/json"}


@pytest.mark.parametrize("variant", list(ACCEPTS))
def test_no_secret_leaks(variant: str) -> None:
    client = probe_client()
    response = form_post(client, ACCEPTS[variant])

    assert response.status_code == 500
    expected_type = "text/html" if variant == "html" else "text/plain"
    assert response["Content-Type"].startswith(expected_type)
    body = response.content.decode()
    assert "view failed for harmless-page-77" in body  # the technical page
    leaked = {
        name: secret
        for name, secret in {
            **SECRETS,
            "cookie: sessionid": session_cookie(client),
        }.items()
        if secret in body
    }
    assert leaked == {}
    missing = {name for name, value in HARMLESS.items() if value not in body}
    assert missing == set()
    assert SUBSTITUTE in body


@pytest.mark.parametrize("variant", list(ACCEPTS))
def test_json_body_leaks_nothing(variant: str) -> None:
    client = probe_client()
    response = client.post(
        "/boom/",
        json.dumps({"password": JSON_SECRET, "page": JSON_HARMLESS}),
        content_type="application/json",
        HTTP_ACCEPT=ACCEPTS[variant],
    )

    body = response.content.decode()
    assert "view failed" in body
    assert JSON_SECRET not in body
    if variant == "html":
        # Only the local variable holding the parsed body shows it, and the
        # text variant shows no local variables.
        assert JSON_HARMLESS in body


def test_the_probes_leak_through_djangos_own_page() -> None:
    """Django's DEBUG page with its default filter: the probes above are real."""
    client = probe_client()
    with override_settings(DEBUG=True):
        response = form_post(client, "text/html")
    body = response.content.decode()
    assert "DEBUG = True" in body

    leaked = {name for name, secret in SECRETS.items() if secret in body}

    assert leaked >= {
        "setting: URL with a password under a harmless name",
        "setting: cache LOCATION",
        "setting: SENTRY_DSN",
        "setting: PAYMENT_WEBHOOK_URL",
        "query: token",
        "query: api_key",
        "POST: password",
        "POST: token",
        "POST: secret",
        "POST: card",
        "cookie and META: CSRF token",
        "header: Referer query code",
    }
    assert "dpaste.com" in body and "<script" in body


def test_sensitive_variables_are_honoured() -> None:
    response = probe_client().get("/sensitive/")

    body = response.content.decode()
    assert "sensitive view failed" in body
    assert "decorated-secret-88f1" not in body
    assert "hidden_by_decorator" in body


def test_extra_sensitive_names() -> None:
    client = probe_client()
    url = "/boom/?ssn=123-45-6789x&page=p"
    assert "123-45-6789x" in client.get(url).content.decode()

    with override_settings(TECHNICAL_ERRORS={"SENSITIVE_NAMES": ["ssn"]}):
        body = client.get(url).content.decode()

    assert "view failed for p" in body
    assert "123-45-6789x" not in body


# Active content and headers


def test_no_active_content_and_still_readable() -> None:
    response = probe_client().get("/boom/?page=2")
    body = response.content.decode().lower()

    for active in (
        "<form",
        "<input",
        "<script",
        "dpaste",
        " onclick=",
        "share this traceback",
    ):
        assert active not in body, active
    # The page still shows the traceback, local variables and the plain-text
    # traceback to copy, without any script.
    assert '<div id="traceback">' in body
    assert "local vars" in body
    assert 'id="pastebintraceback"' in body
    assert "traceback (most recent call last)" in body
    assert "debug = true" not in body
    assert "your account may see technical error pages" in body


def test_strip_active_content_on_djangos_markup() -> None:
    html = (
        "<script>\n  function toggle() {}\n</script>"
        "<li onclick=\"toggle('pre1', 'post1')\"><pre>x = 1</pre></li>"
        '<form action="https://dpaste.com/" name="pasteform" id="pasteform" method="post">'
        '<input type="hidden" name="title" value="Boom"><textarea>trace</textarea>'
        '<input type="submit" value="Share this traceback on a public website"></form>'
        "<pre>&lt;script&gt;alert(1)&lt;/script&gt; onclick=&quot;x&quot;</pre>"
    )

    assert strip_active_content(html) == (
        "<li><pre>x = 1</pre></li><textarea>trace</textarea>"
        # Escaped request data stays as it is.
        "<pre>&lt;script&gt;alert(1)&lt;/script&gt; onclick=&quot;x&quot;</pre>"
    )


@pytest.mark.parametrize("variant", list(ACCEPTS))
def test_headers(variant: str) -> None:
    response = probe_client().get("/boom/", HTTP_ACCEPT=ACCEPTS[variant])

    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-store", "private", "no-cache", "max-age=0"} <= cache_control
    assert "Cookie" in [part.strip() for part in response["Vary"].split(",")]
    csp = {part.strip() for part in response["Content-Security-Policy"].split(";")}
    assert {"default-src 'none'", "form-action 'none'", "frame-ancestors 'none'"} <= csp
    assert not any(part.startswith("script-src") for part in csp)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "no-referrer"


def test_normal_page_keeps_its_headers() -> None:
    response = Client(raise_request_exception=False).get("/boom/")

    assert b"Server Error (500)" in response.content
    assert "Content-Security-Policy" not in response.headers


def test_technical_500_response_directly() -> None:
    # The page shows the source lines around the raise: name the probe only.
    request = RequestFactory().get(f"/somewhere/?token={DIRECT_TOKEN}")
    try:
        raise ValueError("direct")
    except ValueError as error:
        response = technical_500_response(
            request, type(error), error, error.__traceback__, status_code=503
        )

    assert response.status_code == 503
    assert DIRECT_TOKEN.encode() not in response.content
    assert b"ValueError" in response.content
    assert "no-store" in response["Cache-Control"]


# The filter's rules, one by one


@pytest.fixture
def strict() -> StrictExceptionReporterFilter:
    report_filter = StrictExceptionReporterFilter()
    report_filter.collect_secrets(None)
    return report_filter


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redis://:pw@cache:6379/0", f"redis://:{SUBSTITUTE}@cache:6379/0"),
        ("postgres://app:s3cr3t@db/app", f"postgres://app:{SUBSTITUTE}@db/app"),
        ("https://user@example.com/x", "https://user@example.com/x"),
        ("https://example.com/?page=2", "https://example.com/?page=2"),
        ("/x?token=abc&page=2", f"/x?token={SUBSTITUTE}&page=2"),
        ("token=abc;page=2", f"token={SUBSTITUTE};page=2"),
        (
            "Creds(user='ann', password='x y')",
            f"Creds(user='ann', password='{SUBSTITUTE}')",
        ),
        (
            "{'api_key': 'k1', 'page': 'p'}",
            f"{{'api_key': '{SUBSTITUTE}', 'page': 'p'}}",
        ),
        ('{"Password": "x", "page": 2}', f'{{"Password": "{SUBSTITUTE}", "page": 2}}'),
        (
            "host=db password=hunter22 port=5432",
            f"host=db password={SUBSTITUTE} port=5432",
        ),
        ("nothing to see", "nothing to see"),
    ],
)
def test_scrub(strict: StrictExceptionReporterFilter, text: str, expected: str) -> None:
    assert strict.scrub(text) == expected


@pytest.mark.parametrize(
    ("name", "sensitive"),
    [
        ("page", False),
        ("q", False),
        ("next", False),
        ("password", True),
        ("new_password2", True),
        ("access_token", True),
        ("X-Api-Key", True),
        ("card_number", True),
        ("csrfmiddlewaretoken", True),
        ("sessionid", True),
        ("code", True),
        ("client_secret", True),
    ],
)
def test_sensitive_parameter_names(
    strict: StrictExceptionReporterFilter, name: str, sensitive: bool
) -> None:
    assert strict.is_sensitive_parameter(name) is sensitive


def test_configured_cookie_names_are_sensitive(
    strict: StrictExceptionReporterFilter,
) -> None:
    with override_settings(SESSION_COOKIE_NAME="s", CSRF_COOKIE_NAME="c"):
        assert strict.is_sensitive_parameter("s")
        assert strict.is_sensitive_parameter("c")


@pytest.mark.parametrize(
    "name",
    [
        "DATABASE_ROUTERS",
        "SENTRY_DSN",
        "CACHE_LOCATION",
        "AWS_CREDENTIALS",
        "PRIVATE_FILES",
        "SSL_CERT_FILE",
        "HASH_SALT",
        "SLACK_WEBHOOK",
        "BROKER_URL",
        "API_HOST",
    ],
)
def test_hidden_setting_names(strict: StrictExceptionReporterFilter, name: str) -> None:
    assert strict.cleanse_setting(name, "visible?") == SUBSTITUTE


def test_setting_values_are_scrubbed(strict: StrictExceptionReporterFilter) -> None:
    value: Any = {"OPTIONS": {"hosts": ["amqp://guest:guestpw@rabbit//"]}}

    assert strict.cleanse_setting("BROKER", value) == {
        "OPTIONS": {"hosts": [f"amqp://guest:{SUBSTITUTE}@rabbit//"]}
    }


def test_secrets_from_the_request_are_hunted_everywhere() -> None:
    request = RequestFactory().get("/?token=a-long-token-value", HTTP_COOKIE="x=1")
    report_filter = StrictExceptionReporterFilter()
    report_filter.collect_secrets(request)

    assert (
        report_filter.scrub("got a-long-token-value back") == f"got {SUBSTITUTE} back"
    )
    # Too short to hunt without hiding ordinary text.
    short = RequestFactory().get("/?token=abc")
    report_filter.collect_secrets(short)
    assert report_filter.scrub("abc") == "abc"
