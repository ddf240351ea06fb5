from __future__ import annotations

from debug_toolbar.toolbar import debug_toolbar_urls
from django.urls import path

from . import assistant, search, views

urlpatterns = [
    path("", views.index, name="index"),
    path("flags/", views.flags, name="flags"),
    path("recommendations/", views.recommendations, name="recommendations"),
    path("async/", views.async_recommendations, name="async-recommendations"),
    path("search/", search.search, name="search"),
    path("search/async/", search.async_search, name="async-search"),
    path("assistant/", assistant.assistant, name="assistant"),
    path("assistant/async/", assistant.async_assistant, name="async-assistant"),
    *debug_toolbar_urls(),
]
