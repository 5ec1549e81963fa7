"""Who may do what on the API.

- An API key: any valid key may read, and may call the routes that change nothing though they
  are POSTs (a view's `safe_methods`, e.g. `POST /api/v4/maintenances/preview`); writes need a
  key that is not read-only.
- A staff session: bound by the user's Django model permissions, as in the admin (view for a
  read, add / change / delete for a write; DRF's `DjangoModelPermissions` with view
  permissions). Superusers keep everything. The model is the one the view serves: its
  `permission_model`, else its queryset's model, else its serializer's `Meta.model`. A view
  that names no model is refused to every staff user but superusers: fail closed.
"""

from collections.abc import Collection

from django.utils.translation import gettext
from rest_framework import exceptions, permissions

from core.api.authentication import ApiKeyPrincipal

SAFE_METHODS = frozenset(permissions.SAFE_METHODS)
# Viewset actions and the model permission each needs; an extra action that is not a read
# acts on an existing object (`plans/{id}/execute`), so it needs `change`.
_VIEWSET_ACTIONS = {
    "list": "view",
    "retrieve": "view",
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
}
_METHODS = {"POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}


def safe_methods_of(view) -> Collection[str]:
    """The methods that change nothing on this view: the HTTP safe ones and the view's own."""
    return SAFE_METHODS | {method.upper() for method in getattr(view, "safe_methods", ())}


def guarded_model(view):
    """The model whose Django permissions guard this view, or None."""
    model = getattr(view, "permission_model", None)
    if model is None and getattr(view, "queryset", None) is not None:
        model = view.queryset.model
    if model is None:
        model = getattr(getattr(view.serializer_class, "Meta", None), "model", None)
    return model


def required_action(view, method: str) -> str:
    """`view`, `add`, `change` or `delete`: what this request does to the view's model."""
    overrides = getattr(view, "permission_actions", {})
    if method.lower() in overrides:
        return overrides[method.lower()]
    if method in safe_methods_of(view):
        return "view"
    action = getattr(view, "action", None)
    if action is not None:  # a viewset
        return _VIEWSET_ACTIONS.get(action, "change")
    return _METHODS.get(method, "change")


def required_permission(view, method: str) -> str | None:
    """`app_label.<action>_<model>`, or None when the view names no model."""
    model = guarded_model(view)
    if model is None:
        return None
    meta = model._meta
    return f"{meta.app_label}.{required_action(view, method)}_{meta.model_name}"


class ApiKeyOrStaff(permissions.BasePermission):
    """API keys by their read-only flag; staff sessions by their model permissions."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            raise exceptions.NotAuthenticated(gettext("Missing or invalid authorization header"))
        if isinstance(user, ApiKeyPrincipal):
            if user.read_only and request.method not in safe_methods_of(view):
                raise exceptions.PermissionDenied(gettext("This API key is read-only"))
            return True
        if user.is_superuser:
            return True
        permission = required_permission(view, request.method)
        if permission is None or not user.has_perm(permission):
            # The codename is what an operator grants in the admin, so the message names it.
            raise exceptions.PermissionDenied(
                (gettext("You need the permission %(permission)s") % {"permission": permission})
                if permission
                else gettext("Only a superuser may call this route")
            )
        return True


def actor_of(request) -> str:
    """The name recorded as `executed_by` / `completed_by` for this caller."""
    user = request.user
    actor = getattr(user, "actor", None)
    if actor:
        return actor
    return f"user:{user.pk}"
