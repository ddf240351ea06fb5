"""The demo's own event: a recommendation widget was filled."""

from __future__ import annotations

from django.dispatch import Signal

recommendations_served = Signal()
"""Keyword arguments: ``strategy`` (str), ``items`` (list of str),
``took`` (milliseconds) and ``cached`` (bool)."""
