"""A deadline for a whole request (connect, proxy CONNECT, TLS set-up, headers and body), not for each read.

Socket timeouts restart on every byte, so a server (or a proxy) dripping one byte a second holds a plain
client forever. Here each request runs under a Ticket: the connections it uses claim the ticket when they
start to connect and before each request (see connections.py), and one watchdog thread shuts down the
socket of every connection still claimed by a ticket whose deadline passed; the blocked read then fails
at once and the transport reports a timeout. A connection serves one request at a time: once another
request claims it, an older ticket expiring can no longer touch it.
"""
from __future__ import annotations

import socket
import threading
import time

_current = threading.local()


def current() -> Ticket | None:
    """The ticket of the request this thread is sending, if any."""
    return getattr(_current, "ticket", None)


class Ticket:
    """One request's deadline and the connections it claimed; `expired` once the watchdog fired."""

    def __init__(self, watchdog: Watchdog, seconds: float):
        self.watchdog, self.seconds = watchdog, seconds
        self.deadline = time.monotonic() + seconds
        self.conns: list = []
        self.expired = False

    def claim(self, conn) -> None:
        """`conn` now works for this request: the deadline covers it, and no other ticket's does."""
        with self.watchdog.cond:
            conn.mm_ticket = self
            if conn not in self.conns:
                self.conns.append(conn)
        if self.expired:
            shutdown(conn)

    def release(self, conn) -> None:
        """`conn` is done with this request (its answer was read): the deadline no longer covers it."""
        with self.watchdog.cond:
            if getattr(conn, "mm_ticket", None) is self:
                conn.mm_ticket = None

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
        if current() is self:
            _current.ticket = None

    def close(self) -> None:
        self.watchdog.remove(self)


def shutdown(conn) -> None:
    """Wake whatever blocks on the connection's socket (or the one its last answer still reads from): the
    plain socket's shutdown, also under TLS (and TLS inside a TLS proxy tunnel, whose outer socket is
    `.socket`)."""
    sock = getattr(conn, "sock", None) or getattr(conn, "mm_sock", None)
    if sock is not None and not isinstance(sock, socket.socket):
        sock = getattr(sock, "socket", None)
    if isinstance(sock, socket.socket):
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
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
                    for conn in t.conns:   # under the lock: only a connection still working for this request
                        if getattr(conn, "mm_ticket", None) is t:
                            shutdown(conn)
                nxt = min((t.deadline for t in self.tickets), default=now + 5.0)
                wait = max(0.01, min(nxt - time.monotonic(), 5.0))
                self.wake_at = time.monotonic() + wait
                self.cond.wait(timeout=wait)


WATCHDOG = Watchdog()
