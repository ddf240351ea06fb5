from __future__ import annotations

from django.apps import AppConfig, apps

DATABASE_STORE = "djdt_signalpanels.stores.DatabaseStore"


class SignalPanelsConfig(AppConfig):
    name = "djdt_signalpanels"
    verbose_name = "Debug Toolbar signal panels"

    def ready(self) -> None:
        from . import checks  # noqa: F401  registers the settings checks
        from .production import checks as production_checks  # noqa: F401

        if apps.is_installed("debug_toolbar"):
            from debug_toolbar import settings as dt_settings

            # DjDT shows its table's migration for its own database store only.
            if dt_settings.get_config()["TOOLBAR_STORE_CLASS"] == DATABASE_STORE:
                from .stores import show_history_migrations

                show_history_migrations()
        if apps.is_installed("django.contrib.auth"):
            from .production import membership

            membership.connect_receivers()
