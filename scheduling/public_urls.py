"""Routes of the public maintenance page, mounted at /status/ (see `scheduling.views_public`)."""

from django.urls import path

from scheduling import views_public

urlpatterns = [
    path("", views_public.status_page, name="status-page"),
    path("events.ics", views_public.status_feed, name="status-feed"),
]
