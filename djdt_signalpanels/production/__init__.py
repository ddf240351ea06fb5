"""Django's technical 500 page for trusted users in production (``DEBUG = False``).

Needs no django-debug-toolbar. See the "Production" page of the documentation.
"""

from __future__ import annotations

from .handler import technical_server_error
from .membership import invalidate_membership
from .middleware import TechnicalErrorMiddleware
from .policy import ais_trusted, client_ip, is_trusted
from .reporting import (
    StrictExceptionReporterFilter,
    TechnicalExceptionReporter,
    technical_500_response,
)

__all__ = [
    "StrictExceptionReporterFilter",
    "TechnicalErrorMiddleware",
    "TechnicalExceptionReporter",
    "ais_trusted",
    "client_ip",
    "invalidate_membership",
    "is_trusted",
    "technical_500_response",
    "technical_server_error",
]
