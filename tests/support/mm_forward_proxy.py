"""A forward HTTP proxy on loopback, as HTTP_PROXY / HTTPS_PROXY name one: absolute-URI requests for
plain HTTP, CONNECT tunnels for HTTPS, optional Basic proxy authentication (407 without it). With
``tls=Cert`` (mm_hostile.make_cert) it is an HTTPS proxy: clients speak TLS to the proxy itself (and TLS
inside the tunnel to an HTTPS registry).

Only destinations on 127.0.0.0/8 are served (403 otherwise): test traffic never leaves loopback.
`seen` records (method, target, Proxy-Authorization) of every request the proxy received.
"""
from __future__ import annotations

import base64
import http.client
import ipaddress
import select
import socket
import socketserver
import threading
from urllib.parse import urlsplit

from mm_registry import free_port


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class ForwardProxy:
    def __init__(self, username: str | None = None, password: str | None = None, tls=None):
        self.port, self.tls = free_port(), tls
        self.seen: list[tuple[str, str, str | None]] = []
        self.want = ("Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()) if username else None
        proxy = self

        context = tls.context() if tls is not None else None

        class Handler(socketserver.StreamRequestHandler):
            def setup(self):
                if context is not None:
                    self.request = context.wrap_socket(self.request, server_side=True)
                super().setup()

            def handle(self):
                while proxy._one(self.rfile, self.connection):
                    pass

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, with_credentials: str = "") -> str:
        return f"{'https' if self.tls else 'http'}://{with_credentials}127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _one(self, rfile, conn: socket.socket) -> bool:
        """Serve one request; False when the client connection is done."""
        line = rfile.readline(65536).decode("latin-1").strip()
        if not line:
            return False
        method, target, _ = line.split(" ", 2)
        headers: list[tuple[str, str]] = []
        while (h := rfile.readline(65536).decode("latin-1").rstrip("\r\n")):
            name, _, value = h.partition(":")
            headers.append((name.strip(), value.strip()))
        auth = next((v for k, v in headers if k.lower() == "proxy-authorization"), None)
        self.seen.append((method, target, auth))
        if self.want and auth != self.want:
            conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"t\"\r\n"
                         b"Content-Length: 0\r\n\r\n")
            return method != "CONNECT"
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            if not _loopback(host):
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return False
            upstream = socket.create_connection((host, int(port)))
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _pipe(conn, upstream, rfile)
            return False
        parts = urlsplit(target)
        if not _loopback(parts.hostname or ""):
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return False
        length = int(next((v for k, v in headers if k.lower() == "content-length"), "0"))
        body = rfile.read(length) if length else None
        keep = [(k, v) for k, v in headers if k.lower() not in ("proxy-authorization", "proxy-connection")]
        up = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)
        try:
            up.putrequest(method, (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                          skip_host=True, skip_accept_encoding=True)
            for k, v in keep:
                up.putheader(k, v)
            up.endheaders(body)
            resp = up.getresponse()
            data = resp.read()
            out = [f"HTTP/1.1 {resp.status} {resp.reason}"]
            out += [f"{k}: {v}" for k, v in resp.getheaders()
                    if k.lower() not in ("transfer-encoding", "content-length", "connection")]
            out.append(f"Content-Length: {len(data) if method != 'HEAD' else resp.getheader('Content-Length', '0')}")
            conn.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + (data if method != "HEAD" else b""))
        finally:
            up.close()
        return True


def _pipe(client: socket.socket, upstream: socket.socket, rfile) -> None:
    """Relay bytes both ways until either side closes (anything the client already buffered first)."""
    buffered = rfile.peek(0) if hasattr(rfile, "peek") else b""
    if buffered:
        upstream.sendall(rfile.read1(len(buffered)))
    try:
        while True:
            ready, _, _ = select.select([client, upstream], [], [], 30)
            if not ready:
                return
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                while getattr(s, "pending", lambda: 0)():      # TLS bytes already decrypted: select cannot see them
                    data += s.recv(65536)
                (upstream if s is client else client).sendall(data)
    except OSError:
        return
    finally:
        upstream.close()
