"""The technical 500 page for trusted users: stricter cleansing, hardened response.

:class:`StrictExceptionReporterFilter` cleanses more than Django's default
filter, by name and by value:

- settings and ``request.META`` keys whose names contain ``API``, ``AUTH``,
  ``TOKEN``, ``KEY``, ``SECRET``, ``PASS``, ``SIGNATURE``, ``COOKIE``, ``CSRF``,
  ``URL``, ``DSN``, ``DATABASE``, ``LOCATION``, ``CREDENTIAL``, ``PRIVATE``,
  ``CERT``, ``SALT`` or ``WEBHOOK``;
- GET, POST and cookie values, and local variables, whose names contain a
  sensitive fragment (:data:`PARAMETER_FRAGMENTS`), plus the session and CSRF
  cookies whatever their configured names;
- in any text shown (settings, META, parameters, local variables, the
  exception message, the request URL): the password of a URL
  (``redis://:pw@host``), sensitive ``name=value`` pairs (query strings,
  reprs of requests and keyword arguments), sensitive ``'name': 'value'``
  pairs (dict reprs, JSON), and every occurrence of a secret value the
  request carried or a secret setting holds.

:class:`TechnicalExceptionReporter` uses that filter whatever
``DEFAULT_EXCEPTION_REPORTER_FILTER`` says, and removes the page's active
content: the form that posts the traceback to dpaste.com, its inputs, the
inline script and the inline event handlers. :func:`technical_500_response`
adds the headers (no caching, a restrictive Content-Security-Policy).
"""

from __future__ import annotations

import re
from collections.abc import ItemsView, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.urls import resolve
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.datastructures import MultiValueDict
from django.utils.functional import empty
from django.utils.safestring import SafeString, mark_safe
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from . import conf

SUBSTITUTE = SafeExceptionReporterFilter.cleansed_substitute

#: Fragments of setting and META names whose values are hidden.
SETTING_FRAGMENTS: tuple[str, ...] = (
    # Django's default filter:
    "API",
    "AUTH",
    "TOKEN",
    "KEY",
    "SECRET",
    "PASS",
    "SIGNATURE",
    "HTTP_COOKIE",
    # and stricter:
    "COOKIE",
    "CSRF",
    "URL",
    "DSN",
    "DATABASE",
    "LOCATION",
    "CREDENTIAL",
    "PRIVATE",
    "CERT",
    "SALT",
    "WEBHOOK",
)

#: Fragments of GET, POST, cookie, query-string and variable names whose values are hidden.
PARAMETER_FRAGMENTS: tuple[str, ...] = (
    "API",
    "AUTH",
    "TOKEN",
    "KEY",
    "SECRET",
    "PASS",
    "PWD",
    "SIGNATURE",
    "COOKIE",
    "CSRF",
    "SESSION",
    "CREDENTIAL",
    "PRIVATE",
    "DSN",
    "WEBHOOK",
    "SALT",
    "CARD",
    "CVV",
    "CVC",
    "IBAN",
    "OTP",
    "CODE",  # OAuth authorization codes, one-time codes
)

# Settings whose string values are also hidden wherever they appear in the page.
_SECRET_SETTING = re.compile(
    r"SECRET|TOKEN|DSN|WEBHOOK|CREDENTIAL|PRIVATE|SALT|SIGNATURE|API_?KEY|"
    r"ACCESS_?KEY|PASSWORD$|^PASSWORD",
    re.IGNORECASE,
)

# Shorter values are not hunted through the page text: they would match too much.
MIN_SECRET_LENGTH = 6

_URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.\-]*://[^\s:@/'\"<>]*:)(?P<password>[^\s@/'\"<>]+)(?=@)",
    re.IGNORECASE,
)
# name=value in query strings, request reprs and keyword-argument reprs.
_NAME_EQUALS = re.compile(
    r"(?P<head>(?:^|(?<=[?&;\s,(]))(?P<name>[\w.\-\[\]]+)=)"
    r"(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^&;#\s'\"<>,)]*)"
)
# 'name': 'value' in dict reprs and JSON.
_NAME_COLON = re.compile(
    r"(?P<head>(?P<q>['\"])(?P<name>[\w.\- ]+)(?P=q)\s*:\s*)"
    r"(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
)


