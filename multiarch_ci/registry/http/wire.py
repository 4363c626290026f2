"""HTTP/1.1 on urllib3 2.x: keep-alive pools per origin, HTTP and HTTPS proxies, TLS; one request, one hop.

Why urllib3 and not requests or bare http.client: urllib3 is the engine under requests and does what a
well-kept engine must (pools, dropped connections seen on every platform, chunked framing, CONNECT tunnels,
TLS in TLS for an HTTPS proxy, IPv6 in a tunnel). It costs about 0.1 ms more CPU per request than our own
http.client code did and about 50 ms to import (bench/results/http-engine.md); requests costs about 1 ms
more per request and hides what we must control. urllib3's own retries, redirects and decoding are off
(retries=False, redirect=False, preload_content=False, decode_content=False): transport.py retries and
follows redirects hop by hop, bodies.py reads with caps and decodes with a bound, deadline.py bounds each
whole request.
"""
from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from typing import Any, TypeVar, overload
from urllib.parse import urlsplit

from multiarch_ci.registry.http.engine_import import import_urllib3

import_urllib3()   # before any module of urllib3: without its HTTP/2 package's import-time costs

import urllib3  # noqa: E402
from urllib3.exceptions import HTTPError, InsecureRequestWarning, LocationParseError, SSLError  # noqa: E402
from urllib3.util.retry import Retry  # noqa: E402

from multiarch_ci.registry.http.connections import POOL_CLASSES, FramingError, TLSSetupError  # noqa: E402
from multiarch_ci.registry.http.deadline import Ticket, current  # noqa: E402
from multiarch_ci.registry.http.proxies import Proxy  # noqa: E402
from multiarch_ci.registry.http.trust import Contexts, Trust  # noqa: E402

# What a failure to connect or to read an answer raises: the socket's errors (resets, refusals, timeouts,
# failed lookups), http.client's (a malformed status line, a short chunk) and urllib3's wrappings of them.
BROKEN = (OSError, http.client.HTTPException, HTTPError)
BAD_URL = (http.client.InvalidURL, UnicodeError, LocationParseError)
NO_RETRIES = Retry(total=False, redirect=False)   # urllib3's own retries and redirects: off (one object, shared)
T = TypeVar("T")


class HandshakeFailed(Exception):
    """TLS with `host` could not be set up (untrusted certificate, not TLS at all, a broken handshake)."""

    def __init__(self, host: str, reason: str):
        super().__init__(reason)
        self.host, self.reason = host, reason

    @property
    def certificate(self) -> bool:
        """The server speaks TLS but its certificate was not trusted (or names another host)."""
        return "CERTIFICATE_VERIFY_FAILED" in self.reason or "hostname" in self.reason.lower()


class ProxyRefused(Exception):
    """A proxy that refused to open a tunnel for us (e.g. 407: its credentials were refused)."""


class Headers:
    """An answer's headers, by case-insensitive name; a name sent twice reads as its first value."""

    __slots__ = ("_h",)

    def __init__(self, headers: urllib3.HTTPHeaderDict):
        self._h = headers

    @overload
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...
    @overload
    def get(self, name: str, default: str | None) -> str | None: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self._h.getlist(name)
        return values[0] if values else default

    def __contains__(self, name: str) -> bool:
        return name in self._h

    def items(self) -> set[tuple[str, str]]:
        return self._h.items()


