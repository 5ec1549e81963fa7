"""The one JSON parser of both API versions, and the limits every body is held to.

Beyond well-formed JSON, a body must not nest deeper than `MAX_JSON_DEPTH` (Python's parser
would otherwise hit its recursion limit, a 500), and no string in it, key or value, may hold
a NUL (PostgreSQL refuses it in text) or a lone UTF-16 surrogate such as `"\\ud800"` (not
Unicode: nothing can store it or even print the message that echoes it). Each is a 400 that
names the field, before any serializer sees the value.
"""

from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 64


class NestedTooDeep(ParseError):
    """A body nested past `MAX_JSON_DEPTH`; its message is shown (other parse errors are not)."""

    default_detail = format_lazy(
        gettext_lazy("Request body is nested too deeply (at most {levels} levels)"),
        levels=MAX_JSON_DEPTH,
    )


def printable(text: str) -> str:
    """`text` with lone surrogates and NULs escaped, so that a message quoting it renders."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def string_problem(text: str) -> str | None:
    """What is wrong with a JSON string as text we store, or None."""
    if "\x00" in text:
        return gettext("must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return gettext("must be valid Unicode text (it contains a lone surrogate)")
    return None


def check_json_value(data) -> None:
    """Depth and strings of a parsed body, walked without recursion; the first problem raises."""
    stack = [(data, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise NestedTooDeep()
        if isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{printable(key)}" if path else printable(key)
                problem = string_problem(key)
                if problem:
                    raise ValidationError(
                        {
                            name: [
                                (
                                    gettext("%(name)s: the key %(problem)s")
                                    % {"name": name, "problem": problem}
                                )
                            ]
                        }
                    )
                stack.append((item, name, depth + 1))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                stack.append((item, f"{path}[{index}]", depth + 1))
        elif isinstance(value, str):
            problem = string_problem(value)
            if problem:
                field = path or "body"
                raise ValidationError({field: [f"{field} {problem}"]})


class AnyContentTypeJSONParser(JSONParser):
    """Read every request body as JSON, whatever its Content-Type.

    Clients (Kener's included) send JSON with missing or odd content types; anything that is
    not JSON then gets the spec's 400 "Invalid JSON body" rather than a 415.
    """

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise NestedTooDeep() from None
        check_json_value(data)
        return data
