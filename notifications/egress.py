"""The one way out to a user-given target: which addresses a notification may reach, and HTTP
that connects only to an address it vetted.

A channel's target names a host; left alone, that host could be the database on loopback, a
service on the private network or the cloud's metadata endpoint (SSRF). So:

- `vet_url` runs when a target is created or changed: a metadata name, or a host that is or
  resolves to an address that is not globally routable, is refused (`TargetNotAllowed`). A
  name that does not resolve right now is accepted: DNS may be down, and the send checks
  again anyway.
- At send time every connection made inside `guard()` resolves the host once, vets every
  address and connects to a vetted one, by number: there is no second lookup an attacker's
  DNS could answer differently (rebinding). Redirects are not followed inside the guard.
  `post` is the HTTP helper for our own senders (webhooks, and any sender added later);
  Apprise's plugins are run inside `guard()`, which covers whatever host they talk to.

How the guard reaches Apprise: its plugins call ``requests`` themselves, so we cannot hand
them a session. `install()` (from ``AppConfig.ready``) wraps the two seams every requests call
goes through, urllib3's ``create_connection`` and ``Session.get_redirect_target``; outside a
`guard()` block both behave exactly as before, inside it they apply the rules above. A
context variable carries the guard, so threads and Apprise's workers (which copy the context)
each see their own.

``NOTIFICATIONS_ALLOW_PRIVATE_TARGETS`` lifts the address rule (on-premises receivers); the
cloud metadata names and addresses stay refused whatever it says: no notification receiver
lives there. An HTTP proxy from the environment is reached like any target, so behind one the
proxy's own address must pass (or the setting be on) and the proxy guards the rest.
"""

import contextvars
import ipaddress
import logging
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import urllib3.util.connection
from django.conf import settings
from django.utils.translation import gettext, gettext_noop

# The guard's outcomes are kept in English (the code compares them) and translated where they
# are shown (`shown`, `Guard.describe`): a send test answers in the language of its request.
NOT_ALLOWED = gettext_noop("target address not allowed")
CANNOT_RESOLVE = gettext_noop("Cannot resolve the host")
TIMED_OUT = gettext_noop("Timed out")
REFUSED = gettext_noop("Connection refused")
FAILED = gettext_noop("Connection failed")


def shown(outcome: str) -> str:
    """An outcome of the guard, in the active language."""
    return gettext(outcome)


# Names that answer with the cloud's instance metadata (credentials!) from inside a VM.
METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
        "metadata.platformequinix.com",
    }
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean, ...
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
    )
)
# IPv6 forms that carry an IPv4 address a host would reach: 64:ff9b::/96 (NAT64).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class TargetNotAllowed(Exception):
    """The target names a host we may not reach. Not an OSError on purpose: urllib3 and
    requests wrap those into connection errors, this one reaches the caller as it is."""

    def __init__(self, reason: str = NOT_ALLOWED):
        super().__init__(reason)
        self.reason = reason


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:  # ::ffff:127.0.0.1
        return address.ipv4_mapped
    if address.sixtofour is not None:  # 2002:7f00:1::
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0 and int(address) > 1:  # ::127.0.0.1, the old "compatible" form
        return ipaddress.IPv4Address(int(address))
    return None


def address_allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """May a notification connect to this address? Only globally routable unicast ones, unless
    the operator allowed private targets; never a cloud metadata endpoint."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            address = ipaddress.IPv6Address(str(address).split("%", 1)[0])
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return address_allowed(embedded)
    if address in METADATA_ADDRESSES:
        return False
    if settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS:
        return True
    # is_global leaves out loopback, private, link-local, CGNAT (100.64/10), unique-local,
    # unspecified, reserved and documentation ranges; multicast needs its own test.
    return address.is_global and not address.is_multicast


def _bare_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _literal(host: str):
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_host(host: str) -> None:
    """Refuse a metadata name or an address literal that is not allowed (no DNS lookup)."""
    bare = _bare_host(host)
    if bare in METADATA_NAMES:
        raise TargetNotAllowed
    literal = _literal(bare)
    if literal is not None and not address_allowed(literal):
        raise TargetNotAllowed


def resolve(host: str, port: int) -> list[tuple]:
    """Every address ``host`` resolves to, each vetted; TargetNotAllowed if any one is not
    allowed (a name that answers with a public and a private address is not trusted), and
    ``socket.gaierror`` when it does not resolve. Returns getaddrinfo's tuples."""
    check_host(host)
    infos = socket.getaddrinfo(_bare_host(host), port, 0, socket.SOCK_STREAM)
    for *_, sockaddr in infos:
        if not address_allowed(ipaddress.ip_address(sockaddr[0])):
            raise TargetNotAllowed
    return infos


def vet_url(url: str) -> None:
    """At creation or update: refuse a URL whose host may not be reached.

    Numeric spellings (``2130706433``, ``0x7f.1``, ``127.1``) are read by the resolver the way
    a connection would read them. A name that does not resolve now passes; sending checks it
    again.
    """
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return  # not a URL we can read: the transport's own validation says so
    if host:
        vet_host(host, port or 0)


