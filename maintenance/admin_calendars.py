"""Admin of holiday calendars: the dates as lines of text, and an .ics file to import, both
written through `maintenance.calendars` (the API's services and rules)."""

from datetime import date

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from core.admin import ServiceModelAdmin
from core.admin_fields import TimezoneField
from maintenance import calendars
from maintenance.models import HolidayCalendar


class HolidayCalendarForm(forms.ModelForm):
    """Name, timezone, weekends, the dates (`YYYY-MM-DD name` per line) and an optional .ics
    file whose all-day events are added when the calendar is saved."""

    dates_text = forms.CharField(
        label=gettext_lazy("Dates"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=gettext_lazy("One per line: YYYY-MM-DD, then an optional name."),
    )
    ics_file = forms.FileField(
        label=gettext_lazy("Import .ics"),
        required=False,
        help_text=gettext_lazy("All-day events are added; yearly ones over the horizon below."),
    )
    timezone = TimezoneField(
        required=False, help_text=gettext_lazy("Empty: the dates are read in each plan's timezone.")
    )
    horizon_years = forms.IntegerField(
        initial=calendars.IMPORT_HORIZON_YEARS,
        min_value=1,
        max_value=calendars.IMPORT_MAX_HORIZON_YEARS,
        required=False,
    )

    class Meta:
        model = HolidayCalendar
        fields = ("name", "timezone", "weekends")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding and not self.is_bound:
            spec = calendars.spec_of(self.instance)
            self.initial["dates_text"] = "\n".join(
                f"{holiday.day.isoformat()} {holiday.name}".strip() for holiday in spec.dates
            )

    def clean_dates_text(self) -> tuple[calendars.HolidaySpec, ...]:
        holidays = []
        for number, line in enumerate((self.cleaned_data.get("dates_text") or "").splitlines()):
            line = line.strip()
            if not line:
                continue
            day, _, name = line.partition(" ")
            try:
                parsed = date.fromisoformat(day)
            except ValueError:
                raise forms.ValidationError(
                    gettext("Line %(value)s: '%(value2)s' is not a date (YYYY-MM-DD).")
                    % {"value": number + 1, "value2": day[:20]}
                ) from None
            holidays.append(calendars.HolidaySpec(day=parsed, name=name.strip()[:255]))
        return tuple(holidays)

    def to_spec(self) -> calendars.HolidayCalendarSpec:
        cd = self.cleaned_data
        return calendars.HolidayCalendarSpec(
            name=cd["name"],
            timezone=cd.get("timezone") or "",
            weekends=cd.get("weekends", False),
            dates=cd.get("dates_text") or (),
        )


@admin.register(HolidayCalendar)
class HolidayCalendarAdmin(ServiceModelAdmin):
    form = HolidayCalendarForm
    list_display = ("name", "timezone", "weekends", "date_count", "updated_at")
    search_fields = ("name", "id")
    readonly_fields = ("id", "created_at", "updated_at")
    fields = (
        "id",
        "name",
        "timezone",
        "weekends",
        "dates_text",
        "ics_file",
        "horizon_years",
        "created_at",
        "updated_at",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(date_total=Count("dates"))

    @admin.display(description=gettext_lazy("Dates"), ordering="date_total")
    def date_count(self, calendar: HolidayCalendar) -> int:
        return calendar.date_total

    def _import(self, calendar: HolidayCalendar, form) -> None:
        upload = form.cleaned_data.get("ics_file")
        if upload:
            calendars.holiday_calendar_import(
                calendar_id=calendar.pk,
                content=upload.read(calendars.IMPORT_MAX_BYTES + 1),
                horizon_years=form.cleaned_data.get("horizon_years")
                or calendars.IMPORT_HORIZON_YEARS,
                now=timezone.now(),
            )

    def create_through_service(self, request, form):
        calendar = calendars.holiday_calendar_create(spec=form.to_spec())
        self._import(calendar, form)
        return calendar

    def update_through_service(self, request, obj, form):
        calendar = calendars.holiday_calendar_update(calendar_id=obj.pk, spec=form.to_spec())
        self._import(calendar, form)
        return calendar

    def delete_through_service(self, request, obj) -> None:
        calendars.holiday_calendar_delete(calendar_id=obj.pk)
