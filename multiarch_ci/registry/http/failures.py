"""How failures read: Retry-After values, the short reason inside a wrapped exception, a failed lookup."""
from __future__ import annotations

import email.utils
import re


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Parse Retry-After: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


# How a failed name lookup reads (glibc, musl, macOS, Windows): the host does not exist for us.
NO_SUCH_HOST = ("Name or service not known", "nodename nor servname", "Temporary failure in name resolution",
                "No address associated with hostname", "getaddrinfo failed", "Name does not resolve")


_REASONS = (r"\[SSL: [A-Z_]+\][^'\")(]*", r"\[Errno -?\d+\][^'\")]*", r"Read timed out", r"timed out",
            r"Connection reset by peer", r"RemoteDisconnected\('[^']*'\)", r"IncompleteRead\([^)]*\)",
            r"Connection aborted")


def short_reason(e: Exception) -> str:
    """The reason inside urllib3's wrapping ('[SSL: CERTIFICATE_VERIFY_FAILED] …', '[Errno 111] …')."""
    text = str(e)
    for pattern in _REASONS:
        m = re.search(pattern, text)
        if m:
            return m.group(0).strip(" .,")
    return text if len(text) < 200 else text[:200] + "…"


def failure_name(e: BaseException) -> str:
    """The name of the failure inside the engine's wrappings ('ConnectionResetError', not 'ProtocolError')."""
    for _ in range(4):
        inner = next((a for a in e.args if isinstance(a, BaseException)), None) or e.__cause__
        if inner is None:
            break
        e = inner
    return type(e).__name__
