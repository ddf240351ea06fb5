"""What the middleware and the handler500 view share: deciding, auditing, reporting."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.conf import settings
from django.core import signals
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.log import log_response

from . import conf
from .policy import client_ip, is_trusted
from .reporting import technical_500_response

logger = logging.getLogger("djdt_signalpanels.production")

#: One record for every technical page served.
audit_logger = logging.getLogger("djdt_signalpanels.production.audit")

# Exceptions that Django turns into 4xx responses, never into a 500 page.
NOT_SERVER_ERRORS = (
    Http404,
    PermissionDenied,
    MultiPartParserError,
    BadRequest,
    SuspiciousOperation,
)

# The decision, kept on the request: the handler500 view does not decide
# (nor warn) a second time when the middleware already refused.
_DECISION = "_djdt_signalpanels_technical_error_allowed"

T = TypeVar("T")


def steps_aside() -> bool:
    """With DEBUG, Django shows its own page; with DEBUG_PROPAGATE_EXCEPTIONS, none."""
    return bool(settings.DEBUG or settings.DEBUG_PROPAGATE_EXCEPTIONS)


def allowed(request: HttpRequest) -> bool:
    decision = getattr(request, _DECISION, None)
    if isinstance(decision, bool):
        return decision
    decision = is_trusted(request)
    try:
        setattr(request, _DECISION, decision)
    except Exception:  # an exotic request object; deciding again is harmless
        pass
    return decision


def technical_page(
    request: HttpRequest, exception: BaseException, *, mode: str
) -> HttpResponse | None:
    """The technical page when the user may see it, None otherwise. Never raises.

    Rendering is the step most likely to fail (a broken ``__repr__`` in a local
    variable, a failing cache); then the normal 500 page is served and the
    original exception is reported as usual.
    """
    if not allowed(request):
        return None
    try:
        response = technical_500_response(
            request, type(exception), exception, exception.__traceback__
        )
        audit(request, exception, mode=mode)
    except Exception as error:
        logger.warning(
            "Could not render the technical error page (%s: %s); serving the "
            "normal one.",
            type(error).__name__,
            error,
            exc_info=error,
        )
        return None
    return response


def _escape(text: str) -> str:
    # Paths come from the client: no line breaks or control characters in the log.
    return text.encode("unicode_escape").decode("ascii")


def exception_name(exception: BaseException) -> str:
    cls = type(exception)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def audit(request: HttpRequest, exception: BaseException, *, mode: str) -> None:
    """Writes one record on ``djdt_signalpanels.production.audit``."""
    try:
        trusted_proxies = conf.get_config().trusted_proxies
    except Exception:
        trusted_proxies = 0
    user = getattr(request, "user", None)
    user_id = getattr(user, "pk", None)
    address = client_ip(request, trusted_proxies)
    fields: dict[str, Any] = {
        "user_id": user_id,
        "path": _escape(request.path),
        "method": _escape(str(request.method)),
        "exception_class": exception_name(exception),
        "client_ip": str(address) if address is not None else None,
        "served_at": datetime.now(UTC).isoformat(),
        "mode": mode,
    }
    audit_logger.warning(
        "Technical 500 page served to user %s: %s %s raised %s (client %s, at %s).",
        fields["user_id"],
        fields["method"],
        fields["path"],
        fields["exception_class"],
        fields["client_ip"],
        fields["served_at"],
        extra=fields,
    )


def while_handling(exception: BaseException, action: Callable[[], T]) -> T:
    """Runs ``action`` with ``sys.exc_info()`` giving ``exception``.

    Receivers of ``got_request_exception`` (Sentry, the test client) read
    ``sys.exc_info()``. Django calls ``process_exception`` inside its
    ``except`` block, in every mode, so this is a safeguard for other callers.
    """
    if sys.exc_info()[1] is exception:
        return action()
    traceback = exception.__traceback__
    try:
        raise exception
    except BaseException:
        return action()
    finally:
        exception.__traceback__ = traceback


def report(
    request: HttpRequest, exception: BaseException, response: HttpResponse
) -> None:
    """Reports the exception exactly as Django's ``response_for_exception`` does:
    ``got_request_exception`` once, and one ``django.request`` error record with
    the traceback. ``log_response`` marks the response as logged, so Django's
    handler does not log it again without the traceback."""

    def send_and_log() -> None:
        signals.got_request_exception.send(sender=None, request=request)
        log_response(
            "%s: %s",
            response.reason_phrase,
            request.path,
            response=response,
            request=request,
            exception=exception,
        )

    while_handling(exception, send_and_log)
