"""Registry auth: WWW-Authenticate challenges, Basic, and the Bearer token flow with a token cache.

Token spec: https://distribution.github.io/distribution/spec/auth/token/ (GET with Basic, or OAuth2
POST with a refresh token for docker's identity tokens). Domain code never sees a token.
"""
from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from multiarch_ci.core.errors import AuthError, RegistryError, setting
from multiarch_ci.registry.auth.credentials import Credential, CredentialStore
from multiarch_ci.registry.auth.login_hints import login_hint
from multiarch_ci.registry.auth.scopes import ScopeGroups
from multiarch_ci.registry.http.hosts import Origin
from multiarch_ci.registry.http.transport import TOKEN_CAP, Transport

_PARAM = re.compile(r'([a-zA-Z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


@dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str                       # "basic" or "bearer" (lower case)
    params: tuple[tuple[str, str], ...]

    def get(self, key: str) -> str | None:
        return dict(self.params).get(key)


def parse_challenge(header: str | None) -> Challenge | None:
    """Parse the first Basic or Bearer challenge of a WWW-Authenticate header."""
    if not header:
        return None
    m = re.fullmatch(r"\s*([A-Za-z]+)\s*(.*)", header, re.S)
    if not m or m[1].lower() not in ("basic", "bearer"):
        return None
    params = tuple((k, (q.replace('\\"', '"') if q else (v or ""))) for k, q, v in _PARAM.findall(m[2]))
    return Challenge(m[1].lower(), tuple((k.lower(), val) for k, val in params))


def basic_header(cred: Credential) -> str:
    raw = f"{cred.username or ''}:{cred.password or ''}".encode()
    return "Basic " + base64.b64encode(raw).decode()


class Authenticator:
    """Gives each request its Authorization header, per registry and scope set."""

    def __init__(self, transport: Transport, credentials: CredentialStore):
        self.transport = transport
        self.credentials = credentials
        self._challenges: dict[str, Challenge | None] = {}
        self._scopes: dict[str, ScopeGroups] = {}
        self._failures: dict = {}  # a ping or token fetch that failed after its retries, by registry / key
        self._tokens: dict[tuple[str, frozenset[str]], tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._registry_locks: dict[str, threading.Lock] = {}   # one ping, then one token fetch at a time
        self.tokens_issued: set[str] = set()

    def plan_scopes(self, registry: str, scopes: set[str]) -> None:
        """Declare scopes a run will need together (e.g. a mount's target push + source pull) up front,
        so they share a token."""
        with self._lock:
            self._groups(registry).place(scopes)

    def _groups(self, registry: str) -> ScopeGroups:
        return self._scopes.setdefault(registry, ScopeGroups())

    def _registry_lock(self, registry: str) -> threading.Lock:
        with self._lock:
            return self._registry_locks.setdefault(registry, threading.Lock())

    def ensure_ping(self, registry: str) -> None:
        if registry in self._challenges:    # learnt once; no lock for every request after that
            return
        with self._registry_lock(registry):
            if registry in self._challenges:
                return
            if registry in self._failures:
                raise self._failures[registry]  # waiters fail with the first answer, not another retry cycle
            try:
                resp = self.transport.ping(registry)
            except RegistryError as e:
                self._failures[registry] = e
                raise
            own = self.same_origin(registry, resp.url)  # a 401 from a host it redirected to is not its own
            challenge = parse_challenge(resp.headers.get("WWW-Authenticate")) \
                if resp.status_code == 401 and own else None
            resp.close()
            self._challenges[registry] = challenge

    def header(self, registry: str, scopes: tuple[str, ...]) -> str | None:
        """The Authorization value for a request needing `scopes`, or None (anonymous)."""
        self.ensure_ping(registry)
        challenge = self._challenges[registry]
        if challenge is None:
            return None
        cred = self.credentials.lookup(registry)
        if challenge.scheme == "basic":
            if cred is None or cred.username is None:
                raise AuthError(f"registry {registry} requires a login", "log in with docker login, or pass "
                                "--username and --password-stdin", status=401, code="UNAUTHORIZED", ref=registry)
            return basic_header(cred)
        with self._lock:
            key = (registry, self._groups(registry).place(scopes))
        cached = self._tokens.get(key)
        if cached and cached[1] > time.monotonic():
            return "Bearer " + cached[0]
        with self._registry_lock(registry):  # concurrent requests wait for one fetch instead of each asking
            cached = self._tokens.get(key)
            if cached and cached[1] > time.monotonic():
                return "Bearer " + cached[0]
            if key in self._failures:
                raise self._failures[key]
            try:
                token, ttl = self._fetch_token(registry, challenge, sorted(key[1]), cred)
            except RegistryError as e:
                self._failures[key] = e
                raise
            self._tokens[key] = (token, time.monotonic() + max(10.0, ttl - 30.0))
        return "Bearer " + token

    def same_origin(self, registry: str, url: str | None) -> bool:
        """True when `url` is on the registry's own (scheme, host, port): only there do its credentials go."""
        base = self.transport.base_url(registry)
        if not base or not url:
            return False
        return Origin.of(url) == Origin.of(base)

    def check_realm(self, registry: str, realm: str) -> None:
        """A token realm gets credentials: never over plain HTTP for an HTTPS registry, unless marked insecure."""
        hosts, base, where = self.transport.hosts, Origin.of(self.transport.base_url(registry) or ""), Origin.of(realm)
        shown = realm.split("?")[0]
        if where.scheme not in ("http", "https") or not where.host:
            raise AuthError(f"registry {registry} sent a token realm that is not an http(s) URL: {shown}", ref=registry)
        if where.scheme != "http":
            return
        if base.scheme == "https" and not hosts.is_insecure(base.hostport):
            raise AuthError(f"registry {registry} is HTTPS but its token realm {shown} is plain HTTP: refusing to "
                            "send credentials or take a token there", "if that registry really is served so, "
                            f"mark it with {setting('insecure-registry')} {base.netloc}", ref=registry)
        if not hosts.cleartext_ok(where.hostport):
            raise AuthError(f"registry {registry}: token realm {shown} is plain HTTP on a host not marked insecure: "
                            "refusing to send credentials in clear text",
                            f"mark it with {setting('insecure-registry')} {where.netloc} if that is intended",
                            ref=registry)

    def secrets(self) -> set[str]:
        """Every credential and token this run has handled, for masking output."""
        return set(self.credentials.secrets()) | self.tokens_issued

    def rechallenge(self, registry: str, header: str | None) -> bool:
        """After a 401: adopt a new challenge (e.g. extra scope) and drop cached tokens; True if worth a retry."""
        challenge = parse_challenge(header)
        if challenge is None:
            return False
        with self._lock:
            self._challenges[registry] = challenge
            scope = challenge.get("scope")
            if challenge.scheme == "bearer" and scope:
                self._groups(registry).place(scope.split(" "))
            for key in [k for k in self._tokens if k[0] == registry]:
                del self._tokens[key]
        return True

    def _fetch_token(self, registry: str, challenge: Challenge, scopes: list[str],
                     cred: Credential | None) -> tuple[str, float]:
        realm = challenge.get("realm")
        if not realm:
            raise AuthError(f"registry {registry} sent a Bearer challenge without a realm", ref=registry)
        self.check_realm(registry, realm)
        service = challenge.get("service")
        what = f"token for {registry} ({' '.join(scopes)})"
        if cred and cred.identity_token:
            form = {"grant_type": "refresh_token", "refresh_token": cred.identity_token,
                    "client_id": "multiarch-manifest", "scope": " ".join(scopes)}
            if service:
                form["service"] = service
            resp = self.transport.send("POST", realm, what=what, data=urlencode(form),
                                       headers={"Content-Type": "application/x-www-form-urlencoded"},
                                       body_cap=TOKEN_CAP)
        else:
            query = ([("service", service)] if service else []) + [("scope", s) for s in scopes]
            headers = {"Authorization": basic_header(cred)} if cred and cred.username else {}
            url = realm + ("&" if "?" in realm else "?") + urlencode(query)
            resp = self.transport.send("GET", url, what=what, headers=headers, body_cap=TOKEN_CAP)
        if resp.status_code in (401, 403):
            raise AuthError(f"login to {registry} refused by its token service (HTTP {resp.status_code})",
                                "check the username and password or token"
                                + (f"; the credential tried was {cred.source}" if cred
                                   else "; no credentials were found")
                                + login_hint(cred),
                                status=resp.status_code, code="UNAUTHORIZED", ref=registry)
        if not resp.ok:
            raise AuthError(f"{what}: token service answered HTTP {resp.status_code}",
                                status=resp.status_code, ref=registry)
        body = resp.content   # a 2xx body: read whole by send (body_cap=TOKEN_CAP)
        try:
            doc = json.loads(body)
            token = doc.get("token") or doc.get("access_token")
            ttl = float(doc.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError, RecursionError):
            token = None
        if not token or not isinstance(token, str):
            raise AuthError(f"{what}: token service sent no token", ref=registry)
        self.tokens_issued.add(token)
        return token, ttl
