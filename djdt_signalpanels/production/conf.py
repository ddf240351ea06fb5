"""The ``TECHNICAL_ERRORS`` setting, read on every access so that ``override_settings`` works.

All options live in one dict setting; every key is optional::

    TECHNICAL_ERRORS = {
        "SUPERUSER": True,        # the user must be a superuser
        "STAFF": False,           # the user must be staff
        "GROUPS": [],             # the user must belong to one of these groups
        "PERMISSION": None,       # the user must have this permission (or all of a list)
        "IP_ALLOWLIST": [],       # the client address must be in one of these networks
        "TRUSTED_PROXIES": 0,     # proxies in front of Django that append X-Forwarded-For
        "CALLABLE": None,         # dotted path of a callable(request) -> bool, sync or async
        "CACHE": "default",       # cache alias for group membership
        "CACHE_TIMEOUT": 60,      # seconds a user's cached group names live
        "FALLBACK_HANDLER": "django.views.defaults.server_error",
        "SENSITIVE_NAMES": [],    # name fragments cleansed in addition to the built-in ones
    }

Every configured condition must hold, and the user must always be
authenticated and active. :func:`get_config` validates the setting and raises
:exc:`~django.core.exceptions.ImproperlyConfigured` when it is malformed; the
policy treats that as "no", and the system checks name each problem.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

SETTING_NAME = "TECHNICAL_ERRORS"

#: The conventional name of the group whose members may see technical pages.
CONVENTIONAL_GROUP = "Technical Errors"

HANDLER_PATH = "djdt_signalpanels.production.technical_server_error"

DEFAULTS: dict[str, Any] = {
    "SUPERUSER": True,
    "STAFF": False,
    "GROUPS": [],
    "PERMISSION": None,
    "IP_ALLOWLIST": [],
    "TRUSTED_PROXIES": 0,
    "CALLABLE": None,
    "CACHE": "default",
    "CACHE_TIMEOUT": 60,
    "FALLBACK_HANDLER": "django.views.defaults.server_error",
    "SENSITIVE_NAMES": [],
}

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Config:
    """The parsed ``TECHNICAL_ERRORS`` setting."""

    superuser: bool
    staff: bool
    groups: tuple[str, ...]
    permissions: tuple[str, ...]
    ip_allowlist: tuple[IPNetwork, ...]
    trusted_proxies: int
    callable_path: str | None
    cache_alias: str
    cache_timeout: int
    fallback_handler: str
    sensitive_names: tuple[str, ...]

    @property
    def has_user_condition(self) -> bool:
        """False when any authenticated user would pass, whatever the address."""
        return bool(
            self.superuser
            or self.staff
            or self.groups
            or self.permissions
            or self.callable_path
        )


def user_settings() -> Any:
    """The raw setting: normally a dict, possibly anything."""
    return getattr(settings, SETTING_NAME, {})


def is_configured() -> bool:
    return hasattr(settings, SETTING_NAME)


def _raw() -> dict[str, Any]:
    value = user_settings()
    if not isinstance(value, dict):
        raise ImproperlyConfigured(
            f"{SETTING_NAME} must be a dict, got {type(value).__name__}."
        )
    return {**DEFAULTS, **value}


def parse_strings(
    key: str, value: Any, *, allow_single: bool = False
) -> tuple[str, ...]:
    if allow_single and isinstance(value, str):
        value = [value]
    if (
        isinstance(value, str)
        or not isinstance(value, (list, tuple))
        or not all(isinstance(item, str) and item for item in value)
    ):
        raise ImproperlyConfigured(
            f"{SETTING_NAME}[{key!r}] must be a list of non-empty strings, got {value!r}."
        )
    return tuple(value)


def parse_bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ImproperlyConfigured(
            f"{SETTING_NAME}[{key!r}] must be True or False, got {value!r}."
        )
    return value


def parse_groups(value: Any) -> tuple[str, ...]:
    return parse_strings("GROUPS", value)


def parse_permissions(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    try:
        permissions = parse_strings("PERMISSION", value, allow_single=True)
    except ImproperlyConfigured:
        permissions = ()
    if not permissions or not all(
        "." in name and all(name.split(".", 1)) for name in permissions
    ):
        raise ImproperlyConfigured(
            f"{SETTING_NAME}['PERMISSION'] must be a permission name "
            f"'app_label.codename' or a list of them, got {value!r}."
        )
    return permissions


def parse_network(entry: Any) -> IPNetwork:
    if not isinstance(entry, str):
        raise ValueError(f"{entry!r} is not a string")
    return ipaddress.ip_network(entry.strip(), strict=False)


def parse_ip_allowlist(value: Any) -> tuple[IPNetwork, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ImproperlyConfigured(
            f"{SETTING_NAME}['IP_ALLOWLIST'] must be a list of addresses or networks, "
            f"got {value!r}."
        )
    networks = []
    for entry in value:
        try:
            networks.append(parse_network(entry))
        except ValueError as error:
            raise ImproperlyConfigured(
                f"{SETTING_NAME}['IP_ALLOWLIST'] has an entry that is not an IP "
                f"address or network: {entry!r} ({error})."
            ) from None
    return tuple(networks)


def parse_trusted_proxies(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ImproperlyConfigured(
            f"{SETTING_NAME}['TRUSTED_PROXIES'] must be an integer of 0 or more, "
            f"got {value!r}."
        )
    return value


def parse_dotted_path(key: str, value: Any) -> str:
    if not isinstance(value, str) or "." not in value:
        raise ImproperlyConfigured(
            f"{SETTING_NAME}[{key!r}] must be the dotted path of a callable, got {value!r}."
        )
    return value


def parse_callable_path(value: Any) -> str | None:
    return None if value is None else parse_dotted_path("CALLABLE", value)


def import_callable(key: str, path: str) -> Callable[..., Any]:
    """The callable at ``path``; ImproperlyConfigured if it does not import."""
    try:
        target = import_string(path)
    except ImportError as error:
        raise ImproperlyConfigured(
            f"{SETTING_NAME}[{key!r}] {path!r} does not import: {error}"
        ) from None
    if not callable(target):
        raise ImproperlyConfigured(f"{SETTING_NAME}[{key!r}] {path!r} is not callable.")
    return target  # type: ignore[no-any-return]


def parse_cache_alias(value: Any) -> str:
    if not isinstance(value, str) or value not in settings.CACHES:
        raise ImproperlyConfigured(
            f"{SETTING_NAME}['CACHE'] must name a cache in CACHES, got {value!r}."
        )
    return value


def parse_cache_timeout(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ImproperlyConfigured(
            f"{SETTING_NAME}['CACHE_TIMEOUT'] must be a positive number of seconds, "
            f"got {value!r}."
        )
    return value


def parse_fallback_handler(value: Any) -> str:
    path = parse_dotted_path("FALLBACK_HANDLER", value)
    if path == HANDLER_PATH:
        raise ImproperlyConfigured(
            f"{SETTING_NAME}['FALLBACK_HANDLER'] must not be {HANDLER_PATH} itself: "
            "it would call itself."
        )
    return path


def get_config() -> Config:
    """The setting, validated; raises ImproperlyConfigured when malformed."""
    raw = _raw()
    unknown = raw.keys() - DEFAULTS.keys()
    if unknown:
        raise ImproperlyConfigured(
            f"{SETTING_NAME} has unknown keys: {', '.join(sorted(unknown))}."
        )
    return Config(
        superuser=parse_bool("SUPERUSER", raw["SUPERUSER"]),
        staff=parse_bool("STAFF", raw["STAFF"]),
        groups=parse_groups(raw["GROUPS"]),
        permissions=parse_permissions(raw["PERMISSION"]),
        ip_allowlist=parse_ip_allowlist(raw["IP_ALLOWLIST"]),
        trusted_proxies=parse_trusted_proxies(raw["TRUSTED_PROXIES"]),
        callable_path=parse_callable_path(raw["CALLABLE"]),
        cache_alias=parse_cache_alias(raw["CACHE"]),
        cache_timeout=parse_cache_timeout(raw["CACHE_TIMEOUT"]),
        fallback_handler=parse_fallback_handler(raw["FALLBACK_HANDLER"]),
        sensitive_names=parse_strings("SENSITIVE_NAMES", raw["SENSITIVE_NAMES"]),
    )


def fallback_handler_path() -> str:
    """The fallback handler, even when other keys are malformed.

    The handler500 mode needs a normal 500 page most when the setting is broken.
    """
    try:
        return parse_fallback_handler(_raw()["FALLBACK_HANDLER"])
    except ImproperlyConfigured:
        return str(DEFAULTS["FALLBACK_HANDLER"])


def cache_alias() -> str:
    """The membership cache alias; the default alias when the setting is malformed."""
    try:
        return parse_cache_alias(_raw()["CACHE"])
    except ImproperlyConfigured:
        return str(DEFAULTS["CACHE"])


def sensitive_names() -> tuple[str, ...]:
    """Extra name fragments to cleanse; none when the setting is malformed."""
    try:
        return parse_strings("SENSITIVE_NAMES", _raw()["SENSITIVE_NAMES"])
    except ImproperlyConfigured:
        return ()
