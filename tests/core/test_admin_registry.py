"""No admin of ours writes a domain model behind the services' back.

Over the whole admin registry: a model admin of our apps either is a `ServiceModelAdmin`
(whose writes are the services') that keeps the base class's write hooks, or lets a superuser
add, change and delete nothing. An editable inline of a `ServiceModelAdmin` needs the admin
to save it through a service (`save_inlines_through_service`).
"""

import pytest
from django.contrib import admin
from django.contrib.admin.options import InlineModelAdmin
from django.test import RequestFactory

from core.admin import ReadOnlyModelAdmin, ServiceModelAdmin
from scheduling.models import Maintenance, MaintenanceMonitor

OUR_APPS = {"core", "maintenance", "optimisation", "scheduling", "notifications"}

# The hooks through which Django's admin writes (the add/change form, list_editable, inlines,
# deletes one by one or in bulk): ServiceModelAdmin routes each to a service.
WRITE_HOOKS = ("save_form", "save_model", "save_related", "delete_model", "delete_queryset")

OUR_ADMINS = sorted(
    (
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in OUR_APPS
    ),
    key=lambda pair: pair[0]._meta.label,
)


@pytest.fixture
def superuser_request(django_user_model):
    request = RequestFactory().get("/admin/")
    request.user = django_user_model.objects.create_superuser(username="root", password="x-123")
    return request


def _writes(model_admin, request) -> list[str]:
    """What a superuser may do through this admin (or inline) that writes."""
    # An inline's add permission also takes the parent object.
    add_args = (request, None) if isinstance(model_admin, InlineModelAdmin) else (request,)
    permissions = {
        "add": model_admin.has_add_permission(*add_args),
        "change": model_admin.has_change_permission(request, None),
        "delete": model_admin.has_delete_permission(request, None),
    }
    return [name for name, allowed in permissions.items() if allowed]


def test_it_covers_the_admins_of_our_apps():
    labels = {model._meta.app_label for model, _ in OUR_ADMINS}
    assert {"core", "scheduling", "notifications", "maintenance"} <= labels


def write_problems(model, model_admin, request) -> list[str]:
    """Why this admin could write `model` without a service (empty when it cannot)."""
    name = type(model_admin).__name__
    if not isinstance(model_admin, ServiceModelAdmin):
        writes = _writes(model_admin, request)
        return (
            [
                f"{name} lets a superuser {'/'.join(writes)} {model._meta.label} with Django's "
                "defaults: make it a core.admin.ServiceModelAdmin (or a ReadOnlyModelAdmin)"
            ]
            if writes
            else []
        )
    problems = [
        f"{name} overrides {hook}, which maps the admin's writes to services; implement "
        "create/update/delete_through_service instead"
        for hook in WRITE_HOOKS
        if getattr(type(model_admin), hook) is not getattr(ServiceModelAdmin, hook)
    ]
    if not model_admin._implements("save_inlines_through_service"):
        problems += [
            f"{inline_class.__name__} on {name} is editable, but no "
            "save_inlines_through_service saves it"
            for inline_class in model_admin.inlines
            if _writes(inline_class(model, model_admin.admin_site), request)
        ]
    return problems


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "model_admin"),
    OUR_ADMINS,
    ids=[model._meta.label for model, _ in OUR_ADMINS],
)
def test_every_admin_of_ours_writes_only_through_services(model, model_admin, superuser_request):
    assert write_problems(model, model_admin, superuser_request) == []


# --- the check itself catches each way round the services ----------------------------------


class _Links(admin.TabularInline):
    model = MaintenanceMonitor


class _ReadOnlyLinks(_Links):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class _Creates(ServiceModelAdmin):
    def create_through_service(self, request, form):  # pragma: no cover - never called
        raise AssertionError


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("admin_class", "expected"),
    [
        (
            type("PlainAdmin", (admin.ModelAdmin,), {}),
            "PlainAdmin lets a superuser add/change/delete",
        ),
        (type("QuietAdmin", (ReadOnlyModelAdmin,), {}), None),
        (
            type("SavesItself", (_Creates,), {"save_model": lambda *args: None}),
            "SavesItself overrides save_model",
        ),
        (
            type("DeletesItself", (_Creates,), {"delete_queryset": lambda *args: None}),
            "DeletesItself overrides delete_queryset",
        ),
        (
            type("UnsavedInline", (_Creates,), {"inlines": [_Links]}),
            "_Links on UnsavedInline is editable",
        ),
        (type("ReadOnlyInline", (_Creates,), {"inlines": [_ReadOnlyLinks]}), None),
        (
            type(
                "SavedInline",
                (_Creates,),
                {"inlines": [_Links], "save_inlines_through_service": lambda *args: None},
            ),
            None,
        ),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else None,
)
def test_the_check_finds_an_admin_that_writes_without_a_service(
    admin_class, expected, superuser_request
):
    problems = write_problems(
        Maintenance, admin_class(Maintenance, admin.AdminSite()), superuser_request
    )

    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1
        assert problems[0].startswith(expected)
