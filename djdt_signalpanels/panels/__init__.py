"""Concrete panels built on :class:`~djdt_signalpanels.SignalPanel`."""

from __future__ import annotations

from .elasticsearch import ElasticsearchPanel
from .feature_flags import FeatureFlagsPanel
from .llm import LLMPanel

__all__ = ["ElasticsearchPanel", "FeatureFlagsPanel", "LLMPanel"]
