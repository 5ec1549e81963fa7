"""Rate limits of the API, counted in Django's cache (shared by every web process when the
cache is Redis or the database; see README "Security").

- Failed authentications per client address (`AUTH_FAILURE_RATE`, e.g. `20/min`): past the
  rate, a request with a bad key is answered 429 with `Retry-After` instead of 401. Only
  failures count and only failures are refused, so a valid key from the same address (a
  gateway in front of many devices) is never slowed by someone guessing beside it.
- Requests per API key (`API_KEY_RATE`, e.g. `600/min`; off by default so that meter
  ingestion is never throttled by surprise).

Both are fixed windows: the count of the current period, reset when the period ends.
"""

import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext
from rest_framework import exceptions, throttling

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """`"20/min"` → (20, 60); None or "" → None (no limit)."""
    if not rate:
        return None
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[:1]]


def _count_in_window(key: str, period: int) -> tuple[int, int]:
    """Adds one to this window's counter; returns (count, seconds until the window ends)."""
    now = time.time()
    window = int(now // period)
    cache_key = f"throttle:{key}:{window}"
    cache.add(cache_key, 0, timeout=period + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=period + 1)
        count = 1
    return count, max(1, int((window + 1) * period - now + 0.999))


def client_address(request) -> str:
    """The caller's address: REMOTE_ADDR, or X-Forwarded-For as far as `NUM_PROXIES` trusts."""
    return throttling.BaseThrottle().get_ident(request)


def count_failed_authentication(request) -> None:
    """Called on every refused key; raises 429 once the address is past its rate."""
    rate = parse_rate(settings.AUTH_FAILURE_RATE)
    if rate is None:
        return
    limit, period = rate
    count, wait = _count_in_window(f"authfail:{client_address(request)}", period)
    if count > limit:
        raise exceptions.Throttled(wait=wait, detail=gettext("Too many failed authentications."))


class ApiKeyRateThrottle(throttling.BaseThrottle):
    """`API_KEY_RATE` requests per key and period; sessions and unlimited setups pass."""

    def allow_request(self, request, view) -> bool:
        rate = parse_rate(settings.API_KEY_RATE)
        key_id = getattr(request.user, "key_id", None)  # an ApiKeyPrincipal
        if rate is None or key_id is None:
            return True
        limit, period = rate
        count, wait = _count_in_window(f"key:{key_id}", period)
        if count > limit:
            # Raised here rather than left to DRF's default, so that the words are ours
            # (DRF's English, with a Spanish of our own: DRF's reads "fue regulada (throttled)").
            raise exceptions.Throttled(wait=wait, detail=gettext("Request was throttled."))
        return True
