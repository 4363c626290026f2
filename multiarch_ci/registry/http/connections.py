"""urllib3's connections, watched by the request's deadline, reading answers through a guarded socket file.

urllib3 does the pooling, the dead-connection checks, TLS, CONNECT tunnels and proxies. Two things it
(and http.client under it) reads without a bound are guarded here, in the socket file every answer's
status line, headers and body are read from (http.client's `fp`):

- a chunk size line of `-1` (any negative size) makes http.client read to the end of the stream: a
  read of a negative size is refused instead (HTTP/1.1 sizes are hex digits only);
- interim answers (`103 Early Hints`, `102 Processing`; also `100 Continue`) before the final answer are
  skipped, at most MAX_INTERIM of them (http.client skips only 100 and takes a 103 for the answer).

Each connection claims the current request's deadline ticket when it starts to connect (so the deadline
covers the TCP connect, a proxy's CONNECT and the TLS set-up) and before each request (deadline.py).
"""
from __future__ import annotations

import http.client
import socket
import ssl
from typing import Any, Literal

from multiarch_ci.registry.http.engine_import import import_urllib3

import_urllib3()   # before any module of urllib3 (engine_import.py)

from urllib3.connection import HTTPConnection, HTTPSConnection  # noqa: E402
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool  # noqa: E402
from urllib3.util.ssltransport import SSLTransport  # noqa: E402

from multiarch_ci.registry.http.deadline import Ticket, current  # noqa: E402

MAX_INTERIM = 16
MAX_HEADER_LINES = 100


class FramingError(http.client.HTTPException):
    """The answer's framing cannot be read with a bound (a negative chunk size, endless 1xx answers)."""


def _interim(line: bytes) -> bool:
    """A 1xx status line other than 101 (a protocol switch, which we never ask for)."""
    if line[8:10] in (b" 2", b" 3", b" 4", b" 5"):     # "HTTP/1.1 200 OK": most answers, at once
        return False
    parts = line.split(None, 2)
    return (len(parts) >= 2 and parts[0].startswith(b"HTTP/") and len(parts[1]) == 3 and parts[1].isdigit()
            and parts[1][:1] == b"1" and parts[1] != b"101")


class GuardedFile:
    """http.client's socket file for one answer: no read without a bound, interim answers skipped."""

    __slots__ = ("_first", "_fp")

    def __init__(self, fp):
        self._fp, self._first = fp, True

    def readline(self, limit: int = -1) -> bytes:
        line = self._fp.readline(limit)
        if not self._first:
            return line
        self._first = False                 # the status line: skip interim answers and their headers
        for _ in range(MAX_INTERIM):
            if not _interim(line):
                return line
            for _ in range(MAX_HEADER_LINES + 1):
                if self._fp.readline(limit) in (b"\r\n", b"\n", b""):
                    break
            else:
                raise FramingError(f"an interim answer with more than {MAX_HEADER_LINES} header lines")
            line = self._fp.readline(limit)
        if _interim(line):
            raise FramingError(f"more than {MAX_INTERIM} interim (1xx) answers before the answer")
        return line

    def read(self, amt: int | None = None) -> bytes:
        if amt is not None and amt < 0:     # http.client's read of a chunk whose size line said "-1"
            raise FramingError(f"a negative chunk size ({amt}): the answer's chunked framing is broken")
        return self._fp.read(amt)

    def read1(self, amt: int = -1) -> bytes:
        if amt < 0:
            raise FramingError("an unbounded read of a chunked answer")
        return self._fp.read1(amt)

    def readinto(self, b) -> int:
        return self._fp.readinto(b)

    def __getattr__(self, name: str):
        return getattr(self._fp, name)


class GuardedResponse(http.client.HTTPResponse):
    """http.client's answer, read through a GuardedFile (also the answer to a proxy's CONNECT)."""

    def __init__(self, sock, *args, **kwargs):
        super().__init__(sock, *args, **kwargs)
        self.fp = GuardedFile(self.fp)


class TLSSetupError(ssl.SSLError):
    """The TLS set-up failed, and where: with the `server`, or with the (https://) `proxy` on the way.

    Raised from the ssl module's error, which it reads as (str, args, and as `__cause__`)."""

    def __init__(self, stage: Literal["server", "proxy"], cause: ssl.SSLError):
        super().__init__(*cause.args)
        self.stage, self.cause = stage, cause

    def __str__(self) -> str:
        return str(self.cause)


class _Watched(HTTPConnection):
    """Claims the current request's deadline on connect and on each request (a base of both connections)."""

    response_class: type[http.client.HTTPResponse] = GuardedResponse
    mm_ticket: Ticket | None = None     # the request this connection works for (deadline.py)
    # the socket of the last connect: the answer keeps reading from it after http.client lets go of it
    # (Connection: close), and the deadline must still be able to shut it down
    mm_sock: socket.socket | SSLTransport | None = None

    def connect(self) -> None:
        ticket = current()
        if ticket is not None:
            ticket.claim(self)
        try:
            super().connect()
        except ssl.SSLError as e:   # TLS set-up failed: with the proxy (an https:// one) or with the server
            stage: Literal["server", "proxy"] = \
                "server" if self.proxy is None or self.has_connected_to_proxy else "proxy"
            raise TLSSetupError(stage, e) from e
        self.mm_sock = self.sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        ticket = current()
        if ticket is not None:
            ticket.claim(self)
        super().request(*args, **kwargs)


class WatchedHTTPConnection(_Watched):
    pass


class WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class HTTPPool(HTTPConnectionPool):
    ConnectionCls = WatchedHTTPConnection


class HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


POOL_CLASSES = {"http": HTTPPool, "https": HTTPSPool}
