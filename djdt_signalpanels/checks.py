"""System checks, ids ``djdt_signalpanels.E001`` and up.

Panel checks run through DjDT, which calls ``run_checks()`` on every panel in
``DEBUG_TOOLBAR_PANELS``, so they work even when this app is missing from
``INSTALLED_APPS``. Settings checks are registered by the app config.
"""

from __future__ import annotations

import importlib.util
import math
from collections import Counter
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured

from . import conf

APP_NAME = "djdt_signalpanels"


def check_panel_class(panel_class: Any) -> list[CheckMessage]:
    """Errors in one SignalPanel subclass's declaration."""
    from .panel import as_columns

    errors: list[CheckMessage] = []
    name = f"{panel_class.__module__}.{panel_class.__qualname__}"
    spec = getattr(panel_class, "signal", None)
    try:
        panel_class.get_signal()
    except ImproperlyConfigured as error:
        does_not_import = isinstance(spec, str) and "does not import" in str(error)
        errors.append(
            Error(
                f"{name}.signal: {error}",
                hint=(
                    "Check the dotted path: it must name a module attribute, "
                    "such as 'myapp.signals.search_done'."
                    if does_not_import
                    else "Set signal to a django.dispatch.Signal() instance or "
                    "the dotted path of one."
                ),
                obj=panel_class,
                id="djdt_signalpanels.E001"
                if does_not_import
                else "djdt_signalpanels.E002",
            )
        )
    try:
        as_columns(panel_class.columns)
    except (TypeError, ValueError) as error:
        errors.append(
            Error(
                f"{name}.columns is malformed: {error}",
                hint='Use names or Column objects: columns = ["query", Column("hits", "Hits")].',
                obj=panel_class,
                id="djdt_signalpanels.E003",
            )
        )
    if not apps.is_installed(APP_NAME):
        errors.append(
            Error(
                f"{name} needs '{APP_NAME}' in INSTALLED_APPS.",
                hint=f"Add '{APP_NAME}' to INSTALLED_APPS; its template renders the panel.",
                obj=panel_class,
                id="djdt_signalpanels.E004",
            )
        )
    return errors


