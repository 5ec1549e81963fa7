"""The admin base class every domain admin builds on, and the admin of the kernel's models.

`ServiceModelAdmin` maps the admin's writes to services: the add and change forms call
`create_through_service` / `update_through_service`, deletes (one or a bulk selection) call
`delete_through_service`, and inlines are saved by `save_inlines_through_service`. Django's
own writes (``form.save()``, ``obj.save()``, ``obj.delete()``, ``form.save_m2m()``,
``formset.save()``) never run. A `DomainError` from a service rolls the request back and
re-renders the form with the service's messages on the fields they name; a refused delete
comes back as an error message. So the admin enforces exactly the API's rules, in its words.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.core.paginator import Paginator
from django.db import models, router, transaction
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_lazy
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from core import audit, services
from core.errors import DomainError
from core.models import ApiKey, AuditRecord, SchedulerJob

HISTORY_PAGE_SIZE = 50


class ServiceRefused(Exception):
    """A service refused an admin write; carries the domain error to the re-rendered form.

    ``error`` is for the main form (None when only inline rows were refused);
    ``inline_errors`` maps (formset prefix, row pk) to the error of that inline row.
    """

    def __init__(
        self,
        error: DomainError | None = None,
        *,
        inline_errors: dict[tuple[str, str], DomainError] | None = None,
    ):
        self.error = error
        self.inline_errors = inline_errors or {}
        first = error or next(iter(self.inline_errors.values()), None)
        super().__init__(first.message if first else "refused")


def actor_name(request) -> str:
    """The name an admin write records as ``executed_by`` / ``completed_by``: the audit trail's
    name for the logged-in user (``user:<username>``), not a database id."""
    return audit.request_actor(request).name


def shown_actor(name: str) -> str:
    """An actor name as people read it: ``user:ana`` → ``ana``; jobs and keys as they are."""
    return name.removeprefix("user:") if name else "—"


def zoned_and_utc(instant, zone: str | None) -> str:
    """``2026-12-27 02:00 Europe/Paris (01:00 UTC)``; UTC alone when the zone is UTC."""
    if instant is None:
        return "—"
    utc = instant.astimezone(UTC)
    if not zone or zone == "UTC":
        return f"{utc:%Y-%m-%d %H:%M} UTC"
    try:
        local = instant.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return f"{utc:%Y-%m-%d %H:%M} UTC"
    day = "" if local.date() == utc.date() else f"{utc:%Y-%m-%d} "
    return f"{local:%Y-%m-%d %H:%M} {zone} ({day}{utc:%H:%M} UTC)"


@dataclass(frozen=True)
class ObjectAction:
    """A button on an object's change page that POSTs to ``<object_id>/<name>/``; the
    admin's ``action_<name>(request, obj)`` calls a service and returns the success message.
    ``shown(obj)`` says whether the button applies to the object's state."""

    name: str
    label: Any
    shown: Callable[[Any], bool] = lambda obj: True


def add_domain_errors(form, error: DomainError, *, name_unknown_fields: bool = True) -> None:
    """Put a service's messages on the form fields they name (the rest above the form, with
    the name of the field they are about unless ``name_unknown_fields`` is False)."""
    details = error.details or {None: [error.message]}
    for name, field_messages in details.items():
        field = str(name).split(".", 1)[0].split("[", 1)[0] if name else None
        for message in field_messages if isinstance(field_messages, list) else [field_messages]:
            if field in form.fields:
                form.add_error(field, message)
            elif field in (None, "non_field_errors") or not name_unknown_fields:
                form.add_error(None, message)
            else:
                form.add_error(None, f"{name}: {message}")


def _with_row_refusals(formset_class, refusals: dict[tuple[str, str], DomainError]):
    """The inline formset class whose rows named in ``refusals`` carry the service's message
    after validation, so the re-rendered page shows it on the row (and saves nothing)."""

    class RefusedRows(formset_class):
        def full_clean(self):
            super().full_clean()
            for form in self.forms:
                error = refusals.get((self.prefix, str(form.instance.pk)))
                if error is not None:
                    add_domain_errors(form, error, name_unknown_fields=False)
                    # The formset caches its errors list; validation added to it after.
                    self._errors = [f.errors for f in self.forms]

    RefusedRows.__name__ = formset_class.__name__
    return RefusedRows


