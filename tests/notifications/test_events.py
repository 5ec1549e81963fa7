"""The event registry: apps register the events they own, notifications names none of them."""

import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

import maintenance.events
import notifications
import scheduling.events
from notifications import events, services
from notifications.events import EventType, UnknownEvent, register_event
from notifications.messages import Message, check_event_templates
from notifications.models import Delivery
from tests.notifications.conftest import T0, task_payload

CHANNELS_URL = "/api/v1/notifications/channels"
INVENTORY_LOW = EventType("inventory.low", "Stock running low", required=("item.sku",))


def _create_channel(client, **body):
    body = {"name": "stock", "kind": "webhook", "target": "https://x.example.com", **body}
    return client.post(CHANNELS_URL, body, format="json")


@pytest.fixture
def registry(monkeypatch):
    """The registry as the apps left it, restored after the test whatever it registers."""
    monkeypatch.setattr(events, "_registry", dict(events._registry))
    return events


def test_each_app_registers_the_events_it_owns_at_start_up():
    assert events.event_types() == (
        events.CHANNEL_TEST,  # notifications' own, first in INSTALLED_APPS
        *maintenance.events.EVENT_TYPES,
        *scheduling.events.EVENT_TYPES,
    )
    assert events.event_type("task.created") is maintenance.events.EVENT_TYPES[0]
    assert events.event_type("maintenance.ready").template_dir == "notifications/maintenance.ready"
    # `test` is sent to a channel whatever it subscribed to, so it cannot be subscribed to.
    assert "test" not in events.subscribable_events()
    assert Delivery(event="maintenance.ready").get_event_display() == "Maintenance starting soon"


def test_every_registered_event_has_its_templates():
    assert check_event_templates() == []


@pytest.mark.parametrize("name", ["task.exploded", "", None, ["task.created"]])
def test_notify_refuses_an_event_no_app_registered_naming_those_that_are(webhook, name):
    channel = webhook()

    with pytest.raises(UnknownEvent) as refused:
        services.notify(
            event=name, object_key="task:t", payload=task_payload(), channel_ids=[channel.pk]
        )

    assert str(refused.value).startswith(f"Unknown event {name!r}. Registered events: test, ")
    assert "task.created" in str(refused.value)
    assert isinstance(refused.value, ValueError)  # a bug in the caller, as for a bad payload
    assert not Delivery.objects.exists()


def test_an_event_an_app_registers_can_be_subscribed_to_and_is_sent(
    registry, api_client, receiver, webhook, eager_celery, django_capture_on_commit_callbacks
):
    assert _create_channel(api_client, events=["inventory.low"]).status_code == 400

    register_event(INVENTORY_LOW)

    created = _create_channel(api_client, events=["inventory.low"])
    assert created.status_code == 201, created.json()
    assert created.json()["events"] == ["inventory.low"]
    hook = webhook(events=["inventory.low"])
    with django_capture_on_commit_callbacks(execute=True):
        recorded = services.notify(
            event="inventory.low",
            object_key="item:42",
            payload={"timezone": "UTC", "item": {"sku": "F-7"}},
            channel_ids=[hook.pk],
            now=T0,
        )
    assert [delivery.channel_id for delivery in recorded] == [hook.pk]
    assert [r.json["event"] for r in receiver.requests] == ["inventory.low"]
    assert receiver.requests[0].json["data"] == {"timezone": "UTC", "item": {"sku": "F-7"}}
    with pytest.raises(
        ValueError, match=re.escape("inventory.low payload lacks timezone, item.sku")
    ):
        services.notify(event="inventory.low", object_key="item:1", payload={}, now=T0)


def test_a_channel_refuses_an_event_no_app_registered_naming_those_it_may_hear(api_client):
    refused = _create_channel(api_client, events=["task.created", "inventory.low"])

    assert refused.status_code == 400
    [message] = refused.json()["error"]["details"]["events"]
    assert message == (
        "Unknown event 'inventory.low'. Must be one of: task.created, task.overdue, "
        "task.due_soon, task.escalated, report.ready, maintenance.ready, maintenance.started, "
        "maintenance.completed, maintenance.cancelled, maintenance.reminder, maintenance.updated"
    )


