"""The middleware: the technical page for exceptions raised by views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from .serving import NOT_SERVER_ERRORS, report, steps_aside, technical_page


class TechnicalErrorMiddleware:
    """Serves Django's technical 500 page to trusted users while ``DEBUG`` is False.

    Put it **last** in ``MIDDLEWARE``: Django asks the exception middleware in
    reverse order, so the last one is asked first, before any other
    middleware can turn the exception into a response. It sees exceptions
    raised by views and while rendering template responses; for exceptions
    raised in middleware and URL resolution, also set ``handler500`` to
    :func:`~djdt_signalpanels.production.technical_server_error`.

    For anyone else, for 4xx exceptions (``Http404``, ``PermissionDenied``,
    ``SuspiciousOperation``, ``BadRequest``), and when ``DEBUG`` or
    ``DEBUG_PROPAGATE_EXCEPTIONS`` is True, it steps aside and Django responds
    as it would without it. When it serves the page it reports the exception
    as Django would: ``got_request_exception`` is sent once, and
    ``django.request`` logs one error with the traceback.

    Sync and async capable: it adds nothing to a healthy request. Django calls
    ``process_exception`` synchronously, in a worker thread under ASGI, so
    the cache and database lookups it may make never block the event loop.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        # A response, or an awaitable of one in async mode.
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            # Tells Django's handler to await this instance directly.
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = await self.get_response(request)
        return response

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        if steps_aside() or isinstance(exception, NOT_SERVER_ERRORS):
            return None
        response = technical_page(request, exception, mode="middleware")
        if response is None:
            return None  # Django serves, reports and logs the normal 500 page.
        report(request, exception, response)
        return response
