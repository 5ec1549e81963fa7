from rest_framework import exceptions, permissions


class ApiKeyOrStaff(permissions.BasePermission):
    """Any valid key or staff session may read; writes need a key that is not read-only."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            raise exceptions.NotAuthenticated("Missing or invalid authorization header")
        if request.method in permissions.SAFE_METHODS:
            return True
        if getattr(user, "read_only", False):
            raise exceptions.PermissionDenied("This API key is read-only")
        return True


def actor_of(request) -> str:
    """The name recorded as `executed_by` / `completed_by` for this caller."""
    user = request.user
    actor = getattr(user, "actor", None)
    if actor:
        return actor
    return f"user:{user.pk}"