def test_registering_a_name_again_is_a_no_op_with_the_same_definition_an_error_with_another(
    registry,
):
    register_event(INVENTORY_LOW)
    register_event(EventType("inventory.low", "Stock running low", required=["item.sku"]))

    with pytest.raises(
        ImproperlyConfigured, match=re.escape("'inventory.low' is already registered")
    ):
        register_event(EventType("inventory.low", "Stock low", required=("item.sku",)))
    with pytest.raises(
        ImproperlyConfigured, match=re.escape("'task.created' is already registered")
    ):
        register_event(EventType("task.created", "Task created", required=("task.id",)))
    assert events.event_type("inventory.low") == INVENTORY_LOW


@pytest.mark.parametrize("name", ["", " padded", "x" * 41, None])
def test_an_event_name_must_fit_the_delivery_column(registry, name):
    with pytest.raises(ImproperlyConfigured, match="An event name is a string of 1 to 40"):
        register_event(EventType(name, "Bad"))


def test_manage_py_check_reports_an_event_registered_without_its_templates(registry):
    register_event(INVENTORY_LOW)

    problems = check_event_templates()

    assert [(p.id, p.msg) for p in problems] == [
        (
            "notifications.E001",
            f"Event 'inventory.low' has no template notifications/inventory.low/{name}",
        )
        for name in ("subject.txt", "body.txt", "body.html")
    ]


def _templates_in(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _with_template_dirs(settings, *dirs: Path) -> None:
    [engine] = settings.TEMPLATES
    settings.TEMPLATES = [{**engine, "DIRS": [*dirs, *engine["DIRS"]]}]


def _message(event: str, payload: dict) -> Message:
    return Message(Delivery(id="dlv_x", event=event, payload=payload, created_at=timezone.now()))


def test_an_apps_event_is_rendered_from_the_templates_it_registered(registry, settings, tmp_path):
    _with_template_dirs(
        settings,
        _templates_in(
            tmp_path,
            {
                "stock/mail/subject.txt": "Low: {{ item.sku }}",
                "stock/mail/body.txt": "{{ item.sku }} is running low.",
                "stock/mail/body.html": '{% extends "notifications/base.html" %}'
                "{% block content %}<p>{{ item.sku }}</p>{% endblock %}",
            },
        ),
    )
    register_event(
        EventType("inventory.low", "Low", required=("item.sku",), template_dir="stock/mail")
    )

    rendered = _message("inventory.low", {"timezone": "UTC", "item": {"sku": "F-7"}})

    assert (rendered.subject, rendered.text) == ("Low: F-7", "F-7 is running low.\n")
    assert rendered.html.startswith("<!doctype html>") and "<p>F-7</p>" in rendered.html
    assert check_event_templates() == []


def test_a_template_in_the_project_templates_dir_overrides_the_apps(settings, tmp_path):
    before = _message("task.created", services._checked_payload("task.created", task_payload()))
    assert before.subject.startswith("[MAN-042] New task:")
    _with_template_dirs(
        settings,
        _templates_in(tmp_path, {"notifications/task.created/subject.txt": "Do {{ task.code }}"}),
    )

    after = _message("task.created", services._checked_payload("task.created", task_payload()))

    assert after.subject == "Do MAN-042"
    assert after.text == before.text  # the others still come from the maintenance app


def test_the_project_templates_dir_is_searched_before_the_apps(settings):
    [engine] = settings.TEMPLATES
    assert engine["APP_DIRS"] is True
    assert engine["DIRS"] == [settings.BASE_DIR / "templates"]


# Quoted names of the apps' events, e.g. "task.created" or 'maintenance.ready'.
DOMAIN_EVENT_NAME = re.compile(r"""["'](task|maintenance)\.""")


def test_notifications_names_no_event_of_another_app():
    package = Path(notifications.__file__).parent
    # Migrations are history: 0001 listed the event choices before apps registered them.
    sources = [
        path
        for path in sorted(package.rglob("*"))
        if path.suffix in {".py", ".txt", ".html"} and "migrations" not in path.parts
    ]
    assert any(path.suffix == ".html" for path in sources)  # the templates are searched too
    domain_names = {e.name for e in events.event_types()} - {events.TEST}

    for path in sources:
        text = path.read_text()
        assert not DOMAIN_EVENT_NAME.search(text), path
        assert not [name for name in domain_names if name in text], path
        assert not re.search(r"^\s*(from|import) (maintenance|scheduling)\b", text, re.M), path
