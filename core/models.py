from datetime import timedelta

from auditlog.models import AbstractLogEntry
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy
from rest_framework_api_key.models import AbstractAPIKey


class ApiKey(AbstractAPIKey):
    """A key for the REST API. Only a SHA-512 hash is stored; the key is shown once, at creation."""

    read_only = models.BooleanField(
        default=False, help_text=gettext_lazy("A read-only key may only GET; writes get 403.")
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = gettext_lazy("API key")
        verbose_name_plural = gettext_lazy("API keys")


def _update_creating(manager: models.Manager, name: str, values: dict) -> None:
    """UPDATE the row named `name` with `values`, creating it first when it does not exist
    yet; of two workers racing to create it, the loser's INSERT fails and it just updates."""
    if manager.filter(name=name).update(**values):
        return
    try:
        with transaction.atomic():
            manager.create(name=name)
    except IntegrityError:
        pass  # another worker created it first
    manager.filter(name=name).update(**values)


class SchedulerJobManager(models.Manager):
    def record_run(
        self,
        name: str,
        *,
        started_at,
        duration_ms: int,
        summary: str = "",
        error: str = "",
    ) -> None:
        """Store one run of a periodic job as its last run, counting runs and failures.

        One UPDATE, so workers finishing the same job at once (two beats) never lose a count;
        the row is created by the first run ever.
        """
        ok = not error
        values = {
            "last_started_at": started_at,
            "last_finished_at": started_at + timedelta(milliseconds=duration_ms),
            "last_duration_ms": duration_ms,
            "last_ok": ok,
            "last_summary": summary[:500],
            "last_error": error[:2000],
            "run_count": models.F("run_count") + 1,
            "failure_count": models.F("failure_count") + (0 if ok else 1),
        }
        if ok:
            values["last_success_at"] = values["last_finished_at"]
        _update_creating(self, name, values)


class SchedulerJob(models.Model):
    """The last run of one periodic job (one row per job), for operators and GET /healthz.

    django-celery-beat's periodic tasks say when beat *sent* a job; this says when a worker
    (or `run_scheduler_tick`) actually *ran* it, how long it took and what it did.
    """

    name = models.CharField(max_length=100, unique=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    last_ok = models.BooleanField(null=True, blank=True, verbose_name=gettext_lazy("last run ok"))
    last_summary = models.CharField(max_length=500, blank=True)
    last_error = models.TextField(blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    run_count = models.PositiveBigIntegerField(default=0)
    failure_count = models.PositiveBigIntegerField(default=0)

    objects = SchedulerJobManager()

    class Meta:
        ordering = ("name",)
        verbose_name = gettext_lazy("scheduler job")

    def __str__(self) -> str:
        return self.name


class AuditRecord(AbstractLogEntry):
    """One create, update or delete of an audited object, written in the change's transaction.

    django-auditlog's log entry (content type, object pk, action, changes as
    ``{field: [before, after]}``, actor, timestamp, remote address, additional data), swapped
    in through ``AUDITLOG_LOGENTRY_MODEL`` so that it also names callers that are not Django
    users: ``actor_name`` is ``user:<username>``, ``key:<API key name>`` or
    ``system:<job or command>``. Written only by `core.audit`; never edited.
    """

    actor_name = models.CharField(max_length=200, default="system")
    # The library indexes each of these alone; the composite indexes below serve every query
    # we make, and fewer indexes keep the bulk inserts of event generation cheap.
    content_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    object_pk = models.CharField(max_length=255)
    object_id = models.BigIntegerField(blank=True, null=True)
    action = models.PositiveSmallIntegerField(choices=AbstractLogEntry.Action.choices)
    cid = models.CharField(max_length=255, blank=True, null=True)
    timestamp = models.DateTimeField(default=timezone.now)

    class Meta(AbstractLogEntry.Meta):
        verbose_name = gettext_lazy("audit record")
        verbose_name_plural = gettext_lazy("audit records")
        ordering = ("-timestamp", "-id")
        indexes = [
            models.Index(
                fields=["content_type", "object_pk", "-timestamp", "-id"], name="audit_object_idx"
            ),
            models.Index(fields=["actor_name", "-timestamp", "-id"], name="audit_actor_idx"),
            models.Index(fields=["-timestamp", "-id"], name="audit_time_idx"),
        ]


class RetentionTotalManager(models.Manager):
    def add(self, name: str, count: int, *, at) -> None:
        """Add `count` pruned rows to kind `name` (one UPDATE; created on the first prune)."""
        values = {"pruned": models.F("pruned") + count, "last_pruned_at": at}
        _update_creating(self, name, values)


class RetentionTotal(models.Model):
    """How many rows of one kind the retention job has pruned so far (for /metrics: a count in
    the database is right whichever worker pruned)."""

    name = models.CharField(max_length=100, unique=True)
    pruned = models.PositiveBigIntegerField(default=0)
    last_pruned_at = models.DateTimeField(null=True, blank=True)

    objects = RetentionTotalManager()

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name
