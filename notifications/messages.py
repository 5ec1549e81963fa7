"""What a delivery says: a JSON body for machines, a subject and text/HTML for people.

The text comes from the Django templates of the event (``subject.txt``, ``body.txt``,
``body.html`` in the ``template_dir`` its app registered, see `notifications.events`),
rendered from the stored payload at send time; times are shown in the payload's ``timezone``
with the zone named (the ``in_zone`` filter).
"""

import json
from datetime import UTC, datetime
from functools import cached_property

from django.core import checks
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template, render_to_string

from notifications.events import event_type, event_types
from notifications.models import Delivery

TEMPLATE_NAMES = ("subject.txt", "body.txt", "body.html")


def json_default(value):
    """Datetimes in payloads become ISO 8601 UTC with ``Z``, like every time in the API."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetime in a notification payload")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class Message:
    """One delivery, rendered lazily: each transport uses only the parts it needs."""

    def __init__(self, delivery: Delivery):
        self.delivery = delivery
        self.event = delivery.event

    @cached_property
    def body(self) -> bytes:
        """The webhook body. Serialized once: these exact bytes are signed and sent."""
        envelope = {
            "id": self.delivery.id,
            "event": self.delivery.event,
            "created_at": json_default(self.delivery.created_at),
            "data": self.delivery.payload,
        }
        return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()

    def _render(self, name: str, **extra) -> str:
        context = {**self.delivery.payload, "event": self.event, "delivery": self.delivery}
        template_dir = event_type(self.event).template_dir
        return render_to_string(f"{template_dir}/{name}", {**context, **extra})

    @cached_property
    def subject(self) -> str:
        # A header: one line, whatever the template's whitespace.
        return " ".join(self._render("subject.txt").split())

    @cached_property
    def text(self) -> str:
        return self._render("body.txt").strip() + "\n"

    @cached_property
    def html(self) -> str:
        return self._render("body.html", subject=self.subject)


def check_event_templates(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """System check: every registered event has its three templates, and they compile.

    So an app that registers an event without its messages fails ``manage.py check``, not
    the first delivery of that event.
    """
    errors = []
    for registered in event_types():
        for name in TEMPLATE_NAMES:
            path = f"{registered.template_dir}/{name}"
            try:
                get_template(path)
            except TemplateDoesNotExist:
                problem, code = f"has no template {path}", "notifications.E001"
            except TemplateSyntaxError as exc:
                problem, code = f"has a broken template {path}: {exc}", "notifications.E002"
            else:
                continue
            errors.append(checks.Error(f"Event {registered.name!r} {problem}", id=code))
    return errors
