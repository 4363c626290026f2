"""Rate-limit headers (Docker Hub's ``RateLimit-Limit: 100;w=21600``): is retrying pointless?

Docker Hub counts pulls per window and says so in ``RateLimit-Limit`` / ``RateLimit-Remaining``
(https://docs.docker.com/docker-hub/usage/pulls/); a 429 with nothing remaining will not clear in
the seconds a backoff waits, so the transport gives up at once (and registry/rate_limits.py's hint names
the window).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Protocol

    class Headers(Protocol):
        """What is read of a response's headers: a case-insensitive header map, or a dict."""

        def get(self, name: str, /) -> str | None: ...

        def items(self) -> Iterable[tuple[str, str]]: ...

_VALUE = re.compile(r"\s*(\d+)\s*(?:;\s*w\s*=\s*(\d+))?")


@dataclass(frozen=True, slots=True)
class RateLimit:
    limit: int | None
    remaining: int | None
    window: int | None           # seconds
    source: str | None           # docker-ratelimit-source: the IP or account counted

    @property
    def spent(self) -> bool:
        return self.remaining == 0


def _parse(value: str | None) -> tuple[int | None, int | None]:
    m = _VALUE.match(value or "")
    return (int(m[1]), int(m[2]) if m[2] else None) if m else (None, None)


def rate_limit(headers: Headers) -> RateLimit | None:
    """The RateLimit-* headers of a response, or None when it has none."""
    limit, remaining = headers.get("RateLimit-Limit"), headers.get("RateLimit-Remaining")
    if limit is None and remaining is None:
        return None
    (lim, w1), (rem, w2) = _parse(limit), _parse(remaining)
    return RateLimit(lim, rem, w1 or w2, headers.get("Docker-RateLimit-Source"))


def quota_spent(headers: Headers) -> bool:
    """True when the registry says no requests remain in the current window."""
    rl = rate_limit(headers)
    return bool(rl and rl.spent)