def run_each(modeladmin, request, objects: Iterable, verb: str, call: Callable) -> int:
    """Call a service per selected row; report the successes and each refusal. Returns the
    number done."""
    objects = list(objects)
    done = 0
    for obj in objects:
        try:
            call(obj)
        except DomainError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", messages.WARNING)
        else:
            done += 1
    if done:
        modeladmin.message_user(
            request,
            (
                gettext("%(verb)s %(done)s of %(count)s.")
                % {"verb": verb, "done": done, "count": len(objects)}
            ),
            messages.SUCCESS,
        )
    return done


def _adopt(target: models.Model, source: models.Model) -> None:
    # The admin keeps using the instance it built (for the redirect, the history entry); give
    # it the identity and stored values of the row the service wrote.
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False
    target._state.db = source._state.db


@admin.action(
    permissions=["delete"], description=gettext_lazy("Delete selected %(verbose_name_plural)s")
)
def delete_selected_through_services(modeladmin, request, queryset):
    """Django's "delete selected" with its confirmation page, but once confirmed the rows go
    to `delete_queryset` alone: Django's own success message and history entries for every
    selected row would claim deletions that a service refused."""
    if not request.POST.get("post"):
        return delete_selected(modeladmin, request, queryset)
    if modeladmin.get_deleted_objects(queryset, request)[2]:  # related rows the user may not delete
        raise PermissionDenied
    modeladmin.delete_queryset(request, queryset)
    return None


@dataclass(frozen=True)
class HistoryRow:
    """One audit record as the history page shows it."""

    timestamp: Any
    actor: str
    action: str
    changes: list[tuple[str, Any, Any]]


def _history_row(record: AuditRecord) -> HistoryRow:
    return HistoryRow(
        timestamp=record.timestamp,
        actor=record.actor_name,
        action=audit.ACTION_NAMES.get(record.action, str(record.action)),
        changes=[(name, pair[0], pair[1]) for name, pair in sorted((record.changes or {}).items())],
    )


class ServiceModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose every write goes through a service (see the module docstring).

    Subclasses implement the writes they allow; one they do not implement is refused (an add
    or delete the subclass has not written is also hidden by its permission check).
    """

    # -- what subclasses implement -----------------------------------------------------------

    def create_through_service(self, request, form) -> models.Model:
        raise NotImplementedError(f"{type(self).__name__} does not create through a service")

    def update_through_service(self, request, obj, form) -> models.Model:
        raise NotImplementedError(f"{type(self).__name__} does not update through a service")

    def delete_through_service(self, request, obj) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not delete through a service")

    def save_inlines_through_service(self, request, obj, formsets) -> None:
        """Save the inlines' changes through a service. By default an admin has none."""
        if any(formset.has_changed() for formset in formsets):
            raise ImproperlyConfigured(
                f"{type(self).__name__} has editable inlines but no service saves them"
            )

    # -- permissions follow what is implemented ----------------------------------------------

    def _implements(self, name: str) -> bool:
        return getattr(type(self), name) is not getattr(ServiceModelAdmin, name)

    def has_add_permission(self, request) -> bool:
        return self._implements("create_through_service") and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        # Without an update service the change page still opens, read-only.
        if not self._implements("update_through_service"):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._implements("delete_through_service") and super().has_delete_permission(
            request, obj
        )

    # -- an add form shows no id: the service makes the one saved ----------------------------

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if obj is not None else [name for name in fields if name != "id"]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if obj is not None else [name for name in fields if name != "id"]

    # -- Django's writes, mapped to the services ---------------------------------------------

    def save_form(self, request, form, change):
        # Not form.save(commit=False): the service builds and writes the row.
        return form.instance

    def save_model(self, request, obj, form, change) -> None:
        try:
            if change:
                saved = self.update_through_service(request, obj, form)
            else:
                saved = self.create_through_service(request, form)
        except DomainError as exc:
            raise ServiceRefused(exc) from exc
        if saved is not None and saved is not obj:
            _adopt(obj, saved)

    def save_related(self, request, form, formsets, change) -> None:
        # Not form.save_m2m() nor formset.save(): many-to-many values and inlines are the
        # services' to write. The history entry lists what the service records on these.
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        try:
            self.save_inlines_through_service(request, form.instance, formsets)
        except DomainError as exc:
            raise ServiceRefused(exc) from exc

    def get_deleted_objects(self, objs, request):
        # Not Django's protected-objects check: the service decides what may be deleted and
        # says why not, row by row (so a bulk delete removes the others and reports each).
        deleted_objects, model_count, perms_needed, _protected = super().get_deleted_objects(
            objs, request
        )
        return deleted_objects, model_count, perms_needed, []

    def delete_model(self, request, obj) -> None:
        self.delete_through_service(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        # The bulk "delete selected" action: one service call per row, each refusal reported,
        # a history entry for each row deleted (a refused row keeps neither its writes nor
        # an entry).
        def delete(obj) -> None:
            with transaction.atomic(using=router.db_for_write(self.model)):
                self.log_deletions(request, queryset.model._default_manager.filter(pk=obj.pk))
                self.delete_through_service(request, obj)

        run_each(self, request, queryset, gettext("Deleted"), delete)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            func, _name, description = self.get_action(delete_selected_through_services)
            actions["delete_selected"] = (func, "delete_selected", description)
        return actions

    # -- the history page lists the audit trail ---------------------------------------------

    def history_view(self, request, object_id, extra_context=None):
        """The object's audit records (every entry: API, admin, jobs, commands), newest first,
        with who acted and each changed field before and after; Django's own history would
        show only this admin's edits."""
        opts = self.model._meta
        if opts.label not in audit.AUDITED:
            return super().history_view(request, object_id, extra_context)
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        page = Paginator(audit.records_for(obj), HISTORY_PAGE_SIZE).get_page(request.GET.get("p"))
        context = {
            **self.admin_site.each_context(request),
            "title": (gettext("Change history: %(obj)s") % {"obj": obj}),
            "subtitle": None,
            "module_name": str(capfirst(opts.verbose_name_plural)),
            "object": obj,
            "opts": opts,
            "preserved_filters": self.get_preserved_filters(request),
            "history_rows": [_history_row(record) for record in page],
            "page_obj": page,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/audit_history.html", context)

    # -- buttons on the change page, each a service call -------------------------------------

    object_actions: tuple[ObjectAction, ...] = ()

    def get_urls(self):
        opts = self.model._meta
        return [
            *[
                path(
                    f"<path:object_id>/{action.name}/",
                    self.admin_site.admin_view(partial(self.object_action_view, action=action)),
                    name=f"{opts.app_label}_{opts.model_name}_{action.name}",
                )
                for action in self.object_actions
            ],
            *super().get_urls(),
        ]

    def object_action_url(self, obj, name: str) -> str:
        opts = self.model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}", args=[quote(obj.pk)])

    def change_url(self, obj) -> str:
        opts = self.model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(obj.pk)])

    def object_action_view(self, request, object_id, action: ObjectAction):
        """POST: run one button's service call on the object, then back to its page with the
        outcome (the service's own words when it refuses)."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if request.method != "POST" or not self.has_change_permission(request, obj):
            raise PermissionDenied
        # Not one transaction around the call: each service commits its own, and a test send
        # must not hold the database while it waits on a remote server.
        try:
            message = getattr(self, f"action_{action.name}")(request, obj)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            if message:
                self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(self.change_url(obj))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and self.has_change_permission(request, obj):
            context["ops_object_actions"] = [
                {
                    "name": action.name,
                    "label": action.label,
                    "url": self.object_action_url(obj, action.name),
                }
                for action in self.object_actions
                if action.shown(obj)
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    # -- a refusal re-renders the form with the service's messages ---------------------------

    def get_formsets_with_inlines(self, request, obj=None):
        refusals = getattr(request, "service_inline_refusals", None)
        for formset_class, inline in super().get_formsets_with_inlines(request, obj):
            yield (
                (_with_row_refusals(formset_class, refusals) if refusals else formset_class),
                inline,
            )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, "service_refusal", None)
        if refusal is None:
            return form_class

        def _post_clean(form):
            form_class._post_clean(form)
            add_domain_errors(form, refusal)

        return type(form_class.__name__, (form_class,), {"_post_clean": _post_clean})

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            with transaction.atomic(using=router.db_for_write(self.model)):
                return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            # Nothing was written (rolled back). Validate the same POST again, this time with
            # the service's messages added, so the operator sees them on their fields.
            request.service_refusal = refused.error
            request.service_inline_refusals = refused.inline_errors
            return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            with transaction.atomic(using=router.db_for_write(self.model)):
                return super().delete_view(request, object_id, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.path.rsplit("/delete/", 1)[0] + "/change/")

    def changelist_view(self, request, extra_context=None):
        try:
            with transaction.atomic(using=router.db_for_write(self.model)):
                return super().changelist_view(request, extra_context)
        except ServiceRefused as refused:  # a list_editable row the service refused
            self.message_user(request, str(refused), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """For records that only the system writes (runs, history, deliveries): look, never touch."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- the kernel's own models -----------------------------------------------------------------

