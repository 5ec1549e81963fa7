"""Channels are picked, not typed as ids: the plan's notification and escalation channels and
a report schedule's channels list the channels by name and kind (inactive ones marked), save
the same id tuples through the services, and an id that names no channel is the service's
message on the field. The channel page links its deliveries by status."""

import pytest
from django.contrib.admin.utils import quote

from maintenance.models import Plan
from notifications import services as notification_services
from notifications.models import Channel, Delivery
from tests.maintenance.test_admin_plans import ADD, _errors, _form

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def channels(db) -> dict[str, Channel]:
    def make(name, kind, target, active=True):
        return notification_services.channel_create(
            name=name, kind=kind, target=target, active=active
        )

    return {
        "ops": make("Ops mail", "email", "ops@example.com"),
        "hook": make("Plant hook", "webhook", "https://hooks.example.com/plant"),
        "old": make("Old pager", "email", "pager@example.com", active=False),
    }


def _change(plan: Plan) -> str:
    return f"/admin/maintenance/plan/{quote(plan.pk)}/change/"


def test_the_plan_form_lists_the_channels_by_name_and_kind(admin_client, channels):
    form = admin_client.get(ADD).context["adminform"].form
    for name in ("notification_channel_ids", "escalation_channel_ids"):
        assert dict(form.fields[name].choices) == {
            channels["ops"].pk: "Ops mail (Email)",
            channels["old"].pk: "Old pager (Email) — inactive",
            channels["hook"].pk: "Plant hook (Webhook)",
        }
        html = str(form[name])
        assert f'<select name="{name}"' in html and "multiple" in html


def test_picked_channels_are_saved_as_ids_and_shown_picked_again(admin_client, channels):
    picked = [channels["hook"].pk, channels["ops"].pk]
    response = admin_client.post(
        ADD,
        _form(notification_channel_ids=picked, escalation_channel_ids=[channels["old"].pk]),
    )
    assert response.status_code == 302, _errors(response)
    plan = Plan.objects.get()
    assert plan.notification_channel_ids == picked
    assert plan.escalation_channel_ids == [channels["old"].pk]

    html = admin_client.get(_change(plan)).content.decode()
    for channel in (channels["hook"], channels["ops"]):
        assert f'<option value="{channel.pk}" selected>' in html


def test_an_unknown_channel_is_the_services_message_on_the_field(admin_client, channels):
    errors = _errors(
        admin_client.post(ADD, _form(notification_channel_ids=[channels["ops"].pk, "chan_gone"]))
    )
    assert errors["notification_channel_ids"] == ["Channel 'chan_gone' not found"]
    assert not Plan.objects.exists()


def test_a_deleted_channel_stays_on_the_picker_until_removed(admin_client, channels):
    admin_client.post(ADD, _form(notification_channel_ids=[channels["ops"].pk]))
    plan, gone = Plan.objects.get(), channels["ops"].pk
    notification_services.channel_delete(channel=channels["ops"])

    page = admin_client.get(_change(plan))
    field = page.context["adminform"].form.fields["notification_channel_ids"]
    assert dict(field.choices)[gone] == f"{gone} (not found)"
    assert f'<option value="{gone}" selected>' in page.content.decode()
    # Saved as it is, the service names it on the field.
    errors = _errors(admin_client.post(_change(plan), _form(notification_channel_ids=[gone])))
    assert errors["notification_channel_ids"] == [f"Channel '{gone}' not found"]


def test_the_report_schedule_picks_channels_the_same_way(admin_client, channels):
    form = admin_client.get("/admin/maintenance/reportschedule/add/").context["adminform"].form
    assert dict(form.fields["channel_ids"].choices)[channels["old"].pk] == (
        "Old pager (Email) — inactive"
    )


def test_the_channel_page_opens_its_deliveries_by_status(admin_client, channels):
    channel = channels["hook"]
    for index, status in enumerate(("failed", "failed", "sent", "pending")):
        Delivery.objects.create(
            channel=channel, event="task.created", object_key=f"task:{index}", status=status
        )
    html = admin_client.get(
        f"/admin/notifications/channel/{quote(channel.pk)}/change/"
    ).content.decode()
    base = f"/admin/notifications/delivery/?channel__id__exact={channel.pk}"
    assert f'href="{base}&amp;status__exact=failed" class="ops-delivery-failed">2 Failed' in html
    assert f'href="{base}&amp;status__exact=sent" class="ops-delivery-sent">1 Sent' in html
    listing = admin_client.get(f"{base}&status__exact=failed")
    assert listing.context["cl"].result_count == 2
    # The channel list counts the failed and pending ones, linked the same way.
    channels_page = admin_client.get("/admin/notifications/channel/").content.decode()
    assert f'href="{base}&amp;status__exact=failed" class="ops-delivery-failed">2 Failed' in (
        channels_page
    )
    assert f'href="{base}&amp;status__exact=pending" class="ops-delivery-pending">1 Pending' in (
        channels_page
    )


def test_the_channel_list_costs_the_same_queries_for_many_channels(admin_client, channels):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get("/admin/notifications/channel/").status_code == 200
        return len(queries)

    few = count()
    for index in range(10):
        channel = notification_services.channel_create(
            name=f"c{index}", kind="email", target=f"c{index}@example.com"
        )
        Delivery.objects.create(
            channel=channel, event="task.created", object_key="t", status="failed"
        )
    assert count() == few
