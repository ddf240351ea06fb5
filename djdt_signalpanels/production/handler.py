"""The ``handler500`` view: the technical page for every uncaught exception."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from . import conf
from .serving import steps_aside, technical_page

logger = logging.getLogger("djdt_signalpanels.production")


def fallback_handler() -> Callable[..., Any]:
    """``FALLBACK_HANDLER``; Django's ``server_error`` when it does not import."""
    path = conf.fallback_handler_path()
    try:
        handler = import_string(path)
    except ImportError:
        logger.warning(
            "TECHNICAL_ERRORS['FALLBACK_HANDLER'] %r does not import; using "
            "Django's server_error.",
            path,
            exc_info=True,
        )
        handler = import_string(conf.DEFAULTS["FALLBACK_HANDLER"])
    return handler  # type: ignore[no-any-return]


def technical_server_error(request: HttpRequest) -> HttpResponse:
    """A ``handler500`` that serves the technical page to trusted users.

    Set it in the root URLconf::

        handler500 = "djdt_signalpanels.production.technical_server_error"

    Django calls ``handler500`` for every exception that becomes a 500
    response, including those raised in middleware and in URL resolution,
    which never reach ``process_exception``. Everyone else gets
    ``FALLBACK_HANDLER`` (Django's ``server_error`` by default).

    Django has already sent ``got_request_exception`` when it calls the
    handler, and logs the exception after it returns: this view reports
    nothing itself, so each happens once.
    """
    exception = sys.exc_info()[1]
    if exception is not None and not steps_aside():
        response = technical_page(request, exception, mode="handler500")
        if response is not None:
            return response
    fallback: HttpResponse = fallback_handler()(request)
    return fallback
