"""Template filters for notification messages."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django import template

register = template.Library()


@register.filter
def in_zone(value, zone: str) -> str:
    """An instant (ISO string or aware datetime) as wall time in ``zone``, naming the zone.

    ``"2026-04-24T10:00:00Z"|in_zone:"Europe/Berlin"`` → ``Fri 24 Apr 2026, 12:00 CEST
    (Europe/Berlin)``: the abbreviation alone is ambiguous (CST), the IANA name alone is
    unfamiliar, so both.
    """
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = moment.astimezone(ZoneInfo(zone or "UTC"))
    text = local.strftime("%a %d %b %Y, %H:%M")
    abbreviation = local.tzname()
    if abbreviation == local.tzinfo.key:
        return f"{text} {abbreviation}"
    return f"{text} {abbreviation} ({local.tzinfo.key})"