def vet_host(host: str, port: int = 0) -> None:
    """`vet_url` for a bare host name or address."""
    try:
        resolve(host, port)
    except (socket.gaierror, UnicodeError, OSError):
        return


# --- The guard -------------------------------------------------------------------------------


@dataclass
class Guard:
    """What happened inside one `guard()` block, in words safe to show a client: the last
    connection's outcome and the last HTTP status seen."""

    outcome: str | None = None
    status: int | None = None
    # Masks the target's credentials in what requests, urllib3 and Apprise log meanwhile
    # (urllib3 logs each request line, query string included, at DEBUG).
    redact: Callable[[str], str] | None = None

    def describe(self) -> str | None:
        """In the active language."""
        if self.outcome == NOT_ALLOWED:
            return shown(NOT_ALLOWED)
        if self.status is not None and not 200 <= self.status < 300:
            return gettext("Received status code %(status)s") % {"status": self.status}
        return shown(self.outcome) if self.outcome else None


_current: contextvars.ContextVar[Guard | None] = contextvars.ContextVar("egress", default=None)


@contextmanager
def guard(*, redact: Callable[[str], str] | None = None) -> Iterator[Guard]:
    """Connections made by requests in this block go only to vetted addresses, and no
    redirect is followed; ``redact`` scrubs the libraries' log lines meanwhile."""
    state = Guard(redact=redact)
    token = _current.set(state)
    try:
        yield state
    finally:
        _current.reset(token)


_original_create_connection = urllib3.util.connection.create_connection
_original_get_redirect_target = requests.Session.get_redirect_target


def _guarded_create_connection(address, *args, **kwargs):
    state = _current.get()
    if state is None:
        return _original_create_connection(address, *args, **kwargs)
    host, port = address
    try:
        infos = resolve(host, port)
    except TargetNotAllowed:
        state.outcome = NOT_ALLOWED
        raise
    except (socket.gaierror, UnicodeError) as exc:
        state.outcome = CANNOT_RESOLVE
        raise socket.gaierror(str(exc)) from None
    error: OSError | None = None
    for *_, sockaddr in infos:
        try:
            # By number: the address vetted above is the one connected to. TLS still checks
            # the certificate against the host name (urllib3 keeps it for SNI).
            sock = _original_create_connection((sockaddr[0], port), *args, **kwargs)
        except TimeoutError as exc:
            state.outcome, error = TIMED_OUT, exc
        except ConnectionRefusedError as exc:
            state.outcome, error = REFUSED, exc
        except OSError as exc:
            state.outcome, error = FAILED, exc
        else:
            state.outcome = None
            return sock
    raise error or OSError("no address")


def _guarded_get_redirect_target(self, resp):
    state = _current.get()
    if state is None:
        return _original_get_redirect_target(self, resp)
    state.status = resp.status_code
    return None  # inside the guard a redirect is an answer, never followed


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        state = _current.get()
        if state is not None and state.redact is not None:
            record.msg, record.args = state.redact(record.getMessage()), ()
        return True


# Filters apply to the records of the logger they sit on, not its children: each by name.
_LIBRARY_LOGGERS = ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry", "apprise")
_redacting_filter = _RedactingFilter()


def install() -> None:
    """Put the guard into requests and urllib3 (idempotent; inert outside `guard()`)."""
    urllib3.util.connection.create_connection = _guarded_create_connection
    requests.Session.get_redirect_target = _guarded_get_redirect_target
    for name in _LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if _redacting_filter not in logger.filters:
            logger.addFilter(_redacting_filter)


class ConnectionFailed(requests.ConnectionError):
    """No answer from the target; ``outcome`` says why in words safe to show a client
    ("Connection refused", "Cannot resolve the host"; English, `shown` translates it), never
    the socket's own text."""

    def __init__(self, outcome: str):
        super().__init__(outcome)
        self.outcome = outcome


def request(
    method: str,
    url: str,
    *,
    timeout: float,
    data: bytes | None = None,
    headers: dict | None = None,
    redact: Callable[[str], str] | None = None,
) -> requests.Response:
    """One HTTP request to a user-given URL: vetted, pinned, never redirected.

    Raises TargetNotAllowed, ``requests.Timeout``, `ConnectionFailed`, or another
    ``requests.RequestException`` (a TLS error, a broken answer).
    """
    with guard(redact=redact) as state:
        try:
            return requests.request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            raise
        except requests.ConnectionError as exc:
            if state.outcome:
                raise ConnectionFailed(state.outcome) from exc
            raise


def post(
    url: str,
    *,
    data: bytes,
    headers: dict,
    timeout: float,
    redact: Callable[[str], str] | None = None,
) -> requests.Response:
    """`request` with POST (webhooks)."""
    return request("POST", url, data=data, headers=headers, timeout=timeout, redact=redact)
