"""Who may see the technical 500 page.

The user must be authenticated and active, always, and every configured
condition of ``TECHNICAL_ERRORS`` must hold (they combine with AND). The
cheap conditions are tested first, so a plain user costs no group lookup.

The decision never raises: any exception while deciding (a broken setting, a
cache or database outage, a failing ``CALLABLE``) means "no" and is logged as
a warning on the ``djdt_signalpanels.production`` logger.
"""

from __future__ import annotations

import inspect
import ipaddress
import logging
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.http import HttpRequest

from . import conf, membership

logger = logging.getLogger("djdt_signalpanels.production")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(value: Any) -> IPAddress | None:
    """An IP address from a header or META value; None when it is not one."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_ip(request: HttpRequest, trusted_proxies: int = 0) -> IPAddress | None:
    """The client's address: ``REMOTE_ADDR``, or the ``X-Forwarded-For`` entry
    appended by the outermost of ``trusted_proxies`` proxies.

    Each proxy appends the address it received the request from, so with *n*
    trusted proxies the client is the *n*-th entry from the right; entries
    further left are whatever the client sent and are never trusted. None when
    the header has fewer entries than there are trusted proxies.
    """
    if trusted_proxies <= 0:
        return parse_address(request.META.get("REMOTE_ADDR"))
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    entries = [entry for entry in str(header).split(",") if entry.strip()]
    if len(entries) < trusted_proxies:
        return None
    return parse_address(entries[-trusted_proxies])


def ip_allowed(address: IPAddress | None, networks: tuple[conf.IPNetwork, ...]) -> bool:
    if address is None:
        return False
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        candidates.append(address.ipv4_mapped)  # "::ffff:10.0.0.1" is 10.0.0.1
    return any(
        candidate in network
        for candidate in candidates
        for network in networks
        if candidate.version == network.version
    )


def _user_passes_flags(user: Any, config: conf.Config) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if not getattr(user, "is_active", False):
        return False
    if config.superuser and not getattr(user, "is_superuser", False):
        return False
    if config.staff and not getattr(user, "is_staff", False):
        return False
    return True


def _request_user(request: HttpRequest) -> Any:
    if not hasattr(request, "user"):
        logger.warning(
            "Technical error page refused: the request has no user. Either "
            "django.contrib.auth.middleware.AuthenticationMiddleware is not in "
            "MIDDLEWARE, or the error happened before it ran."
        )
        return None
    return request.user


def _load_user(request: HttpRequest) -> Any:
    user = request.user
    # Evaluates a lazy user here, in the worker thread, not in the event loop.
    getattr(user, "is_authenticated", None)
    return user


def _decide(request: HttpRequest) -> bool:
    config = conf.get_config()
    user = _request_user(request)
    if not _user_passes_flags(user, config):
        return False
    if config.ip_allowlist and not ip_allowed(
        client_ip(request, config.trusted_proxies), config.ip_allowlist
    ):
        return False
    if config.groups:
        names = membership.group_names(
            user, alias=config.cache_alias, timeout=config.cache_timeout
        )
        if names.isdisjoint(config.groups):
            return False
    if config.permissions and not user.has_perms(config.permissions):
        return False
    if config.callable_path:
        check = conf.import_callable("CALLABLE", config.callable_path)
        if inspect.iscoroutinefunction(check):
            result = async_to_sync(check)(request)
        else:
            result = check(request)
            if inspect.isawaitable(result):
                result = async_to_sync(_await)(result)
        if result is not True:
            return False
    return True


async def _await(awaitable: Any) -> Any:
    return await awaitable


async def _adecide(request: HttpRequest) -> bool:
    config = conf.get_config()
    if not hasattr(request, "user"):
        user = _request_user(request)
    elif hasattr(request, "auser"):
        user = await request.auser()
    else:
        user = await sync_to_async(_load_user)(request)
    if not _user_passes_flags(user, config):
        return False
    if config.ip_allowlist and not ip_allowed(
        client_ip(request, config.trusted_proxies), config.ip_allowlist
    ):
        return False
    if config.groups:
        names = await membership.agroup_names(
            user, alias=config.cache_alias, timeout=config.cache_timeout
        )
        if names.isdisjoint(config.groups):
            return False
    if config.permissions and not await user.ahas_perms(config.permissions):
        return False
    if config.callable_path:
        check = conf.import_callable("CALLABLE", config.callable_path)
        if inspect.iscoroutinefunction(check):
            result = await check(request)
        else:
            result = await sync_to_async(check)(request)
            if inspect.isawaitable(result):
                result = await result
        if result is not True:
            return False
    return True


def _refuse(error: BaseException) -> bool:
    logger.warning(
        "Technical error page refused: deciding who may see it failed (%s: %s).",
        type(error).__name__,
        error,
        exc_info=error,
    )
    return False


def is_trusted(request: HttpRequest) -> bool:
    """True when the user of ``request`` may see technical error pages.

    For sync code, and for Django's exception middleware, which runs in a
    worker thread under ASGI too. Never raises.
    """
    try:
        return _decide(request)
    except Exception as error:
        return _refuse(error)


async def ais_trusted(request: HttpRequest) -> bool:
    """:func:`is_trusted` for async code: the user, the cache and the database
    are awaited, and a sync ``CALLABLE`` runs in a worker thread. Never raises."""
    try:
        return await _adecide(request)
    except Exception as error:
        return _refuse(error)
