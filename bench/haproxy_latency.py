#!/usr/bin/env python3
"""HAProxy as the benchmark's latency source: a fixed delay per HTTP request, next to no CPU.

    haproxy_latency.py --upstream 127.0.0.1:5000 [--listen 127.0.0.1:0] [--latency-ms 20]
                       [--log FILE] [--port-file FILE]

The same options and log lines as bench/latency_proxy.py (the Python proxy), so the bench uses either:
this script writes HAProxy's configuration, then becomes `haproxy` (exec: the process the bench starts
and stops is HAProxy itself; the configuration is read from a pipe, nothing is left on disk).

* `mode http`, keep-alive on both sides; bodies streamed by HAProxy (a 200 MB blob in constant memory).
* Per HTTP request a Lua action (bench/haproxy_latency.lua) sleeps `--latency-ms` before the request is
  forwarded; the sleep yields, so concurrent requests wait side by side, as on a network.
* `--tls-cert PEM` (certificate and key): the registry as an HTTPS one. A TCP front end holds each new
  connection's TLS client hello `--handshake-rtts` round trips (default 2: TCP, then TLS 1.3), what a new
  connection across a network costs before its first request, paid when it connects; it then goes on to a
  second front end that ends TLS and delays each request as above. On loopback a connection is otherwise
  free, so without this the bench cannot see how many a run opens, nor when.
* A connection that opens with a TLS handshake (a client probing HTTPS on this plain-HTTP port) is
  delayed once, answered `400` and closed, as a plain-HTTP registry answers it. The front end starts in
  `mode tcp` to see that first byte (HAProxy's HTTP parser would answer 400 at once, never delayed, never
  logged with a time), then switches the connection to HTTP.
* `Host` is passed through unchanged (the registry builds upload URLs for the proxy's address).
* `--log FILE`: one line per request, written by HAProxy when the request ends: `<answered> <METHOD>
  <path> <status> <arrived>` (unix times: when the registry's answer came back, when the request reached
  the proxy), and `<answered> TLS - 400 <arrived>` for a TLS probe. A request HAProxy refuses itself
  (not HTTP) is logged as `- - - - -`.
* One thread (`nbthread 1`): the proxy takes as little as possible of the cores the client and the
  registry share with it.

Needs HAProxy built with Lua (`haproxy -vv` lists `+LUA`): Debian's `haproxy` package is.
Only loopback addresses are accepted for --listen and --upstream.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
from pathlib import Path

from latency_proxy import loopback, proxy_options  # this folder is the script's own: both proxies alike

LUA = Path(__file__).resolve().parent / "haproxy_latency.lua"


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


LOG_FORMAT = "%[var(txn.answered)] %[var(txn.method)] %[var(txn.path)] %[var(txn.status)] %[var(txn.arrived)]"


def _head(log: bool) -> str:
    """One thread, the Lua actions, the log on stdout when asked, long timeouts (a 200 MB blob)."""
    return f"""global
    nbthread 1
    maxconn 2000
    lua-load {LUA}
{"    log stdout format raw local0" if log else ""}

defaults
{"    log global" if log else ""}
    option dontlognull
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-request 60s
    timeout http-keep-alive 300s
"""


def _delaying(ms: str, upstream: tuple[str, int], extra: str = "") -> str:
    """The HTTP part of a delaying front end (each request held `ms`, its log line's variables set), and
    the registry as the one server."""
    return f"""    log-format "{LOG_FORMAT}"
    option http-keep-alive
    http-request set-var(txn.method) method
    http-request set-var(txn.path) url
{extra}    http-request lua.delay {ms}
    http-response set-var(txn.status) status
    http-response lua.answered
    default_backend registry

backend registry
    mode http
    server registry {upstream[0]}:{upstream[1]}
"""


def config(listen: tuple[str, int], upstream: tuple[str, int], latency_ms: float, log: bool) -> str:
    """HAProxy's configuration: the delaying front end, the registry as the one server."""
    ms = str(round(latency_ms))
    return _head(log) + f"""
frontend delay
    mode tcp
    bind {listen[0]}:{listen[1]}
    tcp-request inspect-delay 60s
    tcp-request content lua.tls_probe {ms} if {{ req.ssl_hello_type 1 }}
    tcp-request content switch-mode http proto h1 if {{ req.len gt 0 }}
""" + _delaying(ms, upstream)


def tls_config(listen: tuple[str, int], upstream: tuple[str, int], latency_ms: float, log: bool, cert: str,
               handshake_rtts: float, inner_port: int) -> str:
    """HTTPS: a TCP front end holds each TLS client hello (the handshakes' round trips), an inner front end
    ends TLS and delays each request; the registry behind it is told the scheme was https."""
    ms, hold = str(round(latency_ms)), str(round(latency_ms * handshake_rtts))
    return _head(log) + f"""
frontend edge
    mode tcp
    no log
    bind {listen[0]}:{listen[1]}
    tcp-request inspect-delay 60s
    tcp-request content lua.hold {hold} if {{ req.ssl_hello_type 1 }}
    tcp-request content accept if {{ req.ssl_hello_type 1 }}
    default_backend inner

backend inner
    mode tcp
    server inner {listen[0]}:{inner_port}

frontend delay
    mode http
    bind {listen[0]}:{inner_port} ssl crt {cert}
""" + _delaying(ms, upstream, "    http-request set-header X-Forwarded-Proto https\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    proxy_options(ap)
    ap.add_argument("--tls-cert", help="PEM holding a certificate and its key: serve HTTPS (see above)")
    ap.add_argument("--handshake-rtts", type=float, default=2,
                    help="with --tls-cert: round trips a new connection costs before its first request (default 2)")
    ap.add_argument("--haproxy", default=shutil.which("haproxy") or "/usr/sbin/haproxy")
    a = ap.parse_args(argv)
    if not os.access(a.haproxy, os.X_OK):
        raise SystemExit("haproxy_latency: haproxy is not installed (Debian package `haproxy`)")
    host, port = loopback(a.listen, "haproxy_latency")
    upstream = loopback(a.upstream, "haproxy_latency")
    port = port or free_port(host)
    if a.tls_cert:
        text = tls_config((host, port), upstream, a.latency_ms, bool(a.log), a.tls_cert, a.handshake_rtts,
                          free_port(host)).encode()
    else:
        text = config((host, port), upstream, a.latency_ms, bool(a.log)).encode()
    r, w = os.pipe()
    os.write(w, text)       # a few hundred bytes: fits the pipe's buffer
    os.close(w)
    os.set_inheritable(r, True)
    if a.log:
        fd = os.open(a.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.close(fd)
    if a.port_file:
        tmp = a.port_file + ".tmp"
        Path(tmp).write_text(str(port))
        os.replace(tmp, a.port_file)
    sys.stdout.flush()
    os.execv(a.haproxy, [a.haproxy, "-db", "-f", f"/dev/fd/{r}"])
    return 1


if __name__ == "__main__":
    sys.exit(main())
