from __future__ import annotations

from django.dispatch import Signal

bench_event = Signal()
"""Sent by the benchmark views.

Keyword arguments: ``event`` (str), ``"evt:<request tag>:<index>"``, which the
benchmark reads back from each request's rendered panel.
"""