def _pattern(fragments: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(fragment) for fragment in fragments), re.I)


class StrictExceptionReporterFilter(SafeExceptionReporterFilter):
    """A :class:`~django.views.debug.SafeExceptionReporterFilter` that cleanses more.

    It honours ``sensitive_variables`` and ``sensitive_post_parameters`` like
    Django's filter, whatever ``DEBUG`` says. Call :meth:`collect_secrets`
    with the request before use, so that the secret values it carries are
    hidden wherever they appear.
    """

    def __init__(self) -> None:
        extra = conf.sensitive_names()
        self.hidden_settings = _pattern(SETTING_FRAGMENTS + extra)
        self.hidden_parameters = _pattern(PARAMETER_FRAGMENTS + extra)
        self.secrets: list[str] = []

    def is_active(self, request: HttpRequest | None) -> bool:
        return True

    # Names

    def is_sensitive_parameter(self, name: Any) -> bool:
        if not isinstance(name, str):
            return False
        if name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
            return True
        return self.hidden_parameters.search(name) is not None

    # Values

    def collect_secrets(self, request: HttpRequest | None) -> None:
        """Remember the secret values of ``request`` and of the settings."""
        found: set[str] = set()
        if request is not None:
            for values in (
                getattr(request, "GET", None),
                _post_or_none(request),
                getattr(request, "COOKIES", None),
            ):
                for name, value in _items(values):
                    if self.is_sensitive_parameter(name):
                        found.add(value)
            meta = getattr(request, "META", {})
            for name, value in meta.items():
                if isinstance(value, str) and self.is_sensitive_parameter(name):
                    found.add(value)
                    if name == "HTTP_AUTHORIZATION" and value.split():
                        found.add(value.split()[-1])  # "Bearer <token>"
            session = getattr(request, "session", None)
            key = getattr(session, "_session_key", None)
            if isinstance(key, str):
                found.add(key)
        for name, value in _settings_items():
            _secret_leaves(name, value, found, depth=0)
        self.secrets = sorted(
            (value for value in found if len(value) >= MIN_SECRET_LENGTH),
            key=len,
            reverse=True,  # a secret containing another is replaced whole
        )

    def scrub(self, text: str) -> str:
        """``text`` with URL passwords, sensitive pairs and known secrets hidden."""
        if not text:
            return text
        text = _URL_PASSWORD.sub(lambda match: match["head"] + SUBSTITUTE, text)

        def pair(match: re.Match[str]) -> str:
            if not self.is_sensitive_parameter(match["name"]):
                return match[0]
            value = match["value"]
            quote = value[:1] if value[:1] in ("'", '"') else ""
            return f"{match['head']}{quote}{SUBSTITUTE}{quote}"

        text = _NAME_EQUALS.sub(pair, text)
        text = _NAME_COLON.sub(pair, text)
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, SUBSTITUTE)
        return text

    def scrub_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.scrub(value)
        return value

    # Django's hooks

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        if isinstance(value, str) and not (
            isinstance(key, str) and self.hidden_settings.search(key)
        ):
            value = self.scrub(value)
        return super().cleanse_setting(key, value)

    def get_safe_request_meta(self, request: HttpRequest | None) -> dict[str, Any]:
        if request is None or not hasattr(request, "META"):
            return {}
        return {
            name: self.cleanse_setting(name, value)
            for name, value in request.META.items()
        }

    def get_safe_cookies(self, request: HttpRequest | None) -> dict[str, Any]:
        if request is None or not hasattr(request, "COOKIES"):
            return {}
        return {
            name: SUBSTITUTE
            if self.is_sensitive_parameter(name)
            else self.scrub_value(value)
            for name, value in request.COOKIES.items()
        }

    def get_safe_get_items(self, request: HttpRequest | None) -> list[tuple[str, Any]]:
        if request is None:
            return []
        return list(self._cleanse_parameters(request.GET).items())

    def get_cleansed_multivaluedict(
        self, request: HttpRequest, multivaluedict: QueryDict
    ) -> QueryDict:
        cleansed: QueryDict = self._cleanse_parameters(
            super().get_cleansed_multivaluedict(request, multivaluedict)
        )
        return cleansed

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        if request is None:
            return {}
        return self._cleanse_parameters(super().get_post_parameters(request))

    def _cleanse_parameters(self, values: Any) -> Any:
        cleansed = values.copy()
        for name in list(cleansed):
            if self.is_sensitive_parameter(name):
                cleansed.setlist(name, [SUBSTITUTE])
            else:
                cleansed.setlist(
                    name, [self.scrub_value(value) for value in cleansed.getlist(name)]
                )
        return cleansed

    def get_traceback_frame_variables(
        self, request: HttpRequest | None, tb_frame: Any
    ) -> ItemsView[str, Any]:
        return {
            name: SUBSTITUTE if self.is_sensitive_parameter(name) else value
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        }.items()


