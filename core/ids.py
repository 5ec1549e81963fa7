"""Opaque ids for the v1 resources (`plan_…`, `chan_…`).

Imports nothing of ours, so every app can use it without depending on another.
"""

import secrets


def new_id(prefix: str) -> str:
    """An opaque, URL-safe, unguessable id such as ``plan_Xa3…`` (128 random bits)."""
    return f"{prefix}_{secrets.token_urlsafe(16)}"