# The library registers its own concrete model; operators manage ours (with read_only) only.
admin.site.unregister(APIKey)


@admin.register(ApiKey)
class ApiKeyAdmin(ServiceModelAdmin, APIKeyModelAdmin):
    list_display = (*APIKeyModelAdmin.list_display, "read_only")
    list_filter = ("read_only", "revoked", "created")
    fields = ("name", "read_only", "expiry_date", "revoked", "prefix")

    @staticmethod
    def _spec(form) -> services.ApiKeySpec:
        # A revoked key's fields are read-only (the library's rule): they are not in the form.
        data, key = form.cleaned_data, form.instance
        return services.ApiKeySpec(
            name=data.get("name", key.name),
            read_only=data.get("read_only", key.read_only),
            expiry_date=data.get("expiry_date", key.expiry_date),
        )

    def create_through_service(self, request, form):
        api_key, raw_key = services.api_key_create(spec=self._spec(form))
        self.message_user(
            request,
            (
                gettext(
                    "The API key for %(name)s is: %(raw_key)s. Please store it somewhere "
                    "safe: you will not be able to see it again."
                )
                % {"name": api_key.name, "raw_key": raw_key}
            ),
            messages.WARNING,
        )
        return api_key

    def update_through_service(self, request, obj, form):
        return services.api_key_update(
            key_id=obj.pk, spec=self._spec(form), revoked=form.cleaned_data.get("revoked", True)
        )

    def delete_through_service(self, request, obj) -> None:
        services.api_key_delete(key_id=obj.pk)


# django-auditlog registers its own admin for the log entry model (ours, swapped in); ours
# shows the actor's name, which names API keys and jobs too.
if admin.site.is_registered(AuditRecord):
    admin.site.unregister(AuditRecord)


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyModelAdmin):
    """Every audit record, across types; each object's own are on its History page."""

    list_display = (
        "timestamp",
        "content_type",
        "object_repr",
        "action",
        "actor_name",
        "changed_fields",
    )
    list_filter = ("action", "content_type")
    search_fields = ("object_pk", "actor_name")
    date_hierarchy = "timestamp"
    list_select_related = ("content_type",)
    readonly_fields = (
        "timestamp",
        "content_type",
        "object_pk",
        "object_repr",
        "action",
        "actor_name",
        "remote_addr",
        "changes",
        "additional_data",
    )
    fields = readonly_fields

    @admin.display(description=gettext_lazy("changed fields"))
    def changed_fields(self, record: AuditRecord) -> str:
        return ", ".join(sorted(record.changes or {}))


@admin.register(SchedulerJob)
class SchedulerJobAdmin(ReadOnlyModelAdmin):
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
