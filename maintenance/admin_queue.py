"""The technicians' work queue (/admin/maintenance/task/queue/): open and in-progress tasks,
overdue first, filtered and searched, completed, cancelled or assigned in bulk. Complete
may record the time spent (minutes, on each ticked task) with the completion, in the same
`task_complete` call the task page's button makes; a bad value is refused (400) on its field
and nothing is completed.

Mounted by `TaskAdmin.get_urls` (`urls(task_admin)`), so it keeps the task admin's
permissions. Every write is a service call per ticked task (`task_complete`, `task_cancel`,
`task_update` for the assignee), which audits it; a refusal is reported per task. The filters
are a django-filter FilterSet; a page of QUEUE_PAGE_SIZE costs a fixed number of queries.
"""

from __future__ import annotations

from datetime import datetime

import django_filters
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, Exists, F, OuterRef, Prefetch, Q, QuerySet, Value, When
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from core.admin import run_each
from core.api.permissions import actor_of
from maintenance import services
from maintenance.models import Asset, Priority, Task, TaskAsset, Technician

QUEUE_PAGE_SIZE = 50
# The asset box suggests at most this many codes (a datalist): the page stays light however
# many assets there are; any code can still be typed.
ASSET_SUGGESTIONS = 500
UNASSIGN = "none"


def work_queue(*, now: datetime) -> QuerySet[Task]:
    """Open and in-progress tasks, by deadline: the overdue ones (deadline passed) come first
    by construction, then the rest; tasks with no deadline yet (counter) last, by due date.
    A plain column order, so PostgreSQL keeps only the page's rows while sorting."""
    return (
        Task.objects.filter(status__in=Task.OPEN_STATUSES)
        .annotate(
            overdue=Case(
                When(Q(deadline_at__isnull=False, deadline_at__lt=now), then=Value(True)),
                default=Value(False),
            ),
        )
        .select_related("plan", "assignee")
        .prefetch_related(
            Prefetch("task_assets", queryset=TaskAsset.objects.select_related("asset"))
        )
        .order_by(F("deadline_at").asc(nulls_last=True), "due_at", "code")
    )


def technician_of(user) -> Technician | None:
    """The technician the logged-in user is: the active one with the user's email address
    (technicians are not accounts; the email is what both records share)."""
    email = (getattr(user, "email", "") or "").strip()
    if not email:
        return None
    return Technician.objects.filter(email__iexact=email, active=True).order_by("id").first()


class _DateInput(forms.DateInput):
    input_type = "date"


class WorkQueueFilter(django_filters.FilterSet):
    """The queue's filters (GET): search, assignee (or unassigned), priority, status, asset
    code, due dates (inclusive, UTC days), overdue only."""

    q = django_filters.CharFilter(method="search", label=gettext_lazy("Search"), max_length=200)
    assignee = django_filters.ModelChoiceFilter(
        queryset=Technician.objects.filter(active=True).order_by("name", "id"),
        null_label=gettext_lazy("Unassigned"),
        empty_label=gettext_lazy("anyone"),
        label=gettext_lazy("Assignee"),
    )
    priority = django_filters.ChoiceFilter(
        choices=Priority.choices, empty_label=gettext_lazy("any"), label=gettext_lazy("Priority")
    )
    status = django_filters.ChoiceFilter(
        choices=[(s.value, s.label) for s in Task.OPEN_STATUSES],
        empty_label=gettext_lazy("open or in progress"),
        label=gettext_lazy("Status"),
    )
    asset = django_filters.CharFilter(
        method="on_asset", label=gettext_lazy("Asset code"), max_length=100
    )
    due_from = django_filters.DateFilter(
        field_name="due_at",
        lookup_expr="date__gte",
        label=gettext_lazy("Due from"),
        widget=_DateInput,
    )
    due_to = django_filters.DateFilter(
        field_name="due_at",
        lookup_expr="date__lte",
        label=gettext_lazy("Due to"),
        widget=_DateInput,
    )
    overdue = django_filters.BooleanFilter(
        field_name="overdue",
        label=gettext_lazy("Overdue only"),
        method="only_overdue",
        widget=forms.CheckboxInput,
    )

    class Meta:
        model = Task
        fields: list[str] = []

    def search(self, queryset, name, value):
        term = value.strip()
        if not term:
            return queryset
        # Exists rather than a join: a task on several matching assets stays one row.
        on_asset = TaskAsset.objects.filter(task=OuterRef("pk"), asset__code__icontains=term)
        return queryset.filter(
            Q(code__icontains=term)
            | Q(title__icontains=term)
            | Q(plan__name__icontains=term)
            | Q(pk=term)
            | Exists(on_asset)
        )

    def on_asset(self, queryset, name, value):
        code = value.strip()
        if not code:
            return queryset
        return queryset.filter(
            Exists(TaskAsset.objects.filter(task=OuterRef("pk"), asset__code__iexact=code))
        )

    def only_overdue(self, queryset, name, value):
        return queryset.filter(overdue=True) if value else queryset


