"""HTTP/1.1 on the standard library's http.client: keep-alive connections per origin, proxies, TLS.

Why not requests or urllib3 (issue 15, bench/http_cpu.py, 1,000 keep-alive GETs on loopback): our
requests-based transport cost 1.70 ms of CPU per request, urllib3 directly 0.73, http.client 0.36; and
importing requests costs ~150 ms, urllib3 ~100 ms, http.client ~30 ms, where the whole start-up budget is
100 ms. What they did for us is here in a few lines: a pool of idle connections per (origin, proxy, TLS
setting), a dropped or dirty idle connection never reused, one TLS context per trust setting (the CA
bundle is loaded once), CONNECT tunnels through an HTTP proxy. Retries, redirects, deadlines and caps
stay in transport.py, deadline.py and bodies.py.
"""
from __future__ import annotations

import http.client
import select
import ssl
import threading
from base64 import b64encode
from urllib.parse import unquote, urlsplit

from multiarch_ci.registry.http.deadline import watched


class Response:
    """A response: status, headers (case-insensitive), the final URL; the body read through `read`."""

    __slots__ = ("status_code", "reason", "headers", "url", "content", "ticket", "_resp", "_conn", "_pool")

    def __init__(self, resp: http.client.HTTPResponse, url: str, conn, pool: Pool):
        self.status_code, self.reason, self.headers, self.url = resp.status, resp.reason, resp.headers, url
        self.content: bytes | None = None
        self.ticket = None
        self._resp, self._conn, self._pool = resp, conn, pool

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    def read(self, size: int) -> bytes:
        """Up to `size` bytes of the body exactly as sent (chunked framing removed, never decoded);
        IncompleteRead when the connection ends before the Content-Length (http.client itself only
        says so for a chunked body, and returns a short one quietly)."""
        resp = self._resp
        if resp.isclosed():
            return b""
        piece = resp.read(size)
        if not piece and resp.length:
            raise http.client.IncompleteRead(b"", resp.length)
        if resp.isclosed():           # the body's end: the connection goes back to the pool at once
            self.close()
        return piece

    def close(self) -> None:
        """Give the connection back when the body was read to its end, else close it."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        resp = self._resp
        done = resp.length == 0 or (resp.length is None and resp.isclosed())   # read to its end
        resp.close()
        if done and not resp.will_close and conn.sock is not None:
            self._pool.put(conn)
        else:
            conn.close()


class ProxyRefused(ValueError):
    """A proxy setting this client cannot use (e.g. SOCKS), or a proxy that refused to connect us."""


def _proxy_parts(proxy: str) -> tuple[str, int, dict]:
    """(host, port, headers for the proxy) of an http:// proxy URL (a bare host:port means http)."""
    p = urlsplit(proxy if "://" in proxy else "http://" + proxy)
    if p.scheme != "http" or not p.hostname:
        raise ProxyRefused(f"proxy {p.scheme}://{p.hostname or ''}: only http:// proxies are supported "
                           "(HTTPS is tunnelled through them with CONNECT)")
    headers = {}
    if p.username is not None:
        pair = f"{unquote(p.username)}:{unquote(p.password or '')}".encode()
        headers["Proxy-Authorization"] = "Basic " + b64encode(pair).decode()
    return p.hostname, p.port or 80, headers


def _dropped(conn) -> bool:
    """An idle connection the server closed, or that holds unread bytes (a body longer than announced)."""
    sock = conn.sock
    if sock is None:
        return True
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


class Pool:
    """Idle keep-alive connections by (scheme, host, port, proxy, TLS setting); thread-safe."""

    def __init__(self, maxsize: int, user_agent: str):
        self.maxsize, self.user_agent = maxsize, user_agent
        self._idle: dict[tuple, list] = {}
        self._contexts: dict[bool | str, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self._context_lock = threading.Lock()   # loading a CA bundle takes 35-90 ms: not under the pool's lock

    def context(self, verify: bool | str) -> ssl.SSLContext:
        """One TLS context per trust setting: True (the system's CAs), a CA file or folder, or False."""
        with self._context_lock:
            ctx = self._contexts.get(verify)
            if ctx is None:
                ctx = self._contexts[verify] = _context(verify)
            return ctx

    def put(self, conn) -> None:
        with self._lock:
            idle = self._idle.setdefault(conn.mm_key, [])
            if len(idle) < self.maxsize:
                idle.append(conn)
                return
        conn.close()

    def _get(self, key: tuple):
        with self._lock:
            idle = self._idle.get(key)
            while idle:
                conn = idle.pop()
                if not _dropped(conn):
                    return conn
                conn.close()
        return None

    def request(self, method: str, url: str, headers: dict, body: bytes | None, *, proxy: str | None,
                verify: bool | str, connect_timeout: float, timeout: float) -> Response:
        """Send one request (no redirects followed) and read the status line and headers."""
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        key = (scheme, host, port, proxy, verify if scheme == "https" else None)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        h = {"User-Agent": self.user_agent, **headers}
        conn = self._get(key)
        if conn is None:
            conn = self._new(key, proxy)
        conn.timeout = min(connect_timeout, timeout)
        try:
            if conn.sock is None:
                try:
                    conn.connect()
                except ssl.SSLError as e:
                    e.hop = url          # the handshake with this URL's host failed (not a TLS error later on)
                    raise
                except OSError as e:     # http.client's words for a CONNECT the proxy did not grant
                    if proxy and str(e).startswith("Tunnel connection failed"):
                        raise ProxyRefused(f"the proxy {conn.host}:{conn.port} refused to connect to "
                                           f"{host}:{port}: {str(e).split(': ', 1)[-1]}") from None
                    raise
            conn.sock.settimeout(timeout)
            if proxy and scheme == "http":          # a plain-HTTP request goes to the proxy whole
                path, h = url, {**h, **conn.mm_proxy_headers}
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
        except BaseException:
            conn.close()
            raise
        return Response(resp, url, conn, self)

    def _new(self, key: tuple, proxy: str | None):
        scheme, host, port, _, verify = key
        https = scheme == "https"
        to_host, to_port, proxy_headers = _proxy_parts(proxy) if proxy else (host, port, {})
        conn = watched(https)(to_host, to_port, **({"context": self.context(verify)} if https else {}))
        if proxy and https:
            conn.set_tunnel(host, port, headers=proxy_headers)
        conn.mm_key, conn.mm_proxy_headers = key, proxy_headers
        return conn


def _context(verify: bool | str) -> ssl.SSLContext:
    if verify is False:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        return ctx
    if isinstance(verify, str):
        import os
        if os.path.isdir(verify):
            return ssl.create_default_context(capath=verify)
        return ssl.create_default_context(cafile=verify)
    ctx = ssl.create_default_context()
    if not ctx.cert_store_stats().get("x509_ca"):   # no system CAs (e.g. a python.org build): certifi's
        try:
            import certifi
            ctx.load_verify_locations(cafile=certifi.where())
        except ImportError:
            pass
    return ctx
