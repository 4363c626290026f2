#!/usr/bin/env python3
"""A loopback HTTP/1.1 reverse proxy that adds a fixed delay to every request.

    latency_proxy.py --upstream 127.0.0.1:5000 [--listen 127.0.0.1:0] [--latency-ms 20]
                     [--log FILE] [--port-file FILE]

* Threaded: one thread per client connection, each with its own keep-alive connection upstream.
* Keep-alive both ways; bodies are streamed in both directions (Content-Length or chunked), never held
  whole, so a 200 MB blob passes in constant memory.
* The delay is slept once per request, before it is forwarded (a round trip on a slow network); a
  connection whose first byte is a TLS handshake (a client probing HTTPS on this plain-HTTP port) is
  also delayed once, answered `400` and closed, as a plain-HTTP registry answers it.
* `Host` is passed through unchanged (so the registry builds upload URLs for the proxy's address);
  absolute `Location` headers that still name the upstream are rewritten to the proxy.
* `--log FILE`: one line per request, written before the response is sent: `<unix-time> <METHOD> <path>
  <status> <arrival unix-time>`, and `<unix-time> TLS - 400 <arrival>` for TLS probes. The bench reads it to
  count what the registry never sees (TLS probes) and to cross-check the registry's access log.

Only loopback addresses are accepted for --listen and --upstream.
"""
from __future__ import annotations

import argparse
import http.client
import ipaddress
import os
import signal
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "trailers", "transfer-encoding", "upgrade", "expect"}
CHUNK = 256 * 1024


