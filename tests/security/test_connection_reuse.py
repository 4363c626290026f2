"""Keep-alive connections are reused only when clean (issue 15 moved HTTP onto http.client, so the pool is
ours): a body longer than its Content-Length never becomes the answer to the next request, and an idle
connection the registry closed is not reused (no request fails or spends a retry on it)."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from multiarch_ci.registry.http.hosts import HostPolicy
from multiarch_ci.registry.http.transport import Policy, Transport


class KeepAlive:
    """A raw HTTP/1.1 server on loopback that keeps connections open; `answer(n, path)` gives the bytes
    written for the n-th request (0-based, over all connections), or None to close the connection."""

    def __init__(self, answer, close_after: tuple[str, ...] = ()):
        self.answer, self.close_after, self.connections, self.paths = answer, close_after, 0, []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.host = f"127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            self._requests(conn)
        except OSError:     # the client closed or reset the connection
            pass

    def _requests(self, conn):
        with conn, conn.makefile("rb") as rfile:
            while True:
                line = rfile.readline()
                if not line:
                    return
                while rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                n = len(self.paths)
                self.paths.append(line.split()[1].decode())
                out = self.answer(n, self.paths[-1])
                if out is None:
                    return
                for i, piece in enumerate(out if isinstance(out, tuple) else (out,)):
                    time.sleep(0.02 if i else 0)    # later pieces: after the client has read the answer
                    conn.sendall(piece)
                if self.paths[-1] in self.close_after:   # closed without a word, as an idle timeout does
                    return

    def close(self):
        self.listener.close()


def ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s%s" % (len(body), body, extra)


@pytest.fixture
def transport():
    return Transport(Policy(hosts=HostPolicy.of(()), retries=2, sleep=lambda s: None), environ={})


@pytest.mark.hostile("body-longer-than-content-length")
def test_a_body_longer_than_announced_never_answers_the_next_request(transport):
    smuggled = ok(b"EVIL")
    server = KeepAlive(lambda n, path: (ok(b"first"), smuggled) if n == 0 else ok(b"GOOD"))
    try:
        first = transport.send("GET", f"http://{server.host}/v2/a", what="a", body_cap=1024)
        time.sleep(0.05)                       # the extra bytes have arrived on the idle connection
        second = transport.send("GET", f"http://{server.host}/v2/b", what="b", body_cap=1024)
    finally:
        server.close()
    assert first.content == b"first"
    assert second.content == b"GOOD"           # not the response the first answer carried along


def test_an_idle_connection_the_registry_closed_is_not_reused(transport):
    server = KeepAlive(lambda n, path: ok(path.encode()), close_after=("/v2/b",))
    try:
        assert transport.send("GET", f"http://{server.host}/v2/a", what="a", body_cap=1024).content == b"/v2/a"
        assert transport.send("GET", f"http://{server.host}/v2/b", what="b", body_cap=1024).content == b"/v2/b"
        assert server.connections == 1        # kept alive: one connection for two requests
        time.sleep(0.05)                       # the registry has closed it by now
        attempts = transport.count
        assert transport.send("GET", f"http://{server.host}/v2/c", what="c", body_cap=1024).content == b"/v2/c"
    finally:
        server.close()
    assert transport.count == attempts + 1    # the closed connection was not tried: no retry spent on it
    assert server.connections == 2


@pytest.mark.hostile("deadline-of-another-request")
def test_an_expired_deadline_never_closes_a_connection_another_request_took(transport):
    """A streamed answer read to its end gives its connection back while its deadline still runs (the reader
    holds it until the last piece is consumed); the next request takes that connection. The first deadline
    passing must not shut the connection under the second request."""
    def answer(n, path):
        if path == "/v2/slow":
            time.sleep(1.0)                     # the first request's deadline passes meanwhile
            return ok(b"slow")
        return ok(b"blob")

    server = KeepAlive(answer)
    try:
        with transport.bounded(0.4):
            first = transport.send("GET", f"http://{server.host}/v2/blob", what="blob", stream=True)
        assert first.read(1024) == b"blob" and first.read(1024) == b""
        second = transport.send("GET", f"http://{server.host}/v2/slow", what="slow", body_cap=1024)
        first.ticket.close()
    finally:
        server.close()
    assert second.content == b"slow"
    assert transport.count == 2 and server.connections == 1     # no failure, no retry, one connection
