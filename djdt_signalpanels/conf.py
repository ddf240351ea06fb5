"""Settings, read on every access so that ``override_settings`` works.

All options live in one dict setting::

    DJDT_SIGNALPANELS = {
        "MAX_EVENTS": 1000,          # per panel and request; later sends are counted, not kept
        "MAX_VALUE_LENGTH": 1000,    # characters kept of one string, bytes or repr
        "MAX_ITEMS": 100,            # items kept of one list, tuple, set or dict
        "MAX_DEPTH": 6,              # nesting kept of containers
        "SENSITIVE_NAMES": [],       # names masked in addition to the defaults
        "LLM_PREVIEWS": False,       # LLMPanel: record the start of prompts and answers
        "LLM_PREVIEW_LENGTH": 200,   # characters kept of each preview
        "LLM_PRICES": {},            # model -> {"input", "output"[, "cached_input"]}
        "REDIS_URL": None,           # stores.RedisStore: "redis://host:6379/0"
    }

Prices are per million tokens, in the currency of your choice.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

SETTING_NAME = "DJDT_SIGNALPANELS"

DEFAULTS: dict[str, Any] = {
    "MAX_EVENTS": 1000,
    "MAX_VALUE_LENGTH": 1000,
    "MAX_ITEMS": 100,
    "MAX_DEPTH": 6,
    "SENSITIVE_NAMES": [],
    "LLM_PREVIEWS": False,
    "LLM_PREVIEW_LENGTH": 200,
    "LLM_PRICES": {},
    "REDIS_URL": None,
}

# Compared word by word against argument and key names, so "token" masks
# "access_token" and "X-Auth-Token" but not "input_tokens".
DEFAULT_SENSITIVE_NAMES: tuple[str, ...] = (
    "password",
    "passwords",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "cookie",
    "cookies",
    "sessionid",
    "session_id",
    "session_key",
    "csrftoken",
    "csrfmiddlewaretoken",
    "private_key",
    "credential",
    "credentials",
    "signature",
)


def user_settings() -> dict[str, Any]:
    value = getattr(settings, SETTING_NAME, {})
    return value if isinstance(value, dict) else {}


def get(name: str) -> Any:
    return user_settings().get(name, DEFAULTS[name])


def max_events() -> int:
    return int(get("MAX_EVENTS"))


def max_value_length() -> int:
    return int(get("MAX_VALUE_LENGTH"))


def max_items() -> int:
    return int(get("MAX_ITEMS"))


def max_depth() -> int:
    return int(get("MAX_DEPTH"))


def sensitive_names() -> tuple[str, ...]:
    return DEFAULT_SENSITIVE_NAMES + tuple(get("SENSITIVE_NAMES"))


def llm_previews() -> bool:
    return get("LLM_PREVIEWS") is True


def llm_preview_length() -> int:
    return int(get("LLM_PREVIEW_LENGTH"))


def llm_prices() -> dict[str, dict[str, float]]:
    """Prices per million tokens by model name; ``{}`` when none are configured."""
    prices = get("LLM_PRICES")
    return prices if isinstance(prices, dict) else {}


def redis_url() -> str | None:
    """Where :class:`~djdt_signalpanels.stores.RedisStore` keeps its data."""
    url = get("REDIS_URL")
    return url if isinstance(url, str) and url else None