class Response:
    """A response: status, headers, the final URL; the body read through `read` (exactly as sent).

    `content`: the body, once the transport read it whole (every answer but a streamed one); `ticket`: a
    streamed answer's deadline, which its reader extends per piece and closes."""

    __slots__ = ("_conn", "_owner", "_resp", "content", "headers", "reason", "status_code", "ticket", "url")

    def __init__(self, resp: urllib3.BaseHTTPResponse, url: str):
        self.status_code, self.reason, self.url = resp.status, resp.reason, url
        self.headers = Headers(resp.headers)
        self.content: bytes = b""
        self.ticket: Ticket | None = None
        self._resp, self._conn, self._owner = resp, resp.connection, current()

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    def read(self, size: int) -> bytes:
        """Up to `size` bytes of the body exactly as sent (chunked framing removed, never decoded); a body
        that ends before its Content-Length raises (urllib3's IncompleteRead)."""
        resp = self._resp
        if self._conn is None and resp.connection is None:   # read to its end already
            return b""
        piece = resp.read(size, decode_content=False)
        if not piece or (resp.length_remaining == 0 and not resp.chunked):
            self._done()
        return piece

    def close(self) -> None:
        """Give the connection back when the body was read to its end (or has none), else close it."""
        resp = self._resp
        if resp.connection is not None:
            if resp.length_remaining == 0 and not resp.chunked:
                try:
                    resp.read(1, decode_content=False)    # an empty body: read its end, the pool gets it back
                except BROKEN:
                    pass
            if resp.connection is not None:
                resp.close()                               # unread bytes: the connection cannot be reused
                resp.release_conn()
        self._done()

    def _done(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and self._owner is not None:
            self._owner.release(conn)


class Engine:
    """Pools by (scheme, host, port, TLS setting), and a urllib3 ProxyManager per (proxy, TLS setting)."""

    def __init__(self, maxsize: int, user_agent: str, trust: Trust):
        self.maxsize, self.user_agent = maxsize, user_agent
        self.contexts = Contexts(trust)
        self._pools: dict[tuple, urllib3.HTTPConnectionPool] = {}
        self._proxied: dict[tuple, urllib3.ProxyManager] = {}
        self._lock = threading.Lock()

    def request(self, method: str, url: str, headers: dict, body: bytes | None, *, proxy: Proxy | None,
                verified: bool, connect_timeout: float, timeout: float) -> Response:
        """Send one request (no redirects followed, no retries) and read the status line and headers."""
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.hostname or ""
        h = {"User-Agent": self.user_agent, **headers}
        limits = urllib3.Timeout(connect=min(connect_timeout, timeout), read=max(timeout, 0.001))
        try:
            if proxy is None:
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                resp = self._pool(scheme, host, parts.port, verified).urlopen(
                    method, path, body=body, headers=h, retries=NO_RETRIES, redirect=False, assert_same_host=False,
                    timeout=limits, preload_content=False, decode_content=False)
            else:
                resp = self._manager(proxy, verified).urlopen(
                    method, url, body=body, headers=h, retries=NO_RETRIES, redirect=False, assert_same_host=False,
                    timeout=limits, preload_content=False, decode_content=False)
        except BROKEN as e:
            stage = _find(e, lambda x: x.stage if isinstance(x, TLSSetupError) else None)
            if stage == "server" and isinstance(e, SSLError):
                raise HandshakeFailed(parts.netloc, str(e)) from None
            if proxy is not None and stage == "proxy":
                raise ProxyRefused(f"TLS with the proxy {proxy.hostport} failed: {e}") from None
            refusal = _find(e, _refusal)
            if proxy is not None and refusal:
                raise ProxyRefused(f"the proxy {proxy.hostport} refused to connect to {parts.netloc}: "
                                   f"{refusal}") from None
            raise
        return Response(resp, url)

    def _tls(self, scheme: str, verified: bool) -> dict[str, Any]:
        if scheme != "https":
            return {}
        if verified:
            return {"ssl_context": self.contexts.get(True), "cert_reqs": "CERT_REQUIRED"}
        # Unverified TLS only for a registry the user named insecure: urllib3's warning (a Python warning,
        # printed on stderr at each connection) would say again, unmasked and outside our one-line format,
        # what the user asked for.
        urllib3.disable_warnings(InsecureRequestWarning)
        return {"ssl_context": self.contexts.get(False), "cert_reqs": "CERT_NONE", "assert_hostname": False}

    def _pool(self, scheme: str, host: str, port: int | None, verified: bool) -> urllib3.HTTPConnectionPool:
        key = (scheme, host, port, verified and scheme == "https")
        pool = self._pools.get(key)
        if pool is None:
            with self._lock:
                pool = self._pools.get(key)
                if pool is None:
                    pool = self._pools[key] = POOL_CLASSES[scheme](
                        host, port, maxsize=self.maxsize, block=False, retries=False, **self._tls(scheme, verified))
        return pool

    def _manager(self, proxy: Proxy, verified: bool) -> urllib3.ProxyManager:
        key = (proxy, verified)
        manager = self._proxied.get(key)
        if manager is None:
            with self._lock:
                manager = self._proxied.get(key)
                if manager is None:
                    # an https:// proxy: TLS with it verified against our trust (None, as when not given, for http://)
                    proxy_tls = self.contexts.get(True) if proxy.url.startswith("https:") else None
                    manager = urllib3.ProxyManager(proxy.url, num_pools=64, proxy_headers=proxy.headers(),
                                                   proxy_ssl_context=proxy_tls, maxsize=self.maxsize, block=False,
                                                   retries=False, **self._tls("https", verified))
                    manager.pool_classes_by_scheme = POOL_CLASSES   # our connections: deadlines, guarded reads
                    self._proxied[key] = manager
        return manager


def framing(e: BaseException) -> FramingError | None:
    """The broken framing inside a failure (not worth another try: the same bytes would come again)."""
    return _find(e, lambda x: x if isinstance(x, FramingError) else None)


def _refusal(x: BaseException) -> str | None:
    """'407 Proxy Authentication Required' when a proxy answered our CONNECT with a refusal."""
    text = str(x)
    return text.split(": ", 1)[1] if isinstance(x, OSError) and text.startswith("Tunnel connection failed: ") else None


def _find(e: BaseException, what: Callable[[BaseException], T | None]) -> T | None:
    """The first non-None what(x) for x in `e` and the exceptions it wraps (args, cause, context)."""
    todo, seen = [e], 0
    while todo and seen < 8:
        x = todo.pop(0)
        seen += 1
        found = what(x)
        if found is not None:
            return found
        todo += [a for a in getattr(x, "args", ()) if isinstance(a, BaseException)]
        todo += [c for c in (x.__cause__, x.__context__) if c is not None]
    return None
