from django.contrib import admin
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from core.models import ApiKey, SchedulerJob

# The library registers its own concrete model; operators manage ours (with read_only) only.
admin.site.unregister(APIKey)


@admin.register(ApiKey)
class ApiKeyAdmin(APIKeyModelAdmin):
    list_display = (*APIKeyModelAdmin.list_display, "read_only")
    list_filter = ("read_only", "revoked", "created")


@admin.register(SchedulerJob)
class SchedulerJobAdmin(admin.ModelAdmin):
    """The last run of each periodic job; the schedule itself is under "Periodic tasks"."""

    list_display = (
        "name",
        "last_finished_at",
        "last_ok",
        "last_duration_ms",
        "last_summary",
        "run_count",
        "failure_count",
    )
    list_filter = ("last_ok",)
    readonly_fields = [field.name for field in SchedulerJob._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # rows are written by the jobs themselves

    def has_change_permission(self, request, obj=None) -> bool:
        return False
