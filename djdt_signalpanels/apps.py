from __future__ import annotations

from django.apps import AppConfig, apps


class SignalPanelsConfig(AppConfig):
    name = "djdt_signalpanels"
    verbose_name = "Debug Toolbar signal panels"

    def ready(self) -> None:
        from . import checks  # noqa: F401  registers the settings checks
        from .production import checks as production_checks  # noqa: F401

        if apps.is_installed("django.contrib.auth"):
            from .production import membership

            membership.connect_receivers()
