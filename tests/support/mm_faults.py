"""Fault-injecting HTTP reverse proxy in front of a :class:`RunningRegistry` (loopback only).

``FaultProxy(registry)`` listens on ``127.0.0.1:<free port>`` (plain HTTP, daemon threads) and
forwards every request to the registry: method, target, headers (``Host`` becomes the upstream
host) and the body, streamed (``Content-Length`` or chunked).  Responses come back streamed with
status, headers and body; ``Location`` / ``Link`` / ``Content-Location`` values naming the
upstream are rewritten to the proxy so upload sessions stay on it.  ``WWW-Authenticate`` is left
untouched (token realms are separate servers).  Every response carries ``Connection: close``:
one request per client connection, so a fault never leaks into the next request.

Rules pick faults.  Every rule whose method and path regex match counts that request as its
Nth attempt; the first rule whose ``on_attempts`` accepts its N applies its fault::

    proxy.add_rule(method="GET", path=r"/manifests/v1$", on_attempts={1, 2}, fault=status(503))
    proxy.add_rule(path=r"/blobs/", fault=reset_mid_body())

A fault is ``Fault(name, action)``; ``action(exchange)`` drives an :class:`Exchange` (``forward``,
``fetch``, ``respond``, ``send_head``/``send``, ``reset``, ...), so tests can write their own.
``proxy.seen`` holds ``Seen(method, path, status, headers)`` per request received (``status`` is
set before the response goes out, ``None`` if none was sent); ``proxy.count()`` filters it.
"""
from __future__ import annotations

import email.utils
import http.client
import ipaddress
import json
import re
import socket
import ssl
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import NamedTuple

from requests.structures import CaseInsensitiveDict

from mm_registry import RunningRegistry

_CHUNK = 64 * 1024
_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "expect",
        "transfer-encoding", "content-length"}           # headers the proxy frames itself
MANIFEST_UNKNOWN = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'


def _loopback(host: str) -> str:
    """``host`` ("IP:PORT") if it is a loopback address, else ValueError."""
    name = host.rsplit(":", 1)[0].strip("[]")
    if name != "localhost" and not ipaddress.ip_address(name).is_loopback:
        raise ValueError(f"{host!r} is not a loopback address")
    return host


class Seen(NamedTuple):
    method: str
    path: str                       # path + query as received
    status: int | None              # status sent; None if the connection died first
    headers: CaseInsensitiveDict    # request headers as received


@dataclass
class Fault:
    """``action(exchange)`` handles a matched request; ``attempts``: default ``on_attempts``."""
    name: str
    action: Callable[[Exchange], None]
    attempts: object = None


@dataclass(eq=False)
class Rule:
    methods: frozenset | None
    path: re.Pattern | None
    fault: Fault
    on_attempts: object = None      # set of 1-based attempts, callable(n) -> bool, None = all
    hits: int = 0                   # matching requests so far
    fired: int = 0                  # ... of which got the fault