def _post_or_none(request: HttpRequest) -> Any:
    try:
        return request.POST
    except Exception:  # an unreadable body: nothing to collect
        return None


def _settings_items() -> Iterator[tuple[str, Any]]:
    """Every setting, read from the settings object behind ``django.conf.settings``.

    Reading through ``settings`` itself would make Django 6.1 and newer warn
    about deprecated settings (``EMAIL_BACKEND``...) merely because they are
    scanned for secrets, as Django's own filter does without warning.
    """
    holder = getattr(settings, "_wrapped", empty)
    if holder is empty:
        holder = settings
    for name in dir(holder):
        if name.isupper():
            try:
                yield name, getattr(holder, name)
            except Exception:  # a setting that cannot be read has no secret to hide
                continue


def _items(values: Any) -> Iterator[tuple[Any, str]]:
    if values is None:
        return
    if isinstance(values, MultiValueDict):
        for name, items in values.lists():
            for item in items:
                if isinstance(item, str):
                    yield name, item
    else:
        for name, item in values.items():
            if isinstance(item, str):
                yield name, item


def _secret_leaves(name: Any, value: Any, found: set[str], *, depth: int) -> None:
    """Adds the strings held under secret-looking setting names to ``found``."""
    if depth > 4:
        return
    if isinstance(name, str) and _SECRET_SETTING.search(name):
        if isinstance(value, str):
            found.add(value)
            return
        if isinstance(value, (list, tuple)):
            found.update(item for item in value if isinstance(item, str))
            return
    if isinstance(value, dict):
        for key, item in value.items():
            _secret_leaves(key, item, found, depth=depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _secret_leaves(None, item, found, depth=depth + 1)
    elif isinstance(value, str):
        for match in _URL_PASSWORD.finditer(value):
            found.add(match["password"])


# Active content of Django's technical 500 page.
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.IGNORECASE | re.DOTALL)
_FORM_TAG = re.compile(r"</?form\b[^>]*>", re.IGNORECASE)
_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
_EVENT_HANDLER = re.compile(r"\son[a-z]+=\"[^\"]*\"", re.IGNORECASE)
_PASTE_SWITCH = re.compile(
    r"<span class=\"commands\"><a href=\"#\" role=\"button\">.*?</a></span>",
    re.DOTALL,
)
_HTML_FOOTER = re.compile(
    r"<footer id=\"explanation\">.*?</footer>", re.IGNORECASE | re.DOTALL
)
_TEXT_FOOTER = re.compile(
    r"You[’']re seeing this error because you have DEBUG = True.*?status code\.",
    re.DOTALL,
)

EXPLANATION = (
    "You’re seeing this page because your account may see technical error "
    "pages (TECHNICAL_ERRORS). DEBUG is False: everyone else gets the "
    "standard error page. This page is not cached, and serving it was logged."
)


