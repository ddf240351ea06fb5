"""System checks of the production companion: ``djdt_signalpanels.E101`` and up,
warnings ``djdt_signalpanels.W101`` and up. Registered by the app config.

They run when ``TECHNICAL_ERRORS`` is set, the middleware is in
``MIDDLEWARE`` or the root URLconf's ``handler500`` is
:func:`~djdt_signalpanels.production.technical_server_error`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from . import conf

NAME = conf.SETTING_NAME
MIDDLEWARE_PATH = "djdt_signalpanels.production.TechnicalErrorMiddleware"
AUTH_MIDDLEWARE_PATH = "django.contrib.auth.middleware.AuthenticationMiddleware"

# Caches that live in each process: an invalidation reaches only the process
# that made the change.
PER_PROCESS_CACHES = ("django.core.cache.backends.locmem.LocMemCache",)


def _import(path: Any) -> Any:
    try:
        return import_string(path)
    except Exception:  # reported by Django's own checks, or irrelevant here
        return None


def _is_subclass(path: Any, base: type) -> bool:
    target = _import(path)
    return isinstance(target, type) and issubclass(target, base)


def _middleware_positions() -> list[int]:
    from .middleware import TechnicalErrorMiddleware

    return [
        index
        for index, path in enumerate(settings.MIDDLEWARE)
        if _is_subclass(path, TechnicalErrorMiddleware)
    ]


def _auth_middleware_positions() -> list[int]:
    base: Any = None
    if apps.is_installed("django.contrib.auth"):
        base = _import(AUTH_MIDDLEWARE_PATH)
    return [
        index
        for index, path in enumerate(settings.MIDDLEWARE)
        if path == AUTH_MIDDLEWARE_PATH
        or (isinstance(base, type) and _is_subclass(path, base))
    ]


def handler_installed() -> bool:
    """True when the root URLconf's handler500 is technical_server_error."""
    from django.urls import get_resolver

    from .handler import technical_server_error

    try:
        handler = get_resolver().resolve_error_handler(500)
    except Exception:  # a broken URLconf: Django's URL checks report it
        return False
    return handler is technical_server_error


def _value_error(
    check_id: str, hint: str, parse: Callable[[], Any]
) -> list[CheckMessage]:
    try:
        parse()
    except ImproperlyConfigured as error:
        return [Error(str(error), hint=hint, id=check_id)]
    return []


def _check_callable(
    key: str, value: Any, check_id: str, hint: str
) -> list[CheckMessage]:
    def parse() -> None:
        path = (
            conf.parse_fallback_handler(value)
            if key == "FALLBACK_HANDLER"
            else conf.parse_callable_path(value)
        )
        if path is not None:
            conf.import_callable(key, path)

    return _value_error(check_id, hint, parse)


def setting_messages() -> list[CheckMessage]:
    """Problems in the ``TECHNICAL_ERRORS`` setting itself."""
    value = conf.user_settings()
    if not isinstance(value, dict):
        return [
            Error(
                f"{NAME} must be a dict, got {type(value).__name__}.",
                hint=f"For example {NAME} = {{'SUPERUSER': True}}.",
                id="djdt_signalpanels.E101",
            )
        ]
    raw = {**conf.DEFAULTS, **value}
    messages: list[CheckMessage] = [
        Error(
            f"{NAME} has an unknown key {key!r}.",
            hint=f"Known keys: {', '.join(sorted(conf.DEFAULTS))}.",
            id="djdt_signalpanels.E102",
        )
        for key in sorted(value.keys() - conf.DEFAULTS.keys(), key=str)
    ]
    for key in ("SUPERUSER", "STAFF"):
        messages += _value_error(
            "djdt_signalpanels.E103",
            f"The default is {conf.DEFAULTS[key]}.",
            lambda key=key: conf.parse_bool(key, raw[key]),  # type: ignore[misc]
        )
    messages += _value_error(
        "djdt_signalpanels.E104",
        f"For example [{conf.CONVENTIONAL_GROUP!r}]; a user must belong to one of them.",
        lambda: conf.parse_groups(raw["GROUPS"]),
    )
    messages += _value_error(
        "djdt_signalpanels.E105",
        "For example 'myapp.view_technical_errors'.",
        lambda: conf.parse_permissions(raw["PERMISSION"]),
    )
    messages += _value_error(
        "djdt_signalpanels.E106",
        "For example ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'].",
        lambda: conf.parse_ip_allowlist(raw["IP_ALLOWLIST"]),
    )
    messages += _value_error(
        "djdt_signalpanels.E107",
        "The number of reverse proxies in front of Django that append to "
        "X-Forwarded-For; 0 (the default) uses REMOTE_ADDR.",
        lambda: conf.parse_trusted_proxies(raw["TRUSTED_PROXIES"]),
    )
    messages += _check_callable(
        "CALLABLE",
        raw["CALLABLE"],
        "djdt_signalpanels.E108",
        "The dotted path of a function taking the request and returning True "
        "to allow, such as 'myapp.errors.may_see_technical_page'.",
    )
    messages += _value_error(
        "djdt_signalpanels.E109",
        f"Known caches: {', '.join(sorted(settings.CACHES))}.",
        lambda: conf.parse_cache_alias(raw["CACHE"]),
    )
    messages += _value_error(
        "djdt_signalpanels.E110",
        f"Keep it short: the default is {conf.DEFAULTS['CACHE_TIMEOUT']} seconds.",
        lambda: conf.parse_cache_timeout(raw["CACHE_TIMEOUT"]),
    )
    messages += _check_callable(
        "FALLBACK_HANDLER",
        raw["FALLBACK_HANDLER"],
        "djdt_signalpanels.E111",
        f"The view that serves everyone else; the default is {conf.DEFAULTS['FALLBACK_HANDLER']}.",
    )
    messages += _value_error(
        "djdt_signalpanels.E112",
        "For example ['ssn', 'x-internal-auth']; they add to the built-in names.",
        lambda: conf.parse_strings("SENSITIVE_NAMES", raw["SENSITIVE_NAMES"]),
    )
    if messages:
        return messages
    return messages + policy_messages(conf.get_config())


