"""The registry of events a channel can hear about, and the envelope every delivery shares.

notifications owns no domain event: each app declares the events it raises in its own
``events`` module (name, label, required payload keys, the payload documented there) and
registers them from its ``AppConfig.ready()`` with `register_event`. `notify` refuses a name
nobody registered, and a channel's ``events`` may list any registered name that channels can
subscribe to. notifications registers only its own ``test`` event (channel tests).
The registry is complete once every app is ready; nothing may look a name up before that.

The payload an app passes to `notifications.services.notify` is stored on the delivery as is,
sent to webhooks inside the envelope below, and rendered by the event's message templates:
``<template_dir>/subject.txt``, ``body.txt`` and ``body.html`` (by default
``notifications/<event>/``, kept in the owning app's ``templates/`` directory; a file of the
same name in the project's ``templates/`` overrides it). Templates may extend
``notifications/base.html`` and use the ``in_zone`` filter (``{% load notification_tags %}``).

What every payload has, whatever the event: ``timezone``, the IANA zone of the object, in
which messages show times. Instants are ISO 8601 UTC strings with ``Z`` (a datetime given to
`notify` is converted). The shape of a payload is a contract with webhook consumers: add keys
freely, never rename or remove one.

A webhook receives ``{"id": "dlv_…", "event": "<name>", "created_at": "…Z", "data": <payload>}``.

The payload of ``test``, the one event notifications owns (sent by `send_test`)::

    {"timezone": "UTC", "message": "…", "requested_at": "…Z"}
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

# Every payload carries it (`notify` checks it): messages show times in that zone.
COMMON_KEYS = ("timezone",)
# The width of the ``Delivery.event`` column.
NAME_MAX_LENGTH = 40

TEST = "test"


class UnknownEvent(ValueError):
    """A name no app registered: a bug in the caller, not bad input from a user."""


@dataclass(frozen=True)
class EventType:
    """An event an app raises: what it is called, what its payload must hold, how it reads.

    ``required`` lists the dotted paths that must be present in the payload besides
    ``timezone`` (the value may be null only for keys documented as optional, which are not
    listed). ``subscribable`` is False for an event that is not sent through `notify` and that
    a channel cannot choose (the channel ``test``, which reaches every channel it is sent to).
    """

    name: str
    label: str
    required: tuple[str, ...] = ()
    template_dir: str = ""
    subscribable: bool = True

    def __post_init__(self):
        if not self.template_dir:
            object.__setattr__(self, "template_dir", f"notifications/{self.name}")
        object.__setattr__(self, "required", tuple(self.required))

    def missing_keys(self, payload: dict) -> list[str]:
        """The required dotted paths (``timezone`` first) that ``payload`` lacks."""
        missing = []
        for path in (*COMMON_KEYS, *self.required):
            node = payload
            for part in path.split("."):
                if not isinstance(node, dict) or part not in node:
                    missing.append(path)
                    break
                node = node[part]
        return missing


# In registration order, which is the order of INSTALLED_APPS (each app registers in ready()).
_registry: dict[str, EventType] = {}


def register_event(event_type: EventType) -> EventType:
    """Make ``event_type`` known; for an app's ``ready()``.

    Registering the same definition again is a no-op (``ready()`` may run more than once, in
    tests); another definition under a name already taken is a configuration error.
    """
    name = event_type.name
    if not isinstance(name, str) or not 0 < len(name) <= NAME_MAX_LENGTH or name != name.strip():
        raise ImproperlyConfigured(
            f"An event name is a string of 1 to {NAME_MAX_LENGTH} characters, not {name!r}"
        )
    registered = _registry.get(name)
    if registered is not None and registered != event_type:
        raise ImproperlyConfigured(
            f"Event {name!r} is already registered with another definition: {registered!r}"
        )
    _registry[name] = event_type
    return event_type


def register_events(event_types: Iterable[EventType]) -> None:
    """`register_event` each of ``event_types``, in order."""
    for event_type in event_types:
        register_event(event_type)


def event_type(name: str) -> EventType:
    """The registered event called ``name``; `UnknownEvent` if no app registered it."""
    try:
        return _registry[name]
    except (KeyError, TypeError):  # TypeError: an unhashable name
        known = ", ".join(_registry) or "none"
        raise UnknownEvent(f"Unknown event {name!r}. Registered events: {known}") from None


def event_types() -> tuple[EventType, ...]:
    """Every registered event, in registration order."""
    return tuple(_registry.values())


def subscribable_events() -> tuple[str, ...]:
    """The names a channel's ``events`` may list."""
    return tuple(name for name, e in _registry.items() if e.subscribable)


def event_choices() -> list[tuple[str, str]]:
    """(name, label) of every registered event: the choices of ``Delivery.event``.

    A callable, so the field (and its migration) never lists the apps' event names; migration
    0002 refers to it by this name.
    """
    return [(e.name, e.label) for e in _registry.values()]


# The one event notifications raises itself (`send_test`); registered by its AppConfig.
CHANNEL_TEST = EventType(TEST, "Test", required=("message",), subscribable=False)
