"""The event vocabulary: signals that the bundled panels record.

Send them from your own code, or let an integration send them. Argument names
follow the OpenTelemetry semantic conventions where those name the thing.
"""

from __future__ import annotations

from django.dispatch import Signal

feature_flag_evaluated = Signal()
"""A feature flag was evaluated (OpenTelemetry ``feature_flag.*``).

Keyword arguments:

``name`` (str, required)
    The flag's key (``feature_flag.key``).
``result`` (required)
    The evaluated value: usually a bool, or a variant's value.
``variant`` (str, optional)
    The variant's name (``feature_flag.result.variant``).
``reason`` (str, optional)
    Why this result: ``"static"``, ``"targeting_match"``, ``"default"``,
    ``"disabled"``, ``"error"``... (``feature_flag.result.reason``).
``provider`` (str, optional)
    What evaluated it, such as a library name (``feature_flag.provider.name``).

Example::

    feature_flag_evaluated.send(sender=None, name="new-checkout", result=True,
                                reason="targeting_match")
"""
