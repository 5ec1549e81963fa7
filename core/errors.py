"""Domain errors that services raise; the API's exception handler turns each into the envelope.

This module imports nothing of ours, so every app may raise these without depending on another.
"""

from typing import Any


class DomainError(Exception):
    """Base class: an expected failure with a client-facing message."""

    status_code = 400
    code = "BAD_REQUEST"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(DomainError):
    """The request is well-formed but a field's value is not acceptable (400)."""

    def __init__(self, message: str, *, field: str | None = None, details: dict | None = None):
        if field and not details:
            details = {field: [message]}
        super().__init__(message, details=details)
        self.field = field


class NotFound(DomainError):
    """An id in the path or the body names nothing (404)."""

    status_code = 404
    code = "NOT_FOUND"


class Conflict(DomainError):
    """Valid, but not in the object's current state: pausing a paused plan (409)."""

    status_code = 409
    code = "CONFLICT"


def summary_message(details: dict[str, list[str]]) -> str:
    """The first message, naming its field when the message itself does not."""
    field, messages = next(iter(details.items()))
    message = messages[0]
    if field == "non_field_errors":
        return message
    leaf = field.rsplit(".", 1)[-1].split("[", 1)[0]
    if leaf in message or field in message:
        return message
    return f"{field}: {message}"
