"""Proxies and the loopback TLS probe: environment read once per host, no CA bundle for a plain registry.

requests re-reads the proxy environment (and ~/.netrc) on every request when `trust_env` is on; that
cost ~0.3 ms of CPU each (issue 15). Here the session never trusts the environment; HTTPS_PROXY,
ALL_PROXY and NO_PROXY keep their meaning, looked up once per scheme://host, redirects included.
"""
from __future__ import annotations

import socket
import ssl
import threading

import requests


class ProxySession(requests.Session):
    """A session that reads no environment per request: proxies resolved once per scheme://host."""

    def __init__(self):
        super().__init__()
        self.trust_env = False          # no netrc, no per-request proxy or CA lookups
        self._proxies: dict[str, dict] = {}
        self._lock = threading.Lock()

    def proxies_for(self, url: str) -> dict:
        """The proxy for this URL's scheme and host, as requests would read it from the environment."""
        key = "/".join(url.split("/", 3)[:3])
        found = self._proxies.get(key)
        if found is None:
            env = requests.utils.get_environ_proxies(key + "/")
            scheme = key.split(":", 1)[0]
            proxy = env.get(scheme, env.get("all"))
            with self._lock:
                found = self._proxies.setdefault(key, {scheme: proxy} if proxy else {})
        return found

    def rebuild_proxies(self, prepared_request, proxies):
        return super().rebuild_proxies(prepared_request, self.proxies_for(prepared_request.url))


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
