"""Proxies and the loopback TLS probe: environment read once, no CA bundle for a plain registry.

HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY (lower case first, as curl and Python read them) are read
once per run; the proxy for a scheme://host is looked up once, redirects included. NO_PROXY entries:
`*`, a host or domain (`example.com` also covers `a.example.com`, not `badexample.com`), host:port, an
IP address or a CIDR range.
"""
from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Mapping

from multiarch_ci.registry.http.hosts import split_host


def _env(environ: Mapping[str, str], name: str) -> str:
    return (environ.get(name.lower()) or environ.get(name.upper()) or "").strip()


def _ip_in(host: str, entry: str) -> bool:
    import ipaddress
    try:
        return ipaddress.ip_address(host.strip("[]")) in ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return False


class Proxies:
    """The proxy (a URL, or None) for each scheme://host, as the environment says; read once."""

    def __init__(self, environ: Mapping[str, str]):
        self._by_scheme = {s: _env(environ, f"{s}_proxy") or _env(environ, "all_proxy") for s in ("http", "https")}
        self._no_proxy = [e.strip().lower() for e in _env(environ, "no_proxy").split(",") if e.strip()]
        self._cache: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def for_url(self, url: str) -> str | None:
        key = "/".join(url.split("/", 3)[:3]).lower()
        if key in self._cache:
            return self._cache[key]
        scheme, _, hostport = key.partition("://")
        proxy = self._by_scheme.get(scheme) or None
        if proxy and self._bypassed(hostport, 443 if scheme == "https" else 80):
            proxy = None
        with self._lock:
            return self._cache.setdefault(key, proxy)

    def _bypassed(self, hostport: str, default_port: int) -> bool:
        host, port = split_host(hostport)
        for entry in self._no_proxy:
            if entry == "*" or ("/" in entry and _ip_in(host, entry)):
                return True
            e_host, e_port = split_host(entry)
            if e_port is not None and e_port != (port or default_port):
                continue
            e_host = e_host.lstrip("*").lstrip(".")
            if host == e_host or host.endswith("." + e_host):
                return True
        return False


def speaks_tls(host: str, timeout: float) -> bool | None:
    """Whether a server answers a TLS hello, learnt without loading the CA bundle (an unverified
    handshake; no HTTP request is sent). None when it cannot tell: then HTTPS is tried as ever."""
    name, _, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        with socket.create_connection((name.strip("[]"), int(port or 443)), timeout) as raw:
            with context.wrap_socket(raw, server_hostname=name.strip("[]")):
                return True
    except ssl.SSLError:
        return False   # a plain-HTTP server answers a TLS hello with an HTTP 400: not TLS
    except (OSError, ValueError):
        return None
