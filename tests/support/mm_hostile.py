"""A small raw misbehaving HTTP server on loopback, scripted per test, recording what it receives.

``Hostile(handler, ip="127.0.0.2")`` listens on ``ip:<free port>`` (plain HTTP, or HTTPS with
``tls=Cert``) and calls ``handler(req)`` for each request on its own thread; the handler answers with
``req.respond``, ``req.drip`` or ``req.endless`` (bytes no real registry would send). Every request
is kept in ``server.requests`` (method, target, headers) so a test can assert what reached it,
e.g. ``server.authorizations() == []``. ``127.0.0.1`` and ``127.0.0.2`` are both loopback but
different hosts: a server on ``127.0.0.2`` is "another host" for a registry on ``127.0.0.1``.

``make_cert(dirpath)`` writes a self-signed (CA:TRUE) certificate for 127.0.0.1, 127.0.0.2 and
localhost, so one PEM file serves as both server certificate and the CA bundle clients trust.
"""
from __future__ import annotations

import gzip
import http.client
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from requests.structures import CaseInsensitiveDict

import mm_registry


@dataclass
class Cert:
    crt: Path
    key: Path

    def context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(self.crt), str(self.key))
        return ctx


def make_cert(dirpath: Path, name: str = "hostile") -> Cert:
    dirpath.mkdir(parents=True, exist_ok=True)
    crt, key = dirpath / f"{name}.crt", dirpath / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-sha256", "-nodes", "-days", "2", "-keyout", str(key), "-out", str(crt), "-subj", f"/CN={name}",
         "-addext", "subjectAltName=IP:127.0.0.1,IP:127.0.0.2,DNS:localhost",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
         "-addext", "extendedKeyUsage=serverAuth"],
        check=True, capture_output=True, env=mm_registry.loopback_env())
    return Cert(crt, key)


@dataclass
class Request:
    """One request as received, and the means to answer it."""

    server: Hostile
    sock: socket.socket
    method: str
    target: str
    headers: CaseInsensitiveDict
    body: bytes = b""
    sent: int = field(default=0)            # body bytes written by the handler

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def head(self, status: int, headers: dict | None = None) -> None:
        lines = [f"HTTP/1.1 {status} {http.client.responses.get(status, 'Unknown')}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall("\r\n".join(lines + ["Connection: close", "", ""]).encode("latin-1"))

    def respond(self, status: int, headers: dict | None = None, body: bytes = b"") -> None:
        """A complete answer with a true Content-Length."""
        self.head(status, {**(headers or {}), "Content-Length": str(len(body))})
        if self.method != "HEAD":
            self.write(body)

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)
        self.sent += len(data)

    def drip(self, status: int, headers: dict, body: bytes, every: float = 1.0) -> None:
        """Status and headers at once, then the body one byte every `every` seconds."""
        self.head(status, headers)
        for i in range(len(body)):
            if self.server.stopping.wait(every):
                return
            self.write(body[i:i + 1])

    def endless(self, status: int, headers: dict | None = None, prefix: bytes = b"",
                piece: bytes = b"x" * 65536) -> None:
        """Status, headers without a length, `prefix`, then `piece` again and again until the client goes."""
        self.head(status, headers)
        self.write(prefix)
        while not self.server.stopping.is_set():
            self.write(piece)


class Hostile:
    """A threaded raw HTTP server; see the module docstring."""

    def __init__(self, handler: Callable[[Request], None], ip: str = "127.0.0.2", tls: Cert | None = None):
        self.handler, self.ip, self.tls = handler, ip, tls
        self.requests: list[Request] = []
        self.errors: list[BaseException] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.create_server((ip, 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self.host = f"{ip}:{self.port}"
        self.url = f"{'https' if tls else 'http'}://{self.host}"
        self._ctx = tls.context() if tls else None
        self._thread = threading.Thread(target=self._accept, daemon=True, name=f"hostile-{self.host}")

    def __enter__(self) -> Hostile:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        self._thread.join(timeout=2)
        self._listener.close()

    def authorizations(self) -> list[str]:
        """Every Authorization header this server received (a leak when it is not the registry)."""
        with self._lock:
            return [r.headers["Authorization"] for r in self.requests if "Authorization" in r.headers]

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(10)
            if self._ctx is not None:
                conn = self._ctx.wrap_socket(conn, server_side=True)
            rfile = conn.makefile("rb")
            parts = rfile.readline(65537).decode("latin-1").split()
            if len(parts) != 3:
                return
            headers = CaseInsensitiveDict(http.client.parse_headers(rfile).items())
            length = int(headers.get("Content-Length") or 0)
            body = rfile.read(length) if length else b""
            req = Request(self, conn, parts[0], parts[1], headers, body)
            with self._lock:
                self.requests.append(req)
            self.handler(req)
        except (OSError, ssl.SSLError, ValueError) as e:
            self.errors.append(e)
        finally:
            try:
                conn.close()
            except OSError:
                pass


# -- answers tests script with ---------------------------------------------------------------------

def recorder(status: int = 401, headers: dict | None = None, body: bytes = b"") -> Callable[[Request], None]:
    """Answer every request the same (default: a 401 with no challenge); the server records them."""
    return lambda req: req.respond(status, headers, body)


def gzipped(body: bytes) -> bytes:
    return gzip.compress(body, mtime=0)


def wait_until(predicate: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


# -- faults for mm_faults.FaultProxy: the real registry's answers, made hostile ---------------------

def _fault(name: str, action):
    from mm_faults import Fault
    return Fault(name, action)


def _without_length(headers) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() != "content-length"]


def endless_body(status: int | None = None, headers: dict | None = None):
    """A body that never ends (no Content-Length): the upstream answer then filler, or `status` + filler."""
    def action(ex) -> None:
        if status is None:
            code, reason, hdrs, body = ex.fetch()
            hdrs = _without_length(hdrs)
        else:
            ex.drain()
            code, reason, hdrs, body = status, None, list((headers or {}).items()), b""
        ex.send_head(code, reason, hdrs)
        ex.send(body)
        while not ex.proxy._stopping.is_set():
            ex.send(b"x" * 65536)
    return _fault(f"endless_body({status})", action)


def drip(every: float = 1.0):
    """The upstream status and headers (true Content-Length) at once, then the body a byte at a time."""
    def action(ex) -> None:
        code, reason, hdrs, body = ex.fetch()
        ex.send_head(code, reason, hdrs)
        for i in range(len(body)):
            ex.wait(every)
            ex.send(body[i:i + 1])
    return _fault(f"drip({every})", action)


def content_encoded(compress: bool):
    """Label the upstream body `Content-Encoding: gzip`: compressed now (`compress`), or as it is (a
    blob that is gzip data already, which a decoding client would unpack and then misjudge)."""
    def action(ex) -> None:
        code, reason, hdrs, body = ex.fetch()
        if compress:
            body = gzipped(body)
        hdrs = _without_length(hdrs) + [("Content-Encoding", "gzip"), ("Content-Length", str(len(body)))]
        ex.send_head(code, reason, hdrs)
        ex.send(body)
    return _fault(f"content_encoded({compress})", action)
