"""A deadline for a whole request (connect, headers and body), not for each socket read.

Socket timeouts restart on every byte, so a server dripping one byte a second holds a plain
client forever. Here each request runs under a Ticket: the sockets its connection uses are
registered with one watchdog thread, which shuts them down when the ticket's deadline passes; the
blocked read then fails at once and the transport reports a timeout. The connections are
http.client's, registering their socket when they connect and before each request.
"""
from __future__ import annotations

import socket
import threading
import time

from http.client import HTTPConnection, HTTPSConnection

_current = threading.local()


class Ticket:
    """One request's deadline and the sockets it has used; `expired` once the watchdog fired."""

    def __init__(self, watchdog: Watchdog, seconds: float):
        self.watchdog, self.seconds = watchdog, seconds
        self.deadline = time.monotonic() + seconds
        self.socks: list[socket.socket] = []
        self.expired = False

    def watch(self, sock: socket.socket | None) -> None:
        if sock is not None:
            with self.watchdog.cond:
                if sock not in self.socks:
                    self.socks.append(sock)
            if self.expired:
                _shutdown(sock)

    def extend(self, seconds: float | None = None) -> None:
        """Start a new period (a streamed blob: each piece must arrive within the timeout)."""
        with self.watchdog.cond:
            self.deadline = time.monotonic() + (self.seconds if seconds is None else seconds)

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def __enter__(self) -> Ticket:
        _current.ticket = self
        self.watchdog.add(self)
        return self

    def __exit__(self, *exc) -> None:
        if getattr(_current, "ticket", None) is self:
            _current.ticket = None

    def close(self) -> None:
        self.watchdog.remove(self)


def _shutdown(sock: socket.socket) -> None:
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's, also under TLS: wakes a blocked recv
    except OSError:
        pass


class Watchdog:
    """One daemon thread that expires tickets; started on first use."""

    def __init__(self):
        self.cond = threading.Condition()
        self.tickets: set[Ticket] = set()
        self.thread: threading.Thread | None = None
        self.wake_at = 0.0      # when the thread wakes next: a ticket due later needs no wake-up now

    def add(self, ticket: Ticket) -> None:
        with self.cond:
            self.tickets.add(ticket)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="mm-deadline", daemon=True)
                self.thread.start()
            if ticket.deadline < self.wake_at:   # not one wake-up (a thread switch) per request
                self.cond.notify()

    def remove(self, ticket: Ticket) -> None:
        with self.cond:
            self.tickets.discard(ticket)

    def _run(self) -> None:
        while True:
            with self.cond:
                now = time.monotonic()
                due = [t for t in self.tickets if t.deadline <= now]
                for t in due:
                    t.expired = True
                    self.tickets.discard(t)
                    for s in t.socks:  # under the lock: a closed ticket's socket may serve another request
                        _shutdown(s)
                nxt = min((t.deadline for t in self.tickets), default=now + 5.0)
                wait = max(0.01, min(nxt - time.monotonic(), 5.0))
                self.wake_at = time.monotonic() + wait
                self.cond.wait(timeout=wait)


WATCHDOG = Watchdog()


def _register(conn) -> None:
    ticket = getattr(_current, "ticket", None)
    if ticket is not None:
        ticket.watch(getattr(conn, "sock", None))


class _Watched:
    """Mixin: register the connection's socket with the current ticket when it connects or sends."""

    def connect(self):
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # as urllib3: no Nagle delay on a PUT
        _register(self)

    def request(self, *args, **kwargs):
        _register(self)
        return super().request(*args, **kwargs)


class WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


def watched(https: bool) -> type[HTTPConnection]:
    """The connection class whose sockets register with the current request's ticket."""
    return WatchedHTTPSConnection if https else WatchedHTTPConnection
