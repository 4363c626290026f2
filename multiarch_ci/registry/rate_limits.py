"""A spent rate-limit quota, as the client reports it: the error and the window's words.

The headers are read in registry/http/quota.py (the transport needs them to stop retrying at once).
"""
from __future__ import annotations

from multiarch_ci.core.errors import Kind, RegistryError


def window_text(seconds: int | None) -> str:
    if not seconds:
        return "the registry's window"
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds} s"


class QuotaSpent(RegistryError):
    """A 429 whose RateLimit-Remaining is 0: no use retrying or waiting within this run."""

    kind = Kind.DENIED
