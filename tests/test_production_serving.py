"""What the middleware and the handler share: the audit record and exc_info."""

from __future__ import annotations

import logging
import sys

import pytest
from django.test import RequestFactory

from djdt_signalpanels.production import serving


def test_audit_escapes_the_path(caplog: pytest.LogCaptureFixture) -> None:
    request = RequestFactory().get("/")
    request.path = "/x\nForged record: served to user 1"

    with caplog.at_level(logging.WARNING, "djdt_signalpanels.production.audit"):
        serving.audit(request, ValueError("x"), mode="middleware")

    [record] = caplog.records
    assert "\n" not in record.getMessage()
    assert record.path == "/x\\nForged record: served to user 1"  # type: ignore[attr-defined]
    assert record.user_id is None  # type: ignore[attr-defined]
    assert record.exception_class == "ValueError"  # type: ignore[attr-defined]


def test_while_handling_sets_exc_info_and_keeps_the_traceback() -> None:
    try:
        raise KeyError("original")
    except KeyError as error:
        exception = error
    traceback = exception.__traceback__
    assert sys.exc_info()[1] is None

    seen = serving.while_handling(exception, lambda: sys.exc_info()[1])

    assert seen is exception
    assert exception.__traceback__ is traceback
