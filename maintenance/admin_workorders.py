"""The plan form's reminder, escalation and work-order fields (a mixin of
`maintenance.admin.PlanForm`): shown as text an operator types, handed to the services in the
`PlanSpec`, which check them with the API's rules and words."""

from django import forms
from django.utils.translation import gettext, gettext_lazy

from maintenance.specs import PlanSpec
from notifications.admin_fields import ChannelsField
from scheduling.models import Impact


def _items(raw: str) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


class PlanWorkFields(forms.Form):
    due_soon_lead_times = forms.CharField(
        required=False,
        help_text=gettext_lazy(
            'When to announce task.due_soon before a task is due, e.g. "72h, 24h" '
            "(m, h, d). Empty: each channel's own reminders, if it subscribes to task.due_soon."
        ),
    )
    escalation_fractions = forms.CharField(
        required=False,
        initial="0.75, 0.9",
        help_text=gettext_lazy(
            "When to announce task.escalated, as fractions of the time from due to "
            'deadline, e.g. "0.75, 0.9". Empty: never.'
        ),
    )
    escalation_channel_ids = ChannelsField(
        label=gettext_lazy("Escalation channels"),
        help_text=gettext_lazy(
            "The channels that hear escalations. None: the notification channels."
        ),
    )
    open_window = forms.BooleanField(
        required=False,
        help_text=gettext_lazy(
            "Starting a task opens an ongoing maintenance window on its assets' monitors "
            "until the task is completed or cancelled."
        ),
    )
    window_impact = forms.ChoiceField(
        choices=Impact.choices, initial=Impact.MAINTENANCE, required=False
    )
    plan_window = forms.BooleanField(
        required=False,
        help_text=gettext_lazy(
            "Each generated task also plans a scheduled window at its due time, for its "
            "estimated duration."
        ),
    )

    WORK_FIELDS = (
        "due_soon_lead_times",
        "escalation_fractions",
        "escalation_channel_ids",
        ("open_window", "window_impact", "plan_window"),
    )

    @staticmethod
    def work_initial(spec: PlanSpec) -> dict:
        return {
            "due_soon_lead_times": ", ".join(spec.due_soon_lead_times),
            "escalation_fractions": ", ".join(f"{f:g}" for f in spec.escalation_fractions),
            "escalation_channel_ids": list(spec.escalation_channel_ids),
            "open_window": spec.open_window,
            "window_impact": spec.window_impact,
            "plan_window": spec.plan_window,
        }

    CHANNEL_FIELDS = ("notification_channel_ids", "escalation_channel_ids")

    def offer_stored_channels(self) -> None:
        """Keep ids that name no channel (deleted since) on the pickers, for the services to
        name, rather than drop them without a word."""
        for name in self.CHANNEL_FIELDS:
            if name not in self.fields:
                continue
            field = self.fields[name]
            if self.is_bound:
                shown = field.widget.value_from_datadict(
                    self.data, self.files, self.add_prefix(name)
                )
            else:
                shown = self.initial.get(name)
            field.offer(shown)

    def clean_escalation_fractions(self) -> list[float]:
        fractions = []
        for text in _items(self.cleaned_data.get("escalation_fractions")):
            try:
                fractions.append(float(text))
            except ValueError:
                raise forms.ValidationError(
                    gettext("%(text)r is not a number like 0.75") % {"text": text}
                ) from None
        return fractions

    def work_spec_fields(self) -> dict:
        """The `PlanSpec` fields these (valid) form fields give."""
        cd = self.cleaned_data
        return {
            "due_soon_lead_times": tuple(_items(cd.get("due_soon_lead_times"))),
            "escalation_fractions": tuple(cd.get("escalation_fractions") or ()),
            "escalation_channel_ids": tuple(cd.get("escalation_channel_ids") or ()),
            "open_window": bool(cd.get("open_window")),
            "window_impact": cd.get("window_impact") or Impact.MAINTENANCE,
            "plan_window": bool(cd.get("plan_window")),
        }