def loopback(hostport: str, who: str = "latency_proxy") -> tuple[str, int]:
    """HOST:PORT as (address, port), refusing any address outside 127.0.0.0/8 and ::1 (both bench proxies)."""
    host, _, port = hostport.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    addr = "127.0.0.1" if host == "localhost" else host
    if not ipaddress.ip_address(addr).is_loopback:
        raise SystemExit(f"{who}: {hostport} is not a loopback address")
    return addr, int(port)


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, listen, upstream, latency, log_path):
        super().__init__(listen, Handler)
        self.upstream = upstream
        self.latency = latency
        self.log_lock = threading.Lock()
        self.log_file = open(log_path, "a", buffering=1) if log_path else None
        host, port = self.server_address[:2]
        self.public = f"{host}:{port}"

    def log_line(self, method: str, path: str, status: int, arrived: float | None = None) -> None:
        """`<answered> <METHOD> <path> <status> <arrived>`: unix times; the last field is when the request
        (or the TLS handshake) reached the proxy, for per-request timelines."""
        if self.log_file:
            with self.log_lock:
                self.log_file.write(f"{time.time():.6f} {method} {path} {status} {arrived or time.time():.6f}\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server
    upstream_conn: http.client.HTTPConnection | None = None

    def log_message(self, fmt, *args):  # quiet
        pass

    # -- connection --------------------------------------------------------------------------
    def handle(self):
        try:
            first = self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            return
        if first == b"\x16":  # TLS ClientHello on a plain port
            arrived = time.time()
            time.sleep(self.server.latency)
            self.server.log_line("TLS", "-", 400, arrived)
            try:
                self.connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass
            return
        try:
            super().handle()
        except (ConnectionError, OSError):
            pass
        finally:
            if self.upstream_conn is not None:
                self.upstream_conn.close()

    def _upstream(self, fresh: bool = False) -> http.client.HTTPConnection:
        if fresh and self.upstream_conn is not None:
            self.upstream_conn.close()
            self.upstream_conn = None
        if self.upstream_conn is None:
            host, port = self.server.upstream
            self.upstream_conn = http.client.HTTPConnection(host, port, timeout=300)
        return self.upstream_conn

    # -- one request -------------------------------------------------------------------------
    def _body_chunks(self):
        """The request body as an iterator of byte chunks (Content-Length or chunked), or None."""
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            def chunked():
                while True:
                    line = self.rfile.readline(65537)
                    size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return
                    left = size
                    while left:
                        piece = self.rfile.read(min(CHUNK, left))
                        if not piece:
                            raise ConnectionError("client closed mid-chunk")
                        left -= len(piece)
                        yield piece
                    self.rfile.readline(3)
            return chunked(), None
        length = self.headers.get("Content-Length")
        if length is not None and int(length) > 0:
            n = int(length)

            def sized():
                left = n
                while left:
                    piece = self.rfile.read(min(CHUNK, left))
                    if not piece:
                        raise ConnectionError("client closed mid-body")
                    left -= len(piece)
                    yield piece
            return sized(), n
        return None, (0 if length is not None else None)

    def _forward(self):
        self.arrived = time.time()
        time.sleep(self.server.latency)
        body, length = self._body_chunks()
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
        has_body = body is not None
        for attempt in range(2):
            conn = self._upstream(fresh=attempt > 0)
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    if k.lower() == "content-length" and length is None:
                        continue
                    conn.putheader(k, v)
                if has_body and length is None:
                    conn.putheader("Transfer-Encoding", "chunked")
                conn.endheaders()
                if has_body:
                    for piece in body:
                        if length is None:
                            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
                        else:
                            conn.send(piece)
                    if length is None:
                        conn.send(b"0\r\n\r\n")
                resp = conn.getresponse()
                return resp
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # a stale keep-alive connection upstream: retry once, but only if nothing was consumed
                if attempt or has_body:
                    raise
        raise AssertionError("unreachable")

    def _relay(self):
        try:
            resp = self._forward()
        except Exception as e:  # noqa: BLE001 - upstream down or broken, whatever the failure: 502 and close
            self.server.log_line(self.command, self.path, 502, getattr(self, "arrived", None))
            msg = f"latency proxy: upstream error: {e}\n".encode()
            self.send_response(502)
            self.send_header("Content-Length", str(len(msg)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(msg)
            self.close_connection = True
            return
        self.server.log_line(self.command, self.path, resp.status, self.arrived)
        no_body = self.command == "HEAD" or resp.status in (204, 304) or 100 <= resp.status < 200
        upstream_len = resp.getheader("Content-Length")
        chunked_out = not no_body and upstream_len is None
        self.send_response_only(resp.status, resp.reason)
        up = f"http://{self.server.upstream[0]}:{self.server.upstream[1]}"
        for k, v in resp.getheaders():
            kl = k.lower()
            if kl in HOP_BY_HOP:
                continue
            if kl == "location" and v.startswith(up):
                v = f"http://{self.server.public}" + v[len(up):]
            self.send_header(k, v)
        if chunked_out:
            self.send_header("Transfer-Encoding", "chunked")
        if resp.will_close:
            self.send_header("Connection", "close")
        self.end_headers()
        if not no_body:
            while True:
                piece = resp.read(CHUNK)
                if not piece:
                    break
                if chunked_out:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                else:
                    self.wfile.write(piece)
            if chunked_out:
                self.wfile.write(b"0\r\n\r\n")
        else:
            resp.read()
        self.wfile.flush()
        if resp.will_close:
            self.upstream_conn.close()
            self.upstream_conn = None
        if self.headers.get("Connection", "").lower() == "close":
            self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _relay


def proxy_options(ap: argparse.ArgumentParser) -> None:
    """The options both latency proxies take (this one and haproxy_latency.py), so the bench starts either."""
    ap.add_argument("--upstream", required=True, help="HOST:PORT of the registry (loopback)")
    ap.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT to listen on (loopback; 0 = free port)")
    ap.add_argument("--latency-ms", type=float, default=20.0, help="delay added to every request (default 20)")
    ap.add_argument("--log", help="append one line per request to this file")
    ap.add_argument("--port-file", help="write the chosen port here once listening (the bench then waits for an "
                                        "answer)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    proxy_options(ap)
    a = ap.parse_args(argv)
    server = Server(loopback(a.listen), loopback(a.upstream), a.latency_ms / 1000.0, a.log)
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(server.server_address[1]))
        os.replace(tmp, a.port_file)
    def _stop(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