def strip_active_content(html: str) -> str:
    """Django's page without its script, event handlers, paste form and inputs.

    Request data in the page is HTML-escaped, so these patterns only ever
    match the template's own markup. Without the script the page stays
    readable: every frame shows its surrounding lines, and the
    copy-and-paste view of the traceback is always shown below it.
    """
    html = _SCRIPT.sub("", html)
    html = _EVENT_HANDLER.sub("", html)
    html = _FORM_TAG.sub("", html)
    html = _INPUT.sub("", html)
    html = _PASTE_SWITCH.sub("", html)
    return _HTML_FOOTER.sub(
        f'<footer id="explanation"><p>{EXPLANATION}</p></footer>', html
    )


@contextmanager
def _resolvable(request: HttpRequest | None) -> Iterator[None]:
    """Lets the page render when resolving the request's URL raises.

    Django names the view that raised by resolving the path again, and
    catches only Http404 there: an exception raised by a path converter would
    be raised anew (Django's own DEBUG page fails the same way). The view
    name is then left out.
    """
    if request is None or getattr(request, "resolver_match", None) is not None:
        yield
        return
    try:
        resolve(request.path)
    except Http404:
        pass
    except Exception:
        request.resolver_match = _Unresolvable()  # type: ignore[assignment]
        try:
            yield
        finally:
            request.resolver_match = None
        return
    yield


class _Unresolvable:
    _func_path = ""


class TechnicalExceptionReporter(ExceptionReporter):
    """Django's :class:`~django.views.debug.ExceptionReporter` with
    :class:`StrictExceptionReporterFilter` and no active content."""

    filter: StrictExceptionReporterFilter

    def __init__(
        self,
        request: HttpRequest | None,
        exc_type: Any,
        exc_value: Any,
        tb: Any,
        is_email: bool = False,
    ) -> None:
        super().__init__(request, exc_type, exc_value, tb, is_email)
        self.filter = StrictExceptionReporterFilter()
        self.filter.collect_secrets(request)

    def _get_raw_insecure_uri(self) -> str:
        uri = super()._get_raw_insecure_uri()  # type: ignore[misc]
        return self.filter.scrub(str(uri))

    def get_traceback_data(self) -> dict[str, Any]:
        with _resolvable(self.request):
            data: dict[str, Any] = super().get_traceback_data()
        scrub = self.filter.scrub
        for frame in data.get("frames", ()):
            if "vars" in frame:
                frame["vars"] = [
                    (name, scrub(value) if isinstance(value, str) else value)
                    for name, value in frame["vars"]
                ]
        for key in ("exception_value", "exception_notes", "unicode_hint"):
            if data.get(key):
                data[key] = scrub(str(data[key]))
        if self.request is not None:
            data["request_GET_items"] = self.filter.get_safe_get_items(self.request)
        return data

    def get_traceback_html(self) -> SafeString:
        # Rendered by Django's template engine, which escaped the request data.
        return mark_safe(strip_active_content(super().get_traceback_html()))

    def get_traceback_text(self) -> SafeString:
        return mark_safe(_TEXT_FOOTER.sub(EXPLANATION, super().get_traceback_text()))


#: The page's Content-Security-Policy: nothing may load, run, submit or frame it;
#: only the page's own inline styles apply.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)


def harden(response: HttpResponse) -> HttpResponse:
    """Headers of every technical page: never cached, never framed, no active content."""
    add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private
    patch_vary_headers(response, ("Cookie", "Accept"))
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def technical_500_response(
    request: HttpRequest,
    exc_type: Any,
    exc_value: Any,
    tb: Any,
    *,
    status_code: int = 500,
) -> HttpResponse:
    """The hardened technical page: HTML, or plain text when the client does
    not accept HTML. The same cleansing applies to both."""
    reporter = TechnicalExceptionReporter(request, exc_type, exc_value, tb)
    if request.accepts("text/html"):
        response = HttpResponse(reporter.get_traceback_html(), status=status_code)
    else:
        response = HttpResponse(
            reporter.get_traceback_text(),
            status=status_code,
            content_type="text/plain; charset=utf-8",
        )
    return harden(response)
