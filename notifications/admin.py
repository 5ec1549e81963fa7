"""Admin for channels and deliveries, on `core.admin.ServiceModelAdmin`: every write calls
the same services as the API. Deliveries are the system's records: read-only, with an action
that sends them again through `delivery_resend`."""

from django.contrib import admin, messages
from django.db import transaction

from core.admin import ReadOnlyModelAdmin, ServiceModelAdmin
from notifications import services
from notifications.models import Channel, Delivery


@admin.register(Channel)
class ChannelAdmin(ServiceModelAdmin):
    list_display = ("name", "kind", "target", "active", "last_error", "created_at")
    list_filter = ("kind", "active")
    search_fields = ("id", "name", "target")
    # `secret` is not editable, so no form shows it; it is displayed once, on creation.
    fields = (
        "id",
        "name",
        "kind",
        "target",
        "events",
        "monitor_tags",
        "reminders",
        "active",
        "last_error",
    )
    readonly_fields = ("id", "last_error")

    def get_readonly_fields(self, request, obj=None):
        # The kind is fixed once created: a webhook's secret belongs to it.
        return (*self.readonly_fields, "kind") if obj else self.readonly_fields

    def create_through_service(self, request, form) -> Channel:
        created = services.channel_create(
            **{
                name: form.cleaned_data[name]
                for name in (
                    "name",
                    "kind",
                    "target",
                    "events",
                    "monitor_tags",
                    "active",
                    "reminders",
                )
            }
        )
        if created.secret:
            messages.warning(
                request,
                f"Signing secret of {created.name}: {created.secret} — copy it now, "
                "it is not shown again.",
            )
        return created

    def update_through_service(self, request, obj, form) -> Channel:
        # The stored row, not the form's instance, which already carries the new values.
        stored = Channel.objects.get(pk=obj.pk)
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        return services.channel_update(channel=stored, data=changes)

    def delete_through_service(self, request, obj) -> None:
        services.channel_delete(channel=obj)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyModelAdmin):
    list_display = (
        "id",
        "event",
        "channel",
        "object_key",
        "status",
        "attempts",
        "created_at",
        "sent_at",
    )
    list_select_related = ("channel",)
    list_filter = ("status", "event", "channel__kind")
    search_fields = ("id", "object_key", "channel__name")
    date_hierarchy = "created_at"
    actions = ("send_again",)
    readonly_fields = [field.name for field in Delivery._meta.fields]

    @admin.action(description="Send again (now, with a fresh set of attempts)")
    def send_again(self, request, queryset):
        resent = 0
        with transaction.atomic():
            for delivery in queryset:
                resent += services.delivery_resend(delivery=delivery)
        skipped = queryset.count() - resent
        messages.success(request, f"{resent} deliveries queued to be sent again.")
        if skipped:
            messages.warning(request, f"{skipped} being sent right now were left alone.")
