"""Routes of API v4, mounted at /api/v4/.

The fixed paths under maintenances/ (events, events.ics, preview) and monitors/ (maintenance)
come before maintenances/<id> and monitors/<tag>, and ids
use the str converter so that a non-numeric id reaches the view and gets the spec's 404.
"""

from django.urls import path

from scheduling.api import feeds, history, views

urlpatterns = [
    path("maintenances", views.MaintenanceListView.as_view(), name="v4-maintenances"),
    path("maintenances/events", views.EventListView.as_view(), name="v4-events"),
    path("maintenances/events.ics", feeds.EventFeedView.as_view(), name="v4-events-feed"),
    path("maintenances/preview", views.PreviewView.as_view(), name="v4-preview"),
    path(
        "maintenances/<str:maintenance_id>",
        views.MaintenanceDetailView.as_view(),
        name="v4-maintenance",
    ),
    path(
        "maintenances/<str:maintenance_id>/events.ics",
        feeds.MaintenanceFeedView.as_view(),
        name="v4-maintenance-feed",
    ),
    path(
        "maintenances/<str:maintenance_id>/events",
        views.MaintenanceEventListView.as_view(),
        name="v4-maintenance-events",
    ),
    path(
        "maintenances/<str:maintenance_id>/events/<str:event_id>",
        views.MaintenanceEventDetailView.as_view(),
        name="v4-maintenance-event",
    ),
    path("monitors", views.MonitorListView.as_view(), name="v4-monitors"),
    path(
        "monitors/maintenance",
        history.MonitorsMaintenanceView.as_view(),
        name="v4-monitors-maintenance",
    ),
    path("monitors/<str:tag>", views.MonitorDetailView.as_view(), name="v4-monitor"),
    path(
        "monitors/<str:tag>/maintenance",
        history.MonitorMaintenanceView.as_view(),
        name="v4-monitor-maintenance",
    ),
]
