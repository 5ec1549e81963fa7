"""`GET /api/v1/audit`: the audit trail (`core.audit`), newest first, in v1's paging.

Sensitive (who did what, from which address, under which key name), so it is not for every
caller: a read-write API key may read it, a read-only key may not (read-only keys go into
dashboards and feed URLs), and a staff session needs the "view audit record" permission
(superusers have it).
"""

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, permissions, serializers

from core import audit
from core.api.pagination import SkipLimitPagination
from core.api.schema import SKIP_LIMIT_PARAMETERS, error_responses, skip_limit_page
from core.api.views import ServiceAPIView
from core.models import AuditRecord

ACTIONS = {name: value for value, name in audit.ACTION_NAMES.items()}


class CanReadAudit(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            raise exceptions.NotAuthenticated(gettext("Missing or invalid authorization header"))
        if getattr(user, "key_id", None) is not None:
            if user.read_only:
                raise exceptions.PermissionDenied(
                    gettext("A read-only API key cannot read the audit trail")
                )
            return True
        if user.has_perm("core.view_auditrecord"):
            return True
        raise exceptions.PermissionDenied(
            gettext("Reading the audit trail needs the 'view audit record' permission")
        )


class _InstantField(serializers.DateTimeField):
    """An ISO 8601 instant; one the calendar cannot hold in UTC is a 400, not an overflow."""

    def to_internal_value(self, value):
        try:
            return super().to_internal_value(value)
        except (OverflowError, ValueError):
            self.fail("invalid", format="ISO 8601")


class AuditQuery(serializers.Serializer):
    object_type = serializers.ChoiceField(
        choices=sorted(audit.OBJECT_TYPES), required=False, help_text="The API's name of a type."
    )
    object_id = serializers.CharField(
        required=False, max_length=255, help_text="The object's id (an API key: its prefix)."
    )
    actor = serializers.CharField(
        required=False,
        max_length=200,
        help_text="Exactly as recorded: `user:<username>`, `key:<key name>`, "
        "`system:<job or command>` or `system`.",
    )
    action = serializers.ChoiceField(choices=sorted(ACTIONS), required=False)
    since = _InstantField(required=False, help_text="Records at or after this instant.")
    until = _InstantField(required=False, help_text="Records before this instant.")

    def validate(self, attrs):
        if "since" in attrs and "until" in attrs and attrs["until"] <= attrs["since"]:
            raise serializers.ValidationError({"until": [gettext("until must be after since.")]})
        return attrs


class AuditChangeSerializer(serializers.Serializer):
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class AuditRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    timestamp = serializers.DateTimeField()
    object_type = serializers.SerializerMethodField()
    object_id = serializers.CharField(source="object_pk")
    object_repr = serializers.CharField()
    action = serializers.SerializerMethodField()
    actor = serializers.CharField(source="actor_name")
    remote_addr = serializers.IPAddressField(allow_null=True)
    changes = serializers.SerializerMethodField(
        help_text="The changed fields with their values before and after (null on create or "
        "delete). Secrets show as `***`."
    )

    def get_object_type(self, record) -> str:
        return audit.object_type_of(record.content_type_id)

    def get_action(self, record) -> str:
        return audit.ACTION_NAMES[record.action]

    @extend_schema_field(serializers.DictField(child=AuditChangeSerializer()))
    def get_changes(self, record) -> dict:
        return {
            name: {"before": pair[0], "after": pair[1]}
            for name, pair in (record.changes or {}).items()
        }


class AuditListView(ServiceAPIView):
    """The audit trail: every create, update and delete of plans, tasks, assets, technicians,
    maintenances, events, monitors, notification channels and API keys, newest first, with
    who made it (`actor`) and the changed fields' values before and after. Needs a read-write
    API key, or a staff session with the "view audit record" permission."""

    permission_model = AuditRecord
    permission_classes = [CanReadAudit]
    pagination_class = SkipLimitPagination

    @extend_schema(
        operation_id="audit_list",
        parameters=[AuditQuery, *SKIP_LIMIT_PARAMETERS],
        responses={
            200: skip_limit_page(AuditRecordSerializer, "AuditRecordPage"),
            **error_responses(400, 401, 403),
        },
    )
    def get(self, request):
        query = AuditQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        return self.page_of(_records(**query.validated_data), AuditRecordSerializer)


def _records(
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since=None,
    until=None,
):
    records = AuditRecord.objects.order_by("-timestamp", "-id")
    if object_type is not None:
        records = records.filter(content_type=audit.content_type_for(object_type))
    if object_id is not None:
        records = records.filter(object_pk=object_id)
    if actor is not None:
        records = records.filter(actor_name=actor)
    if action is not None:
        records = records.filter(action=ACTIONS[action])
    if since is not None:
        records = records.filter(timestamp__gte=since)
    if until is not None:
        records = records.filter(timestamp__lt=until)
    return records.only(
        "id",
        "timestamp",
        "content_type_id",
        "object_pk",
        "object_repr",
        "action",
        "actor_name",
        "remote_addr",
        "changes",
    )
