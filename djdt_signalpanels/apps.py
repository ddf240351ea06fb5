from __future__ import annotations

from django.apps import AppConfig


class SignalPanelsConfig(AppConfig):
    name = "djdt_signalpanels"
    verbose_name = "Debug Toolbar signal panels"

    def ready(self) -> None:
        from . import checks  # noqa: F401  registers the settings checks
