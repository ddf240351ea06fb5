from __future__ import annotations

from debug_toolbar.toolbar import debug_toolbar_urls
from django.urls import path

from benchmarks.site import views

urlpatterns = [
    path("health/", views.health),
    path("sync/", views.sync_view),
    path("async/", views.async_view),
    *debug_toolbar_urls(),
]
