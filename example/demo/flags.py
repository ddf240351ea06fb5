"""A tiny in-process feature flag helper that reports each evaluation.

Real flag libraries (django-waffle, OpenFeature providers, ...) would send
``feature_flag_evaluated`` from an integration; here the helper sends it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from djdt_signalpanels.signals import feature_flag_evaluated


@dataclass(frozen=True)
class Flag:
    enabled: bool = True
    percentage: int | None = None  # a rollout: on for this share of keys


FLAGS = {
    "new-checkout": Flag(),
    "dark-mode": Flag(enabled=False),
    "search-v2": Flag(percentage=30),
}


def is_enabled(name: str, *, key: str = "") -> bool:
    """Evaluate flag ``name`` for ``key`` (a user or visitor id)."""
    flag = FLAGS.get(name)
    if flag is None:
        result, reason = False, "default"
    elif not flag.enabled:
        result, reason = False, "disabled"
    elif flag.percentage is None:
        result, reason = True, "static"
    else:
        # A stable bucket per flag and key, as percentage rollouts do.
        bucket = zlib.crc32(f"{name}:{key}".encode()) % 100
        result, reason = bucket < flag.percentage, "split"
    feature_flag_evaluated.send(
        sender=None, name=name, result=result, reason=reason, provider="demo.flags"
    )
    return result
