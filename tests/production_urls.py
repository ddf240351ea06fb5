"""URLs of the production test project: the recommended setup, middleware and handler500."""

from __future__ import annotations

from django.urls import path, register_converter

from tests import production_views as views

register_converter(views.ExplodingConverter, "explode")

urlpatterns = [
    path("ok/", views.ok),
    path("boom/", views.boom),
    path("async-boom/", views.async_boom),
    path("user-boom/", views.user_boom),
    path("not-found/", views.not_found),
    path("denied/", views.denied),
    path("unprintable/", views.unprintable),
    path("sensitive/", views.sensitive),
    path("template-boom/", views.template_boom),
    # RaisingMiddleware raises for this path before any view runs.
    path("middleware-error/", views.ok),
    # The converter raises while the URL resolves.
    path("resolve/<explode:value>/", views.ok),
]

# Exceptions raised in middleware and URL resolution never reach
# process_exception; Django hands them to handler500.
handler500 = "djdt_signalpanels.production.technical_server_error"
