"""Credentials inside channel targets, and how they are shown: once in full, masked after.

A webhook or Apprise URL often *is* a credential: ``https://user:pass@…``, a Slack or Discord
token in the path, a Telegram bot token where the host would be, ``?token=…``. The create
response shows the target as sent (like a webhook's secret); every later view (API list,
detail and update responses, read-only keys included, the admin, logs, delivery errors)
shows `mask_target`'s form, where each part that may be secret reads ``****``:

- the user and password of the URL;
- every query value and the fragment;
- each path segment that looks like a token (16 characters or more, or 8 or more mixing
  letters and digits), and for Apprise the host part too when it is not a host name (the
  token-first services: ``slack://T…/B…/…``, ``tgram://123:ABC…/chat``).

The scheme, a real host and port, and short path words stay, so a person can tell channels
apart. `secret_parts` lists the hidden strings so that `redact` can scrub them from any text.
"""

import re

MASK = "****"

_SECRETISH_MIN = 16
_MIXED_MIN = 8


def _secretish(part: str) -> bool:
    if len(part) >= _SECRETISH_MIN:
        return True
    return (
        len(part) >= _MIXED_MIN
        and any(c.isdigit() for c in part)
        and any(c.isalpha() for c in part)
    )


def _looks_like_host(hostport: str) -> bool:
    host = hostport
    if host.startswith("["):
        return True
    if re.fullmatch(r".+:\d+", host):
        host = host.rsplit(":", 1)[0]
    return "." in host or host.lower() == "localhost"


def _split(target: str):
    """(scheme, userinfo, hostport, segments, query pairs, fragment) of a URL-shaped target,
    read the lenient way Apprise reads its URLs (a token where the host would be); None if it
    is not URL-shaped."""
    scheme, sep, rest = target.partition("://")
    if not sep:
        return None
    rest, _, fragment = rest.partition("#")
    rest, _, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    pairs = [pair.partition("=") for pair in query.split("&")] if query else []
    segments = path.split("/") if slash else None
    return scheme, (userinfo if at else None), hostport, segments, pairs, fragment


def _parts(kind: str, target: str) -> tuple[str, list[str]]:
    """The masked target and the secret strings it hid."""
    split = _split(target) if kind != "email" else None
    if split is None:
        return target, []
    scheme, userinfo, hostport, segments, pairs, fragment = split
    hidden: list[str] = []

    def hide(part: str) -> str:
        hidden.append(part)
        return MASK

    netloc = hostport
    # Only Apprise puts tokens where the host would be; webhooks and Alertmanagers name hosts.
    if kind == "apprise" and not _looks_like_host(hostport) and _secretish(hostport):
        netloc = hide(hostport)
    if userinfo is not None:
        user, colon, password = userinfo.partition(":")
        masked_user = hide(user) if user else ""
        masked_password = hide(password) if password else ""
        netloc = f"{masked_user}{colon and ':'}{masked_password}@{netloc}"
    masked = f"{scheme}://{netloc}"
    if segments is not None:
        masked += "/" + "/".join(hide(s) if _secretish(s) else s for s in segments)
    query = "&".join(f"{key}{eq}{hide(value) if value else ''}" for key, eq, value in pairs)
    if query:
        masked += f"?{query}"
    if fragment:
        masked += f"#{hide(fragment)}"
    return masked, hidden


def mask_target(kind: str, target: str) -> str:
    """``target`` with every part that may be a credential replaced by ``****``."""
    return _parts(kind, target)[0]


def secret_parts(kind: str, target: str) -> list[str]:
    """The strings of ``target`` that `mask_target` hides, longest first."""
    return sorted(set(_parts(kind, target)[1]), key=len, reverse=True)


def redact(text: str, *, kind: str, target: str) -> str:
    """``text`` (a log line, a library's error) with the target's secrets masked."""
    if not text:
        return text
    text = text.replace(target, mask_target(kind, target))
    for part in secret_parts(kind, target):
        if len(part) >= 3:
            text = text.replace(part, MASK)
    return text


class MaskedTarget(ValueError):
    """A target that still holds ``****`` from a masked view, other than that view exactly."""


MASKED_TARGET_SENT = (
    "The target contains a masked value (****). Send the whole target with its credentials "
    "to change it, or leave it out (or send the masked form unchanged) to keep the stored one."
)


def unmasked(kind: str, *, stored: str, sent: str) -> str:
    """The target to keep when an update sends ``sent``: the stored one when ``sent`` is the
    masked form shown for it (a GET body PUT back keeps the credentials), else ``sent``.
    `MaskedTarget` when ``sent`` holds a mask but is not that form: the real secret is not
    known, so nothing sensible can be stored."""
    if isinstance(sent, str) and sent.strip() == mask_target(kind, stored):
        return stored
    if isinstance(sent, str) and MASK in sent:
        raise MaskedTarget(MASKED_TARGET_SENT)
    return sent
