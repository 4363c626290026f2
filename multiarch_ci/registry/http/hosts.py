"""Where requests may go and what may travel with them: origins and the insecure-registry list.

Library-agnostic policy (no HTTP here): an Origin is (scheme, host, port) as browsers compare them;
credentials only go to the origin that asked for them; plain HTTP and unverified TLS only to the
hosts the user named as insecure (and plain HTTP to loopback, as Docker allows).
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from multiarch_ci.core.errors import InputError

DEFAULT_PORTS = {"http": 80, "https": 443}
_HOSTPORT = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:[0-9]{1,5})?")


@dataclass(frozen=True, slots=True)
class Origin:
    """(scheme, host, port) of a URL; two URLs share credentials only when their origins are equal."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        try:
            port = parts.port
        except ValueError:
            port = None
        return cls(scheme, (parts.hostname or "").lower(), port or DEFAULT_PORTS.get(scheme, 0))

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS.get(self.scheme) == self.port else f"{host}:{self.port}"

    @property
    def hostport(self) -> str:
        """'host:port' with the port always given (what HostPolicy matches)."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.scheme}://{self.netloc}"


def split_host(netloc: str) -> tuple[str, int | None]:
    """'reg:5000' -> ('reg', 5000); '[::1]:5000' -> ('::1', 5000); 'reg' -> ('reg', None)."""
    netloc = netloc.strip().lower()
    if netloc.startswith("["):
        end = netloc.find("]")
        host, rest = netloc[1:end], netloc[end + 1:]
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if netloc.count(":") == 1:
        host, port = netloc.split(":")
        return host, int(port) if port.isdigit() else None
    return netloc, None


@lru_cache(maxsize=256)    # asked before every plain-HTTP request: a run names a handful of hosts
def is_loopback(host: str) -> bool:
    name, _ = split_host(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_insecure(entry: str, where: str = "--insecure-registry") -> str:
    """Validate one HOST[:PORT] entry (no scheme, no path) and return it normalised."""
    text = entry.strip().lower()
    if not _HOSTPORT.fullmatch(text):
        raise InputError(f"{where} {entry!r}: give a registry as HOST or HOST:PORT",
                         "e.g. --insecure-registry 10.0.0.5:5000 (no scheme, no path)")
    return text


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """The registries the user marked insecure: HOST:PORT matches that port only, HOST any port."""

    insecure: frozenset[str] = frozenset()

    @classmethod
    def of(cls, entries: Iterable[str]) -> HostPolicy:
        return cls(frozenset(parse_insecure(e) for e in entries if e.strip()))

    def is_insecure(self, netloc: str) -> bool:
        host, port = split_host(netloc)
        if host in self.insecure:
            return True
        return port is not None and (f"[{host}]:{port}" if ":" in host else f"{host}:{port}") in self.insecure

    def cleartext_ok(self, netloc: str) -> bool:
        """Plain HTTP (and so credentials in clear text) only to loopback or a host marked insecure."""
        return is_loopback(netloc) or self.is_insecure(netloc)
