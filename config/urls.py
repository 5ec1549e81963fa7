from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from core.api.audit import AuditListView
from core.metrics import metrics_view
from core.views import healthz
from maintenance import admin_dashboard, admin_exports, admin_schedule


def _docs_page(view_class):
    view = view_class.as_view(url_name="api-schema")
    return csp_update({"style-src": ["'unsafe-inline'"]})(view)


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # set_language: the admin header's language choice posts here (README "Languages").
    path("i18n/", include("django.conf.urls.i18n")),
    path("metrics", metrics_view, name="metrics"),
    # Staff pages of our own, before the admin's catch-all URLs.
    path("admin/schedule/", include(admin_schedule.urls())),
    path("admin/exports/", include(admin_exports.urls())),
    path("admin/", admin.site.admin_view(admin_dashboard.index)),  # the home: a dashboard
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI and Redoc from our static files; the split view serves Swagger's init script
    # as a file, so no inline script is needed. Both pages style themselves inline, which the
    # CSP allows for styles on these two pages only (never for scripts).
    path("api/docs/", _docs_page(SpectacularSwaggerSplitView), name="api-docs"),
    path("api/redoc/", _docs_page(SpectacularRedocView), name="api-redoc"),
    path("api/v4/", include("scheduling.api.urls")),
    path("status/", include("scheduling.public_urls")),  # off unless PUBLIC_MAINTENANCE_PAGE
    # Optimisation's routes share the v1 maintenance prefix; before the router's, whose
    # `plans/<id>` would not shadow them today, but the order keeps it so.
    path("api/v1/maintenance/", include("maintenance.optimisation.api")),
    path("api/v1/maintenance/", include("maintenance.api.urls")),
    path("api/v1/notifications/", include("notifications.api.urls")),
    path("api/v1/audit", AuditListView.as_view(), name="v1-audit"),
]

handler404 = "core.api.exceptions.json_not_found"
handler500 = "core.api.exceptions.json_server_error"
