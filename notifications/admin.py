"""Admin for channels and deliveries, on `core.admin.ServiceModelAdmin`: every write calls
the same services as the API. Deliveries are the system's records: read-only, with an action
that sends them again through `delivery_resend`."""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _

from core.admin import ObjectAction, ReadOnlyModelAdmin, ServiceModelAdmin
from core.admin_fields import TagListField
from notifications import services
from notifications.events import event_types
from notifications.masking import MaskedTarget, mask_target, unmasked
from notifications.models import Channel, Delivery


def _subscribable_event_choices() -> list[tuple[str, str]]:
    return [
        (event.name, f"{event.label} ({event.name})")
        for event in event_types()
        if event.subscribable
    ]


class ChannelForm(forms.ModelForm):
    """The change form shows the target masked; sent back unchanged it keeps the stored one.
    Events are ticked from the registered ones, monitor tags and reminders typed as tags."""

    events = forms.MultipleChoiceField(
        choices=_subscribable_event_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: every event."),
    )
    monitor_tags = TagListField(
        help_text=gettext_lazy("Monitor tags, separated by commas. Empty: every monitor.")
    )
    reminders = TagListField(
        max_items=10,
        help_text=gettext_lazy("Lead times of maintenance reminders, e.g. 72h, 24h, 1h."),
    )

    class Meta:
        model = Channel
        fields = ("name", "kind", "target", "events", "monitor_tags", "active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["target"] = mask_target(self.instance.kind, self.instance.target)

    def clean_target(self):
        sent = self.cleaned_data["target"]
        if not self.instance.pk:
            return sent
        try:
            return unmasked(self.instance.kind, stored=self.instance.target, sent=sent)
        except MaskedTarget as exc:
            raise forms.ValidationError(str(exc)) from None


def _deliveries_url(channel: Channel, status: str | None = None) -> str:
    """The deliveries list of this channel, filtered by `status` if given."""
    query = {"channel__id__exact": channel.pk}
    if status:
        query["status__exact"] = status
    return f"{reverse('admin:notifications_delivery_changelist')}?{urlencode(query)}"


# What an operator acts on, counted on the channel list (a failed or a stuck delivery).
LISTED_STATUSES = (Delivery.Status.FAILED, Delivery.Status.PENDING)


def _count_of(status: str) -> Coalesce:
    # A correlated count: computed for the rows of the page only, not the whole table.
    deliveries = (
        Delivery.objects.filter(channel=OuterRef("pk"), status=status)
        .order_by()
        .values("channel")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(deliveries, output_field=IntegerField()), 0)


@admin.register(Channel)
class ChannelAdmin(ServiceModelAdmin):
    form = ChannelForm
    change_form_template = "admin/ops_change_form.html"
    object_actions = (ObjectAction("send_test", gettext_lazy("Send test")),)
    list_display = (
        "name",
        "kind",
        "masked_target",
        "active",
        "delivery_problems",
        "last_error",
        "created_at",
    )
    list_filter = ("kind", "active")
    # Not the target: a search by substring would tell a secret apart character by character.
    search_fields = ("id", "name")
    # `secret` is not editable, so no form shows it; it is displayed once, on creation.
    fields = (
        "id",
        "name",
        "kind",
        "target",
        "events",
        "monitor_tags",
        "reminders",
        "options",
        "active",
        "last_error",
        "deliveries",
    )
    readonly_fields = ("id", "last_error", "deliveries")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(**{f"deliveries_{status}": _count_of(status) for status in LISTED_STATUSES})
        )

    @admin.display(description=gettext_lazy("failed / pending deliveries"))
    def delivery_problems(self, channel: Channel) -> str:
        """Its failed and pending deliveries, each count opening the list filtered by it."""
        return format_html_join(
            " · ",
            '<a href="{}" class="ops-delivery-{}">{} {}</a>',
            (
                (
                    _deliveries_url(channel, status),
                    status,
                    getattr(channel, f"deliveries_{status}"),
                    status.label,
                )
                for status in LISTED_STATUSES
            ),
        )

    @admin.display(description=gettext_lazy("target"), ordering="target")
    def masked_target(self, channel: Channel) -> str:
        return mask_target(channel.kind, channel.target)

    def get_readonly_fields(self, request, obj=None):
        # The kind is fixed once created: a webhook's secret belongs to it.
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "kind") if obj else fields

    @admin.display(description=gettext_lazy("deliveries"))
    def deliveries(self, channel: Channel) -> str:
        """This channel's deliveries by status, each count opening the list filtered by it."""
        counts = dict(
            Delivery.objects.filter(channel=channel)
            .values_list("status")
            .annotate(n=Count("id"))
            .order_by()
        )
        links = format_html_join(
            " · ",
            '<a href="{}" class="ops-delivery-{}">{} {}</a>',
            (
                (_deliveries_url(channel, status), status, counts[status], label)
                for status, label in Delivery.Status.choices
                if counts.get(status)
            ),
        )
        return format_html(
            '<span id="channel-deliveries">{} <a href="{}">{}</a></span>',
            links or _("No deliveries yet."),
            _deliveries_url(channel),
            _("all deliveries"),
        )

    def action_send_test(self, request, channel: Channel):
        """Send a test message now (`send_test`, as the API's test route) and say how it went."""
        (result,) = services.send_test(channel_ids=[channel.pk], now=timezone.now())
        if result.status == Delivery.Status.SENT:
            return _("Test sent to “%(name)s”.") % {"name": channel.name}
        # One sentence per outcome, so that a translation can conjugate it.
        if result.status == Delivery.Status.SKIPPED:
            template = _("Test to “%(name)s” skipped: %(error)s")
        else:
            template = _("Test to “%(name)s” failed: %(error)s")
        self.message_user(
            request,
            template % {"name": channel.name, "error": result.error or "—"},
            messages.ERROR,
        )
        return None

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
                    "options",
                )
            }
        )
        return created

    def response_add(self, request, obj, post_url_continue=None):
        # The one time the secret and the full target are shown: on the page that answers the
        # add, never through `messages` (a cookie, signed but readable) and never cached.
        if mask_target(obj.kind, obj.target) == obj.target and not obj.secret:
            return super().response_add(request, obj, post_url_continue)
        messages.success(
            request, (gettext("The channel “%(name)s” was added.") % {"name": obj.name})
        )
        response = TemplateResponse(
            request,
            "notifications/admin/channel_created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "channel": obj,
                "title": f"Channel “{obj.name}” added",
            },
        )
        response["Cache-Control"] = "no-store"
        return response

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

    @admin.action(description=gettext_lazy("Send again (now, with a fresh set of attempts)"))
    def send_again(self, request, queryset):
        resent = 0
        with transaction.atomic():
            for delivery in queryset:
                resent += services.delivery_resend(delivery=delivery)
        skipped = queryset.count() - resent
        messages.success(
            request,
            (gettext("%(resent)s deliveries queued to be sent again.") % {"resent": resent}),
        )
        if skipped:
            messages.warning(
                request,
                (
                    gettext("%(skipped)s being sent right now were left alone.")
                    % {"skipped": skipped}
                ),
            )