class CompleteForm(forms.Form):
    """What "Complete selected" takes besides the ticks: the time spent, optional, within the
    API's limits (whole minutes, 0 to Task.TIME_SPENT_MAX_MINUTES)."""

    time_spent_minutes = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=Task.TIME_SPENT_MAX_MINUTES,
        label=gettext_lazy("Time spent (minutes)"),
        help_text=gettext_lazy("Optional: recorded on each task completed."),
    )


def _bulk(modeladmin, request, tasks: list[Task], complete: CompleteForm) -> None:
    """The ticked tasks' action, one service call per task."""
    action = request.POST.get("action")
    by = actor_of(request)
    if action == "complete":
        spent = complete.cleaned_data.get("time_spent_minutes")
        run_each(
            modeladmin,
            request,
            tasks,
            gettext("Completed"),
            lambda task: services.task_complete(
                task_id=task.pk,
                completed_at=None,
                notes=None,
                by=by,
                now=timezone.now(),
                time_spent_minutes=spent,
            ),
        )
    elif action == "cancel":
        run_each(
            modeladmin,
            request,
            tasks,
            gettext("Cancelled"),
            lambda task: services.task_cancel(task_id=task.pk, notes=None, now=timezone.now()),
        )
    elif action == "assign":
        raw = request.POST.get("assignee", "").strip()
        if not raw:
            modeladmin.message_user(
                request, gettext("assignee: choose a technician to assign."), messages.ERROR
            )
            return
        assignee_id = None if raw == UNASSIGN else raw
        run_each(
            modeladmin,
            request,
            tasks,
            gettext("Assigned"),
            lambda task: services.task_update(
                task_id=task.pk,
                changes={"assignee_id": assignee_id},
                by=by,
                now=timezone.now(),
            ),
        )
    else:
        modeladmin.message_user(request, gettext("action: unknown action."), messages.ERROR)


def work_queue_view(modeladmin, request):
    """GET: the filtered queue, a page at a time. POST: the bulk action on the ticked tasks,
    then back to the same filtered page."""
    if not modeladmin.has_view_permission(request):
        raise PermissionDenied
    if request.method != "POST":
        return _queue_page(modeladmin, request, complete=CompleteForm())
    if not modeladmin.has_change_permission(request):
        raise PermissionDenied
    selected = request.POST.getlist("task")
    complete = CompleteForm(request.POST)
    if request.POST.get("action") == "complete" and not complete.is_valid():
        # Back to the same page with the value on its field and the ticks kept.
        return _queue_page(modeladmin, request, complete=complete, selected=selected, status=400)
    tasks = list(Task.objects.filter(pk__in=selected).order_by("code"))
    if not tasks:
        modeladmin.message_user(
            request, gettext("task: select at least one task."), messages.WARNING
        )
    else:
        _bulk(modeladmin, request, tasks, complete)
    return redirect(request.get_full_path())


def _queue_page(
    modeladmin, request, *, complete: CompleteForm, selected=(), status: int = 200
) -> TemplateResponse:
    now = timezone.now()
    params = request.GET.copy()
    me = technician_of(request.user)
    mine = params.get("mine") == "1"
    if mine:
        if me is None:
            modeladmin.message_user(
                request,
                gettext(
                    "No active technician has your email address (%(email)s): "
                    "showing everyone's tasks."
                )
                % {"email": request.user.email or gettext("none set")},
                messages.WARNING,
            )
            mine = False
        else:
            params["assignee"] = me.pk
    filterset = WorkQueueFilter(params, queryset=work_queue(now=now), request=request)
    if filterset.is_valid():
        queue = filterset.qs
    else:
        queue, status = Task.objects.none(), 400
    page = Paginator(queue, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": gettext("Work queue: open tasks, overdue first"),
        "opts": modeladmin.model._meta,
        "page": page,
        "filterset": filterset,
        "query": query.urlencode(),
        "mine": mine,
        "me": me,
        "now": now,
        "assignees": Technician.objects.filter(active=True)
        .order_by("name", "id")
        .values_list("id", "name"),
        "unassign": UNASSIGN,
        "asset_codes": Asset.objects.order_by("code").values_list("code", flat=True)[
            :ASSET_SUGGESTIONS
        ],
        "can_change": modeladmin.has_change_permission(request),
        "complete_form": complete,
        "selected": set(selected),
    }
    return TemplateResponse(request, "admin/queue.html", context, status=status)


def urls(modeladmin) -> list:
    """The queue's route, for `TaskAdmin.get_urls` (staff only, CSRF on)."""

    def view(request):
        return work_queue_view(modeladmin, request)

    return [
        path("queue/", modeladmin.admin_site.admin_view(view), name="maintenance_task_queue"),
    ]