def policy_messages(config: conf.Config) -> list[CheckMessage]:
    """A valid setting that still allows too much, or cannot work."""
    messages: list[CheckMessage] = []
    if not config.has_user_condition and not config.ip_allowlist:
        messages.append(
            Error(
                f"{NAME} allows every authenticated user to see technical error pages.",
                hint="Keep SUPERUSER True, or require GROUPS, a PERMISSION or a CALLABLE.",
                id="djdt_signalpanels.E116",
            )
        )
    if config.groups and apps.is_installed("django.contrib.auth"):
        from django.contrib.auth import get_user_model

        from .membership import groups_relation

        if groups_relation(get_user_model()) is None:
            messages.append(
                Error(
                    f"{NAME}['GROUPS'] is set, but the user model "
                    f"{settings.AUTH_USER_MODEL} has no 'groups' relation: nobody "
                    "would be allowed.",
                    hint="Use a PERMISSION or a CALLABLE instead, or give the user "
                    "model django.contrib.auth.models.PermissionsMixin.",
                    id="djdt_signalpanels.E117",
                )
            )
    if config.staff and not config.superuser and not config.ip_allowlist:
        messages.append(
            Warning(
                f"{NAME} shows technical error pages to every staff member, from "
                "any address.",
                hint="Restrict it with IP_ALLOWLIST, GROUPS or a PERMISSION, or "
                "require SUPERUSER.",
                id="djdt_signalpanels.W101",
            )
        )
    for network in config.ip_allowlist:
        if network.prefixlen == 0:
            messages.append(
                Warning(
                    f"{NAME}['IP_ALLOWLIST'] contains {network}, which is every address.",
                    hint="List the addresses of your office or VPN only.",
                    id="djdt_signalpanels.W102",
                )
            )
    if config.groups:
        backend = settings.CACHES.get(config.cache_alias, {}).get("BACKEND")
        if backend in PER_PROCESS_CACHES:
            messages.append(
                Warning(
                    f"{NAME}['CACHE'] {config.cache_alias!r} is a per-process cache: "
                    "a group change invalidates the membership cached by the process "
                    "that made it only. Other processes keep the old membership for "
                    f"up to CACHE_TIMEOUT ({config.cache_timeout} s).",
                    hint="Use a shared cache (Redis, Memcached, database) for CACHE, "
                    "or accept that delay.",
                    id="djdt_signalpanels.W103",
                )
            )
    if not config.has_user_condition and config.ip_allowlist:
        messages.append(
            Warning(
                f"{NAME} shows technical error pages to every authenticated user "
                "connecting from IP_ALLOWLIST.",
                hint="Also require SUPERUSER, STAFF, GROUPS, a PERMISSION or a CALLABLE, "
                "unless every account at those addresses is trusted.",
                id="djdt_signalpanels.W105",
            )
        )
    return messages


@register
def check_technical_errors(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    middleware = _middleware_positions()
    handler = handler_installed()
    configured = conf.is_configured()
    if not (configured or middleware or handler):
        return []
    messages = setting_messages()
    if middleware and middleware[-1] != len(settings.MIDDLEWARE) - 1:
        after = settings.MIDDLEWARE[middleware[-1] + 1 :]
        messages.append(
            Error(
                f"{MIDDLEWARE_PATH} must be the last entry of MIDDLEWARE; these come "
                f"after it: {', '.join(map(str, after))}.",
                hint="Django asks the last middleware first about an exception; "
                "any middleware after it could answer first.",
                id="djdt_signalpanels.E113",
            )
        )
    if middleware or handler:
        auth = _auth_middleware_positions()
        if not auth or (middleware and auth[0] > middleware[-1]):
            messages.append(
                Error(
                    f"{AUTH_MIDDLEWARE_PATH} must be in MIDDLEWARE, before "
                    f"{MIDDLEWARE_PATH}: without request.user nobody can be allowed.",
                    hint="Add it after SessionMiddleware, as Django's project "
                    "template does.",
                    id="djdt_signalpanels.E114",
                )
            )
        if not apps.is_installed("django.contrib.auth"):
            messages.append(
                Error(
                    "Technical error pages need 'django.contrib.auth' in INSTALLED_APPS.",
                    hint="Add 'django.contrib.auth' and 'django.contrib.contenttypes'.",
                    id="djdt_signalpanels.E115",
                )
            )
    if configured and not (middleware or handler):
        messages.append(
            Warning(
                f"{NAME} is set, but nothing serves technical error pages.",
                hint=f"Add {MIDDLEWARE_PATH} last to MIDDLEWARE, or set handler500 = "
                f"'{conf.HANDLER_PATH}' in the root URLconf, or both.",
                id="djdt_signalpanels.W104",
            )
        )
    return messages
