"""Which CAs a verified TLS connection trusts, said once per run, and the TLS contexts built from them.

The order (the first variable set to a non-empty value wins; the others are not read):

1. REQUESTS_CA_BUNDLE  - requests' (and pip's) name: a tool's CI image often sets it for its Python tools
2. SSL_CERT_FILE       - OpenSSL's own name (curl, git, Python's ssl default read it)
3. CURL_CA_BUNDLE      - curl's older name
4. SSL_CERT_DIR        - a folder of hashed certificates (OpenSSL's)
5. none set: the system's CA store (certifi's bundle when this Python build has none)

A file variable may also name a folder. A variable naming a path that does not exist is bad input.
Registries named with --insecure-registry skip verification; a proxy's own certificate is always verified.
"""
from __future__ import annotations

import os
import re
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from multiarch_ci.core.errors import InputError

TRUST_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE", "SSL_CERT_DIR")


@dataclass(frozen=True, slots=True)
class Trust:
    """The CA bundle a run trusts: the variable and path it came from, or the system's store (None)."""

    variable: str | None = None
    path: str | None = None
    unused: tuple[str, ...] = ()     # variables also set, that lost to `variable`

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Trust:
        """The trust the environment names (see the module docstring for the order)."""
        given = [(name, (environ.get(name) or "").strip()) for name in TRUST_VARIABLES]
        given = [(name, path) for name, path in given if path]
        if not given:
            return cls()
        (name, path), rest = given[0], given[1:]
        if not os.path.exists(path):
            raise InputError(f"{name}={path}: no such CA bundle file or folder",
                             f"point {name} at a PEM bundle holding the registry's CA, or unset it to trust the "
                             "system's CAs" + _order_note(name, tuple(n for n, _ in rest)))
        return cls(name, path, tuple(n for n, _ in rest))

    def describe(self) -> str:
        """Where the trusted CAs came from, for a message: `SSL_CERT_FILE=/etc/ca.pem`."""
        if self.variable is None:
            return "the system's CA store (none of " + ", ".join(TRUST_VARIABLES) + " is set)"
        return f"{self.variable}={self.path}" + _order_note(self.variable, self.unused)

    def fix(self) -> str:
        """How to make a private CA trusted, naming what is in use."""
        if self.variable is None:
            return "set SSL_CERT_FILE to a PEM bundle holding the registry's CA"
        if self.variable == "SSL_CERT_DIR":
            return "set SSL_CERT_FILE to a PEM bundle holding the registry's CA (it is read before SSL_CERT_DIR)"
        if os.path.isdir(self.path or ""):
            return f"add the registry's CA to the folder {self.path} (named by {self.variable}) and rehash it"
        return f"add the registry's CA to {self.path} (named by {self.variable})"


def _order_note(name: str, unused: tuple[str, ...]) -> str:
    return f"; {', '.join(unused)} also set but not read: {name} comes first" if unused else ""


class Contexts:
    """One TLS context per setting, verified (with the run's Trust) or not; a CA bundle is loaded once
    (35-90 ms), when the first connection needs it; thread-safe."""

    def __init__(self, trust: Trust):
        self.trust = trust
        self._contexts: dict[bool, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def get(self, verified: bool) -> ssl.SSLContext:
        with self._lock:
            ctx = self._contexts.get(verified)
            if ctx is None:
                ctx = self._contexts[verified] = self._build(verified)
            return ctx

    def _build(self, verified: bool) -> ssl.SSLContext:
        if not verified:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            return ctx
        path = self.trust.path
        if path is None:
            return _system_context()
        try:
            if os.path.isdir(path):
                return ssl.create_default_context(capath=path)
            return ssl.create_default_context(cafile=path)
        except (ssl.SSLError, OSError, ValueError) as e:
            raise InputError(f"{self.trust.variable}={path}: not a readable CA bundle ({e})",
                             "give a file of PEM certificates, or unset it to trust the system's CAs") from None


def _system_context() -> ssl.SSLContext:
    """The system's CAs. Where OpenSSL's CA folder holds hashed links (Debian, Ubuntu and Alpine keep one in
    step with their bundle: update-ca-certificates), OpenSSL reads an issuer from it when a handshake needs
    it, instead of parsing the whole bundle before the first HTTPS request (~30 ms of CPU at every start).
    Elsewhere (Fedora's folder has no links; Windows and macOS stores): the default load, then certifi's
    bundle when this Python build has no system CAs."""
    folder = ssl.get_default_verify_paths().capath
    if folder and _hashed(folder):
        return ssl.create_default_context(capath=folder)
    ctx = ssl.create_default_context()
    if not ctx.cert_store_stats().get("x509_ca"):   # no system CAs (e.g. a python.org build): certifi's
        try:
            import certifi
            ctx.load_verify_locations(cafile=certifi.where())
        except ImportError:
            pass
    return ctx


_HASHED = re.compile(r"[0-9a-f]{8}\.[0-9]+")   # OpenSSL's <subject hash>.<n> names (c_rehash, openssl rehash)


def _hashed(folder: str) -> bool:
    """Does `folder` hold certificates under their subject-hash names, as OpenSSL looks them up?"""
    try:
        with os.scandir(folder) as entries:
            return any(_HASHED.fullmatch(e.name) for e in entries)
    except OSError:
        return False
