"""Proxies and the loopback TLS probe: environment read once, no CA bundle for a plain registry.

HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY (lower case first, as curl and Python read them) are read
once per run; the proxy for a scheme://host is looked up once, redirects included. NO_PROXY entries:
`*`, a host or domain (`example.com` also covers `a.example.com`, not `badexample.com`), host:port, an
IP address or a CIDR range. A proxy is `http://` or `https://` (a bare HOST:PORT means http), with
optional USER:PASSWORD@ sent as Basic proxy credentials; SOCKS is refused (urllib3 needs PySocks for it).
A proxy setting that cannot be used is bad input, named by its variable, before anything is sent.
"""
from __future__ import annotations

import socket
import ssl
import threading
from base64 import b64encode
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from multiarch_ci.core.errors import InputError
from multiarch_ci.registry.http.hosts import split_host


def _env(environ: Mapping[str, str], name: str) -> str:
    return (environ.get(name.lower()) or environ.get(name.upper()) or "").strip()


def _ip_in(host: str, entry: str) -> bool:
    import ipaddress
    try:
        return ipaddress.ip_address(host.strip("[]")) in ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return False


def _named(environ: Mapping[str, str], name: str) -> tuple[str, str]:
    """(the variable's name as set, its value) of NAME in either case, lower case first."""
    for key in (name.lower(), name.upper()):
        value = (environ.get(key) or "").strip()
        if value:
            return key, value
    return name.upper(), ""


@dataclass(frozen=True, slots=True)
class Proxy:
    """A usable proxy: its URL without credentials, and the Proxy-Authorization its credentials make."""

    url: str
    authorization: str | None = None

    @property
    def hostport(self) -> str:
        return self.url.split("://", 1)[1]

    def headers(self) -> dict[str, str]:
        return {"Proxy-Authorization": self.authorization} if self.authorization else {}


def parse_proxy(value: str, variable: str) -> Proxy:
    """A proxy URL from `variable`, or InputError naming the variable (never its credentials)."""
    parts = urlsplit(value if "://" in value else "http://" + value)
    scheme, where = parts.scheme.lower(), parts.netloc.rpartition("@")[2]
    if scheme.startswith("socks"):
        raise InputError(f"{variable}: SOCKS proxies ({scheme}://{where}) are not supported",
                         "use an HTTP or HTTPS proxy, or name the registry in NO_PROXY")
    if scheme not in ("http", "https"):
        raise InputError(f"{variable}: a proxy must be http:// or https://, not {scheme}://{where}",
                         "e.g. http://proxy.example:3128")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if not parts.hostname or port == 0 or (port is None and where.endswith(":")):
        raise InputError(f"{variable}: {scheme}://{where} is not HOST:PORT with a port from 1 to 65535",
                         "e.g. http://proxy.example:3128")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        authorization = "Basic " + b64encode(pair).decode()
    return Proxy(f"{scheme}://{host}:{port or (443 if scheme == 'https' else 80)}", authorization)


class Proxies:
    """The proxy (or None) for each scheme://host, as the environment says; read and checked once."""

    def __init__(self, environ: Mapping[str, str]):
        self._by_scheme: dict[str, Proxy | None] = {}
        for scheme in ("http", "https"):
            variable, value = _named(environ, f"{scheme}_proxy")
            if not value:
                variable, value = _named(environ, "all_proxy")
            self._by_scheme[scheme] = parse_proxy(value, variable) if value else None
        self._no_proxy = [e.strip().lower() for e in _env(environ, "no_proxy").split(",") if e.strip()]
        self._cache: dict[str, Proxy | None] = {}
        self._lock = threading.Lock()

    def for_url(self, url: str) -> Proxy | None:
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
        with socket.create_connection((name.strip("[]"), int(port or 443)), timeout) as raw, \
                context.wrap_socket(raw, server_hostname=name.strip("[]")):
            return True
    except ssl.SSLError:
        return False   # a plain-HTTP server answers a TLS hello with an HTTP 400: not TLS
    except (OSError, ValueError):
        return None
