from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.metrics import metrics_view
from core.views import healthz
from maintenance import admin_schedule

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    # Staff pages of our own, before the admin's catch-all URLs.
    path("admin/schedule/", include(admin_schedule.urls())),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v4/", include("scheduling.api.urls")),
    # Optimisation's routes share the v1 maintenance prefix; before the router's, whose
    # `plans/<id>` would not shadow them today, but the order keeps it so.
    path("api/v1/maintenance/", include("maintenance.optimisation.api")),
    path("api/v1/maintenance/", include("maintenance.api.urls")),
    path("api/v1/notifications/", include("notifications.api.urls")),
]

handler404 = "core.api.exceptions.json_not_found"
handler500 = "core.api.exceptions.json_server_error"
