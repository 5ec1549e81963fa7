"""The admin of scheduled reports: schedules through `maintenance.reports`' services (with a
"send now" action), and the reports they produced, read-only, with their files."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_lazy

from core.admin import ReadOnlyModelAdmin, ServiceModelAdmin, run_each
from core.admin_fields import TimezoneField
from maintenance import reports
from maintenance.models import Report, ReportSchedule
from notifications.admin_fields import ChannelsField


class ReportScheduleForm(forms.ModelForm):
    timezone = TimezoneField(
        initial="UTC",
        help_text=gettext_lazy("An IANA timezone: periods run from its local midnights."),
    )
    metrics = forms.MultipleChoiceField(
        choices=list(reports.METRICS.items()),
        widget=forms.CheckboxSelectMultiple,
        initial=list(reports.METRICS),
    )
    formats = forms.MultipleChoiceField(
        choices=[(name, name.upper()) for name in reports.FORMATS],
        widget=forms.CheckboxSelectMultiple,
        initial=list(reports.DEFAULT_FORMATS),
    )
    channel_ids = ChannelsField(
        label=gettext_lazy("Channels"),
        required=True,
        help_text=gettext_lazy(
            "Email gets the files attached; a webhook the figures and download links."
        ),
    )

    class Meta:
        model = ReportSchedule
        fields = ("name", "frequency", "timezone", "metrics", "formats", "channel_ids", "enabled")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A stored id whose channel has gone stays on the picker, for the service to name.
        field = self.fields["channel_ids"]
        if self.is_bound:
            field.offer(field.widget.value_from_datadict(self.data, self.files, "channel_ids"))
        else:
            field.offer(self.initial.get("channel_ids") or self.instance.channel_ids)


@admin.register(ReportSchedule)
class ReportScheduleAdmin(ServiceModelAdmin):
    form = ReportScheduleForm
    list_display = ("name", "frequency", "timezone", "enabled", "next_period_end", "last_report_at")
    list_filter = ("frequency", "enabled")
    search_fields = ("name", "id")
    readonly_fields = ("next_period_start", "next_period_end", "last_report_at")
    actions = ["send_now"]

    def get_fields(self, request, obj=None):
        fields = list(ReportScheduleForm.Meta.fields)
        return fields + list(self.readonly_fields) if obj is not None else fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    @staticmethod
    def _spec(form) -> reports.ReportScheduleSpec:
        data = form.cleaned_data
        return reports.ReportScheduleSpec(
            name=data["name"],
            frequency=data["frequency"],
            timezone=data["timezone"],
            metrics=tuple(data["metrics"]),
            formats=tuple(data["formats"]),
            channel_ids=tuple(data["channel_ids"]),
            enabled=data["enabled"],
        )

    def create_through_service(self, request, form):
        return reports.report_schedule_create(spec=self._spec(form), now=timezone.now())

    def update_through_service(self, request, obj, form):
        return reports.report_schedule_update(
            schedule_id=obj.pk, spec=self._spec(form), now=timezone.now()
        )

    def delete_through_service(self, request, obj) -> None:
        reports.report_schedule_delete(schedule_id=obj.pk)

    @admin.action(
        description=gettext_lazy("Send the last period's report now"), permissions=["change"]
    )
    def send_now(self, request, queryset):
        actor = f"user:{request.user.pk}"
        run_each(
            self,
            request,
            queryset,
            gettext("Sent"),
            lambda schedule: reports.report_schedule_send_now(
                schedule_id=schedule.pk, by=actor, now=timezone.now()
            ),
        )
        self.message_user(
            request, gettext("The deliveries go out from the workers."), messages.INFO
        )


@admin.register(Report)
class ReportAdmin(ReadOnlyModelAdmin):
    list_display = ("schedule", "label", "trigger", "period_start", "period_end", "created_at")
    list_filter = ("trigger", "frequency")
    search_fields = ("id", "schedule__name", "label")
    list_select_related = ("schedule",)
    fields = (
        "schedule",
        "trigger",
        "label",
        "frequency",
        "timezone",
        "period_start",
        "period_end",
        "metrics",
        "downloads",
        "data",
        "created_at",
        "created_by",
    )
    readonly_fields = fields

    @admin.display(description=gettext_lazy("files"))
    def downloads(self, report: Report) -> str:
        files = report.files.defer("content").order_by("id")
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}">{}</a> ({} bytes)',
            ((reports.file_path(f.report_id, f.name), f.name, f.size) for f in files),
        )