@register
def check_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Errors in the ``DJDT_SIGNALPANELS`` setting."""
    value = getattr(settings, conf.SETTING_NAME, {})
    if not isinstance(value, dict):
        return [
            Error(
                f"{conf.SETTING_NAME} must be a dict, got {type(value).__name__}.",
                hint=f"For example {conf.SETTING_NAME} = {{'MAX_EVENTS': 500}}.",
                id="djdt_signalpanels.E005",
            )
        ]
    errors: list[CheckMessage] = []
    for key in value.keys() - conf.DEFAULTS.keys():
        errors.append(
            Error(
                f"{conf.SETTING_NAME} has an unknown key {key!r}.",
                hint=f"Known keys: {', '.join(sorted(conf.DEFAULTS))}.",
                id="djdt_signalpanels.E006",
            )
        )
    for key in (
        "MAX_EVENTS",
        "MAX_VALUE_LENGTH",
        "MAX_ITEMS",
        "MAX_DEPTH",
        "LLM_PREVIEW_LENGTH",
    ):
        number = value.get(key, conf.DEFAULTS[key])
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            errors.append(
                Error(
                    f"{conf.SETTING_NAME}[{key!r}] must be a positive integer, got {number!r}.",
                    hint=f"The default is {conf.DEFAULTS[key]}.",
                    id="djdt_signalpanels.E007",
                )
            )
    names = value.get("SENSITIVE_NAMES", [])
    if (
        isinstance(names, str)
        or not isinstance(names, (list, tuple))
        or not all(isinstance(name, str) and name for name in names)
    ):
        errors.append(
            Error(
                f"{conf.SETTING_NAME}['SENSITIVE_NAMES'] must be a list of non-empty strings, got {names!r}.",
                hint="For example ['client_key', 'x-internal-auth']; they add to the built-in names.",
                id="djdt_signalpanels.E008",
            )
        )
    previews = value.get("LLM_PREVIEWS", False)
    if not isinstance(previews, bool):
        errors.append(
            Error(
                f"{conf.SETTING_NAME}['LLM_PREVIEWS'] must be True or False, got {previews!r}.",
                hint="The default is False: prompts and answers are not recorded.",
                id="djdt_signalpanels.E012",
            )
        )
    problem = llm_prices_problem(value.get("LLM_PRICES", {}))
    if problem:
        errors.append(
            Error(
                f"{conf.SETTING_NAME}['LLM_PRICES'] is malformed: {problem}.",
                hint="Map model names to prices per million tokens, for example "
                "{'gpt-4o-mini': {'input': 0.15, 'cached_input': 0.075, 'output': 0.6}}.",
                id="djdt_signalpanels.E012",
            )
        )
    url = value.get("REDIS_URL")
    if url is not None and not (
        isinstance(url, str) and url.split("://")[0] in REDIS_SCHEMES and "://" in url
    ):
        errors.append(
            Error(
                f"{conf.SETTING_NAME}['REDIS_URL'] must be a redis://, rediss:// or unix:// URL, got {url!r}.",
                hint="For example 'redis://localhost:6379/0'.",
                id="djdt_signalpanels.E013",
            )
        )
    return errors


REDIS_SCHEMES = ("redis", "rediss", "unix")
REDIS_STORE = "djdt_signalpanels.stores.RedisStore"


@register
def check_store(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """What the store named by DjDT's ``TOOLBAR_STORE_CLASS`` needs."""
    if not apps.is_installed("debug_toolbar"):
        return []
    from debug_toolbar import settings as dt_settings

    if dt_settings.get_config()["TOOLBAR_STORE_CLASS"] != REDIS_STORE:
        return []
    errors: list[CheckMessage] = []
    if conf.redis_url() is None:
        errors.append(
            Error(
                f"{REDIS_STORE} needs {conf.SETTING_NAME}['REDIS_URL'].",
                hint="For example {'REDIS_URL': 'redis://localhost:6379/0'}: the "
                "Redis server every worker of the site can reach.",
                id="djdt_signalpanels.E013",
            )
        )
    if importlib.util.find_spec("redis") is None:
        errors.append(
            Error(
                f"{REDIS_STORE} needs the redis package.",
                hint="pip install 'djdt-signalpanels[redis]'",
                id="djdt_signalpanels.E014",
            )
        )
    return errors


def llm_prices_problem(prices: Any) -> str | None:
    """What is wrong with an ``LLM_PRICES`` value, or None."""
    if not isinstance(prices, dict):
        return f"it must be a dict, got {type(prices).__name__}"
    for model, price in prices.items():
        if not isinstance(model, str) or not model:
            return f"model names must be non-empty strings, got {model!r}"
        if not isinstance(price, dict):
            return f"the price of {model!r} must be a dict, got {price!r}"
        missing = sorted({"input", "output"} - price.keys())
        if missing:
            return f"the price of {model!r} needs {' and '.join(map(repr, missing))}"
        unknown = sorted(map(repr, price.keys() - {"input", "output", "cached_input"}))
        if unknown:
            return f"the price of {model!r} has unknown keys {', '.join(unknown)}"
        for key, number in price.items():
            if (
                isinstance(number, bool)
                or not isinstance(number, (int, float))
                or not math.isfinite(number)
                or number < 0
            ):
                return (
                    f"{model!r} {key!r} must be a number of at least 0, got {number!r}"
                )
    return None


@register
def check_panel_ids(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Two listed panels with one class name: DjDT keeps only the last."""
    if not apps.is_installed("debug_toolbar"):
        return []  # a project using only the production companion
    from debug_toolbar import settings as dt_settings
    from django.utils.module_loading import import_string

    ids: Counter[str] = Counter()
    for path in dt_settings.get_panels():
        try:
            panel_class = import_string(path)
        except ImportError:
            continue  # DjDT reports panels that do not import.
        panel_id = getattr(panel_class, "panel_id", None)
        if isinstance(panel_id, str):
            ids[panel_id] += 1
    return [
        Error(
            f"More than one panel in DEBUG_TOOLBAR_PANELS has the id {panel_id!r}; "
            "the toolbar would show only one of them.",
            hint="Give each panel class a distinct name, or set panel_id on one of them.",
            id="djdt_signalpanels.E009",
        )
        for panel_id, count in ids.items()
        if count > 1
    ]
