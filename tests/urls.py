from debug_toolbar.toolbar import debug_toolbar_urls
from django.urls import path

from tests import views

urlpatterns = [
    path("sync/", views.sync_view),
    path("async/", views.async_view),
    path("threads/", views.threaded_view),
    path("late/", views.late_view),
    path("bad/", views.bad_input_view),
    path("formats/", views.formats_view),
    path("escape/", views.escape_view),
    path("flags/", views.flags_view),
    *debug_toolbar_urls(),
]