class Exchange:
    """One request on one client connection, plus the primitives faults are built from."""

    def __init__(self, proxy: FaultProxy, sock: socket.socket):
        self.proxy, self.sock, self.attempt, self.closed = proxy, sock, 0, False
        self.rfile, self._conn, self._consumed = sock.makefile("rb"), None, False
        try:
            parts = self.rfile.readline(65537).decode("latin-1").split()
            if len(parts) != 3 or not parts[2].startswith("HTTP/"):
                raise EOFError("no HTTP request line")  # e.g. a TLS hello from a client trying HTTPS first
            self.method, self.target, _ = parts
            self.raw_headers = list(http.client.parse_headers(self.rfile).items())
        except BaseException:
            self.rfile.close()                            # else sock.close() is deferred
            raise
        self.headers = CaseInsensitiveDict()
        for k, v in self.raw_headers:
            self.headers[k] = f"{self.headers[k]}, {v}" if k in self.headers else v
        self.chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        self.record = Seen(self.method, self.target, None, self.headers)
        with proxy._lock:
            proxy.seen.append(self.record)
        if self.headers.get("Expect", "").lower() == "100-continue":
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

    def body(self):
        """Yield the request body (de-chunked) in pieces; only the first call yields anything."""
        if self._consumed:
            return
        self._consumed = True
        sizes = iter(lambda: int(self.rfile.readline(1024).split(b";")[0], 16), 0) \
            if self.chunked else [int(self.headers.get("Content-Length") or 0)]
        for size in sizes:
            while size > 0:
                data = self.rfile.read(min(size, _CHUNK))
                if not data:
                    raise EOFError("client closed mid-body")
                size -= len(data)
                yield data
            if self.chunked:
                self.rfile.readline(16)                   # CRLF after the chunk
        while self.chunked and self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
            pass                                          # trailers

    def drain(self) -> None:
        for _ in self.body():
            pass

    def _upstream(self) -> http.client.HTTPResponse:
        conn = self._conn = self.proxy._connect()
        conn.putrequest(self.method, self.target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", self.proxy.upstream.host)
        for k, v in self.raw_headers:
            if k.lower() not in _HOP | {"host"}:
                conn.putheader(k, v)
        if self.chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        elif "Content-Length" in self.headers:
            conn.putheader("Content-Length", self.headers["Content-Length"])
        conn.endheaders()
        for data in self.body():
            conn.send(b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data)
        if self.chunked:
            conn.send(b"0\r\n\r\n")
        return conn.getresponse()

    def _response_headers(self, resp) -> list[tuple[str, str]]:
        up, mine, out = self.proxy.upstream.host, self.proxy.url, []
        for k, v in resp.getheaders():
            if k.lower() in ("location", "link", "content-location"):
                v = v.replace(f"http://{up}", mine).replace(f"https://{up}", mine)
            if k.lower() not in _HOP:
                out.append((k, v))
        return out

    def fetch(self) -> tuple[int, str, list[tuple[str, str]], bytes]:
        """Forward the request; the whole upstream ``(status, reason, headers, body)``, with
        ``Content-Length`` = body length (the upstream value for HEAD)."""
        resp = self._upstream()
        body = resp.read()
        length = resp.getheader("Content-Length") if self.method == "HEAD" else str(len(body))
        headers = self._response_headers(resp) + ([("Content-Length", length)] if length else [])
        return resp.status, resp.reason, headers, body

    def forward(self) -> None:
        """Pass-through: forward the request and stream the upstream response back."""
        resp = self._upstream()
        headers, length = self._response_headers(resp), resp.getheader("Content-Length")
        if resp.chunked:
            headers.append(("Transfer-Encoding", "chunked"))
        elif length is not None:
            headers.append(("Content-Length", length))
        self.send_head(resp.status, resp.reason, headers)
        if self.method == "HEAD" or resp.status in (204, 304):
            return
        while data := resp.read(_CHUNK):
            self.send(b"%x\r\n%s\r\n" % (len(data), data) if resp.chunked else data)
        if resp.chunked:
            self.send(b"0\r\n\r\n")

    def send_head(self, code: int, reason: str | None, headers) -> None:
        """Record ``code`` in ``seen``; send status line, ``headers`` and ``Connection: close``."""
        self.proxy._set_status(self.record, code)
        lines = [f"HTTP/1.1 {code} {reason or http.client.responses.get(code, 'Unknown')}"]
        lines += [f"{k}: {v}" for k, v in headers if k.lower() not in ("connection", "keep-alive")]
        self.send("\r\n".join(lines + ["Connection: close", "", ""]).encode("latin-1"))

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def respond(self, code: int, headers: dict | None = None, body: bytes = b"") -> None:
        """A complete response made up by the proxy (the upstream is not contacted)."""
        hdrs = [(k, str(v)) for k, v in (headers or {}).items() if k.lower() != "content-length"]
        self.send_head(code, None, hdrs + [("Content-Length", str(len(body)))])
        if self.method != "HEAD":
            self.send(body)

    def wait(self, seconds: float) -> None:
        """Sleep ``seconds``; raise at once if the proxy is stopping."""
        if self.proxy._stopping.wait(seconds):
            raise EOFError("proxy stopping")

    def reset(self) -> None:
        """Abort the client connection: TCP RST (SO_LINGER 0), no FIN."""
        self.close(abort=True)

    def close(self, abort: bool = False) -> None:
        """Close the upstream connection and (orderly, FIN after what was sent) the client's."""
        if self._conn is not None:
            self.proxy._untrack(self._conn.sock)
            self._conn.close()
            self._conn = None
        if self.closed:
            return
        self.closed = True
        try:
            self.rfile.close()
            if abort:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.sock.close()


def status(code: int, headers: dict | None = None, body: bytes = b"") -> Fault:
    """Answer ``code`` with ``headers``/``body`` (request body drained, upstream untouched)."""
    def action(ex: Exchange) -> None:
        ex.drain()
        ex.respond(code, headers, body)
    return Fault(f"status({code})", action)


def retry_after_date(seconds: float) -> str:
    """An HTTP-date ``seconds`` from now, for ``Retry-After``."""
    return email.utils.formatdate(time.time() + seconds, usegmt=True)


def not_found_until(n: int) -> Fault:
    """404 ``MANIFEST_UNKNOWN`` (registry JSON) on the first ``n`` attempts, then pass-through."""
    action = status(404, {"Content-Type": "application/json"}, MANIFEST_UNKNOWN).action
    return Fault(f"not_found_until({n})", action, attempts=lambda k: k <= n)


def paginate_tags() -> Fault:
    """Serve GET .../tags/list in pages as distribution v3 and hosted registries do (n, last, Link).

    Distribution 2.8 ignores ``n`` and returns every tag; this pages the real list so a client's
    ``Link: <...>; rel="next"`` handling is exercised against real data.
    """
    def action(x: Exchange) -> None:
        path, _, query = x.target.partition("?")
        params = dict(urllib.parse.parse_qsl(query))
        code, _reason, _headers, body = x.fetch()  # upstream 2.8 ignores n/last: the whole list
        if code != 200:
            return x.respond(code, {"Content-Type": "application/json"}, body)
        doc = json.loads(body)
        tags = sorted(doc.get("tags") or [])
        if params.get("last"):
            tags = [t for t in tags if t > params["last"]]
        n = int(params.get("n") or 100)
        page, more = tags[:n], len(tags) > n
        extra = {"Content-Type": "application/json"}
        if more:
            extra["Link"] = f'<{path}?n={n}&last={urllib.parse.quote(page[-1])}>; rel="next"'
        x.respond(200, extra, json.dumps({"name": doc.get("name"), "tags": page}).encode())
    return Fault("paginate_tags", action)


def reset_before() -> Fault:
    """RST the connection without any response (upstream untouched)."""
    return Fault("reset_before", Exchange.reset)


def reset_mid_body(pause: float = 0.1) -> Fault:
    """Upstream status, headers and half the body; then, after ``pause``, RST."""
    def action(ex: Exchange) -> None:
        code, reason, headers, body = ex.fetch()
        ex.send_head(code, reason, headers)
        ex.send(body[:len(body) // 2])
        ex.wait(pause)
        ex.reset()
    return Fault("reset_mid_body", action)


def truncate(keep: float = 0.5) -> Fault:
    """Upstream status and headers (real ``Content-Length``), ``keep`` of the body, then FIN."""
    def action(ex: Exchange) -> None:
        code, reason, headers, body = ex.fetch()
        ex.send_head(code, reason, headers)
        ex.send(body[:int(len(body) * keep)])
    return Fault("truncate", action)


def slow(seconds: float) -> Fault:
    """Wait ``seconds`` (cut short by ``stop()``), then forward normally."""
    def action(ex: Exchange) -> None:
        ex.wait(seconds)
        ex.forward()
    return Fault(f"slow({seconds})", action)


def tamper() -> Fault:
    """Forward, flipping one bit mid-body: same length and headers, wrong digest."""
    def action(ex: Exchange) -> None:
        code, reason, headers, body = ex.fetch()
        if body:
            i = len(body) // 2
            body = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1:]
        ex.send_head(code, reason, headers)
        ex.send(body)
    return Fault("tamper", action)


def redirect(to, code: int = 307) -> Fault:
    """``code`` with ``Location: http://<to><same path+query>``; ``to``: a FaultProxy (anything
    with ``.host``) or a loopback ``"IP:PORT"``."""
    host = _loopback(getattr(to, "host", to))

    def action(ex: Exchange) -> None:
        ex.drain()
        ex.respond(code, {"Location": f"http://{host}{ex.target}"})
    return Fault(f"redirect({host})", action)


redirect_to = redirect


class FaultProxy:
    """Reverse proxy on 127.0.0.1 in front of ``upstream``; see the module docstring."""

    def __init__(self, upstream: RunningRegistry, *, timeout: float = 30.0):
        self.upstream, self.timeout, self.host = upstream, timeout, ""
        _loopback(upstream.host)
        self.rules: list[Rule] = []
        self.seen: list[Seen] = []
        self.errors: list[BaseException] = []           # swallowed handler errors (debugging)
        self._lock, self._stopping = threading.Lock(), threading.Event()
        self._socks: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._listener: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def registry(self) -> RunningRegistry:
        """A RunningRegistry view of the proxy (plain HTTP, same credentials, no process)."""
        return replace(self.upstream, host=self.host, scheme="http", ca_file=None, process=None,
                       token_issuer=None)

    def start(self) -> FaultProxy:
        if self._listener is None:
            self._stopping.clear()
            self._listener = socket.create_server(("127.0.0.1", 0))
            self._listener.settimeout(0.1)
            self.host = f"127.0.0.1:{self._listener.getsockname()[1]}"
            self._spawn(self._accept_loop, self._listener)
        return self

    def stop(self) -> None:
        """Close the listener and every open connection; join the threads (idempotent)."""
        self._stopping.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            socks, threads = list(self._socks), list(self._threads)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in threads:
            t.join(timeout=2)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def add_rule(self, method=None, path: str | None = None, on_attempts=None, *,
                 fault: Fault) -> Rule:
        """Apply ``fault`` to requests matching ``method`` (str, iterable or None = any) and
        ``path`` (regex searched in path+query) on the attempts ``on_attempts`` accepts (set of
        1-based numbers, callable(n) -> bool, or None = ``fault.attempts``, default all)."""
        methods = None if method is None else frozenset(
            m.upper() for m in ([method] if isinstance(method, str) else method))
        rule = Rule(methods, re.compile(path) if path else None, fault, on_attempts)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear_rules(self) -> None:
        with self._lock:
            self.rules.clear()

    def count(self, method: str | None = None, path_regex: str | None = None) -> int:
        """How many requests in ``seen`` have ``method`` and a path matching ``path_regex``."""
        with self._lock:
            return sum(1 for s in self.seen if (method is None or s.method == method.upper())
                       and (path_regex is None or re.search(path_regex, s.path)))

    def _match(self, method: str, target: str) -> tuple[Rule | None, int]:
        chosen, attempt = None, 0
        with self._lock:
            for rule in self.rules:
                if ((rule.methods is None or method in rule.methods)
                        and (rule.path is None or rule.path.search(target))):
                    rule.hits += 1
                    pred = rule.on_attempts if rule.on_attempts is not None \
                        else rule.fault.attempts
                    if chosen is None and (pred is None or (
                            pred(rule.hits) if callable(pred) else rule.hits in pred)):
                        chosen, attempt = rule, rule.hits
                        rule.fired += 1
        return chosen, attempt

    def _set_status(self, entry: Seen, code: int) -> None:
        with self._lock:
            for i in range(len(self.seen) - 1, -1, -1):
                if self.seen[i] is entry:
                    self.seen[i] = entry._replace(status=code)
                    return

    def _connect(self) -> http.client.HTTPConnection:
        up = self.upstream
        if up.scheme == "https":
            ctx = ssl.create_default_context(cafile=str(up.ca_file) if up.ca_file else None)
            conn = http.client.HTTPSConnection(up.host, timeout=self.timeout, context=ctx)
        else:
            conn = http.client.HTTPConnection(up.host, timeout=self.timeout)
        conn.connect()
        self._track(conn.sock)
        return conn

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks.add(sock)
        if self._stopping.is_set():
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _untrack(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._socks.discard(sock)

    def _spawn(self, target, arg) -> None:
        def run():
            try:
                target(arg)
            finally:
                with self._lock:
                    self._threads.discard(t)
        t = threading.Thread(target=run, daemon=True, name=f"fault-proxy-{self.host}")
        with self._lock:
            self._threads.add(t)
        t.start()

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(self.timeout)
            self._track(sock)
            self._spawn(self._serve, sock)

    def _serve(self, sock: socket.socket) -> None:
        ex = None
        try:
            ex = Exchange(self, sock)
            rule, ex.attempt = self._match(ex.method, ex.target)
            (rule.fault.action if rule else Exchange.forward)(ex)
        except Exception as e:  # noqa: BLE001 - broken connections are the point of some faults
            with self._lock:
                self.errors.append(e)
        finally:
            ex.close() if ex is not None else sock.close()
            self._untrack(sock)
