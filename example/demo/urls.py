from __future__ import annotations

from debug_toolbar.toolbar import debug_toolbar_urls
from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="index"),
    path("flags/", views.flags, name="flags"),
    path("recommendations/", views.recommendations, name="recommendations"),
    path("async/", views.async_recommendations, name="async-recommendations"),
    *debug_toolbar_urls(),
]
