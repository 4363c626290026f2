"""Reading response bodies with a bound: every body is capped, and blob bytes are never decoded.

Caps: manifests 4 MiB, token answers 1 MiB, anything read only for a message (error bodies, the
/v2/ ping, the answer to a PUT) 64 KiB, the rest discarded unread (the connection is closed).
"""
from __future__ import annotations

import zlib

from multiarch_ci.core.errors import DigestMismatch, Kind, RegistryError
from multiarch_ci.registry.http.failures import short_reason
from multiarch_ci.registry.http.wire import BROKEN, framing

TOKEN_CAP = 1024 * 1024
MESSAGE_CAP = 64 * 1024


class BodyBroken(RegistryError):
    """The connection broke or the body came short: worth another try."""

    kind = Kind.BROKEN


_BROKEN = (*BROKEN, zlib.error)
_DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def _declared(resp) -> int | None:
    value = (resp.headers.get("Content-Length") or "").strip()
    return int(value) if value.isdigit() else None


def _decoded(resp, size: int):
    """The body content-decoded (gzip or deflate: what a registry may send unasked), in pieces; a
    decoder never yields more than `size` + 1 bytes per piece, so a small bomb cannot balloon."""
    wbits = _DECODERS.get(resp.headers.get("Content-Encoding", "").strip().lower())
    if wbits is None:
        yield from iter_raw(resp, size)
        return
    decoder = zlib.decompressobj(wbits)
    for piece in iter_raw(resp, size):
        data = piece
        while data:
            out = decoder.decompress(data, size + 1)
            yield out
            data = decoder.unconsumed_tail
    yield decoder.flush()


def read_capped(resp, cap: int, what: str) -> bytes:
    """Read a whole body (content-decoded, e.g. a gzip'd manifest), refusing more than `cap` bytes."""
    declared = _declared(resp)
    if declared is not None and declared > cap and not resp.headers.get("Content-Encoding"):
        resp.close()
        raise RegistryError(f"{what}: response of {declared} bytes exceeds the {cap}-byte limit",
                            status=resp.status_code)
    return _gather(resp, _decoded(resp, 65536), cap, what,
                   lambda: RegistryError(f"{what}: response exceeds the {cap}-byte limit", status=resp.status_code))


def _gather(resp, pieces, cap: int, what: str, too_big) -> bytes:
    """The pieces joined, refusing more than `cap` bytes as they arrive (`too_big()` is raised); a body
    that ends early (wire.Response.read: IncompleteRead) or a broken connection is BodyBroken."""
    chunks, total = [], 0
    try:
        for chunk in pieces:
            total += len(chunk)
            if total > cap:
                resp.close()
                raise too_big()
            chunks.append(chunk)
    except _BROKEN as e:
        unreadable(resp, e, what)
        problem = ("body truncated" if "IncompleteRead" in str(e) else "connection broke while reading the body")
        raise BodyBroken(f"{what}: {problem}: {short_reason(e)}", "rerunning is safe",
                         status=resp.status_code) from None
    return b"".join(chunks)


def unreadable(resp, e: BaseException, what: str) -> None:
    """Raise a final error when `e` is an answer framed so that no bound could read it (FramingError)."""
    broken = framing(e)
    if broken is not None:
        resp.close()
        raise RegistryError(f"{what}: the answer cannot be read: {broken}", "the registry, or a proxy on the "
                            "way, sent a malformed HTTP answer: report it to its operator",
                            status=resp.status_code) from None


def read_message(resp, cap: int = MESSAGE_CAP) -> bytes:
    """Up to `cap` bytes of a body we only need for a message; the rest is never read."""
    chunks, total = [], 0
    try:
        for chunk in iter_raw(resp, 8192):
            chunks.append(chunk)
            total += len(chunk)
            if total >= cap:
                break
    except _BROKEN:
        pass
    finally:
        resp.close()
    return b"".join(chunks)[:cap]


def iter_raw(resp, size: int):
    """The body exactly as sent (never content-decoded), in pieces of up to `size` bytes."""
    while True:
        piece = resp.read(size)
        if not piece:
            return
        yield piece


def is_encoded(resp) -> bool:
    return resp.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity")


def read_raw(resp, cap: int, what: str, too_big: type[RegistryError] = DigestMismatch) -> bytes:
    """A whole body as sent (blob bytes: never decoded), refusing more than `cap` bytes as it arrives."""
    declared = _declared(resp)
    if declared is not None and declared > cap:
        resp.close()
        raise too_big(f"{what}: the registry announces {declared} bytes, more than the {cap} expected",
                      status=resp.status_code)
    return _gather(resp, iter_raw(resp, 65536), cap, what,
                   lambda: too_big(f"{what}: more than the {cap} bytes expected arrived", status=resp.status_code))
