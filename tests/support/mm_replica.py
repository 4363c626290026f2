"""A lagging read replica, emulated in the fault proxy: reads of a tag answer what it held `lag` seconds ago.

Registries behind a CDN or with read replicas (object storage with eventual consistency, a geo-replicated
registry) may answer a GET/HEAD of a tag with the manifest it named before a recent PUT, for a while.
`lagging_replica(lag, registry)` is a `mm_faults.Fault` for a rule on one tag's manifest path: a PUT goes
through (and is remembered with its time); a GET or HEAD answers the newest version written at least `lag`
seconds ago (or what the tag held before the first PUT seen, or 404), with its Content-Type and
Docker-Content-Digest, as a lagging replica would.
"""
from __future__ import annotations

import threading
import time
import urllib.parse

import mm_images
from mm_faults import MANIFEST_UNKNOWN, Exchange, Fault
from mm_registry import RunningRegistry

_ABSENT = None


def lagging_replica(lag: float, registry: RunningRegistry) -> Fault:
    """Reads of the matched tag see the state of `lag` seconds ago; writes land at once (upstream `registry`)."""
    lock = threading.Lock()
    history: list[tuple[float, tuple[bytes, str] | None]] = []   # (time written, (body, media type) or absent)

    def before_first_put(path: str) -> None:
        """What the tag held before any PUT through the proxy: the first entry, timed in the far past."""
        repo, _, tag = path.removeprefix("/v2/").rpartition("/manifests/")
        got = mm_images.client(registry).request("GET", repo, f"/v2/{repo}/manifests/{tag}",
                                                 headers={"Accept": ", ".join(mm_images.ALL_MANIFEST_TYPES)})
        history.append((float("-inf"), (got.content, got.headers["Content-Type"]) if got.status_code == 200
                        else _ABSENT))

    def action(ex: Exchange) -> None:
        path = urllib.parse.urlsplit(ex.target).path
        if ex.method == "PUT":
            data = b"".join(ex.body())
            ex.body = lambda: iter((data,))      # the forward sends the bytes read here
            with lock:
                if not history:
                    before_first_put(path)
            code, reason, headers, body = ex.fetch()
            if code == 201:
                with lock:
                    history.append((time.monotonic(), (data, ex.headers.get("Content-Type", ""))))
            ex.send_head(code, reason, headers)
            ex.send(body)
            return
        if ex.method not in ("GET", "HEAD"):
            return ex.forward()
        with lock:
            seen = [state for when, state in history if when <= time.monotonic() - lag]
            caught_up = not history or len(seen) == len(history)
        if caught_up:
            return ex.forward()
        if seen[-1] is _ABSENT:
            return ex.respond(404, {"Content-Type": "application/json"}, MANIFEST_UNKNOWN)
        body, media_type = seen[-1]
        ex.respond(200, {"Content-Type": media_type, "Docker-Content-Digest": mm_images.sha256_digest(body)}, body)

    return Fault(f"lagging_replica({lag})", action)
