"""Optimisation data: an asset's failures (the engine's evidence) and drafts of suggestions.

The tables were created by `maintenance` (migration 0002) and keep their names, so moving the
models into this app moved no data.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone as dj_timezone

from core.ids import new_id
from core.limits import LONG_TEXT_MAX_LENGTH
from maintenance.models import Asset, Plan


# Module-level functions so migrations can reference them as field defaults.
def new_failure_id() -> str:
    return new_id("fail")


def new_suggestion_id() -> str:
    return new_id("sugg")


class Failure(models.Model):
    """A breakdown of an asset: the optimisation engine's evidence of how it wears out.

    A failure renews the asset (it is repaired to as good as new), like a completed
    preventive task of a plan on it; ages are measured from the latest renewal.
    """

    id = models.CharField(primary_key=True, max_length=40, editable=False, default=new_failure_id)
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="failures")
    occurred_at = models.DateTimeField()
    description = models.TextField(max_length=LONG_TEXT_MAX_LENGTH, blank=True)
    downtime_hours = models.FloatField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "maintenance_failure"
        ordering = ("-occurred_at", "-id")
        indexes = [models.Index(fields=["asset", "occurred_at"], name="failure_asset_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(downtime_hours__gte=0), name="failure_downtime_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id} failed {self.occurred_at:%Y-%m-%d %H:%M}"


class SuggestionSet(models.Model):
    """A draft of adjustments the optimisation engine proposed for a plan.

    Nothing changes until someone applies it (all items or chosen ones). ``basis`` holds a
    digest of the editable state of every row the items would change, as read when the draft
    was made: a row that changed since makes the draft stale (409 on apply).
    """

    class Status(models.TextChoices):
        DRAFT = "draft"
        APPLIED = "applied"
        REJECTED = "rejected"

    id = models.CharField(
        primary_key=True, max_length=40, editable=False, default=new_suggestion_id
    )
    # A soft foreign key like maintenance's history (no constraint, DO_NOTHING): a deleted
    # plan's drafts stay readable under its id.
    plan = models.ForeignKey(
        Plan,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="suggestion_sets",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    items = models.JSONField(default=list, blank=True)
    reasons = models.JSONField(default=dict, blank=True)
    basis = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    created_by = models.CharField(max_length=200, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.CharField(max_length=200, blank=True)
    applied_items = models.JSONField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "maintenance_suggestionset"
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=["plan", "-created_at"], name="suggestion_plan_idx")]

    def __str__(self) -> str:
        return self.id
