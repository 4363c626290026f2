"""HTTP under the client: one keep-alive engine, deadlines, TLS policy, bounded retries, size caps.

Retry rule: 408/429/5xx and connection errors are retried with jittered exponential backoff,
honouring Retry-After (seconds or HTTP date); everything else is returned to the caller at once.
`read_timeout` bounds a whole request (connect, a proxy's CONNECT, TLS set-up, headers, body: see
deadline.py); redirects are followed here, hop by hop, so Authorization never reaches another origin and
~/.netrc is never read. The engine under it is urllib3 (wire.py says why), its own retries and redirects off.
"""
from __future__ import annotations

import contextlib
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urljoin

from multiarch_ci import __version__
from multiarch_ci.core.errors import Kind, RegistryError, setting
from multiarch_ci.registry.http.bodies import (
    TOKEN_CAP,
    BodyBroken,
    read_capped,
    read_message,
    read_raw,
)
from multiarch_ci.registry.http.deadline import WATCHDOG, Ticket
from multiarch_ci.registry.http.failures import (
    NO_SUCH_HOST,
    failure_name,
    retry_after_seconds,
    short_reason,
)
from multiarch_ci.registry.http.hosts import HostPolicy, Origin, is_loopback
from multiarch_ci.registry.http.proxies import Proxies, speaks_tls
from multiarch_ci.registry.http.quota import quota_spent
from multiarch_ci.registry.http.trust import Trust
from multiarch_ci.registry.http.wire import (
    BAD_URL,
    BROKEN,
    Engine,
    HandshakeFailed,
    ProxyRefused,
    Response,
    framing,
)

__all__ = ["TOKEN_CAP", "BodyBroken", "is_loopback", "read_capped", "retry_after_seconds",
           "short_reason"]

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
USER_AGENT = f"multiarch-manifest/{__version__}"
_CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization")


@dataclass(frozen=True, slots=True)
class Policy:
    """How hard to try: timeouts, retries and backoff; `sleep`/`rand` injectable for tests.

    `read_timeout` bounds each whole request; `hosts` names the registries marked insecure."""

    hosts: HostPolicy = HostPolicy()
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 10.0
    retry_after_max: float = 60.0
    pool_size: int = 32
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    rand: Callable[[], float] = field(default=random.random, compare=False)


def api_host(registry: str) -> str:
    """Docker Hub's API lives at registry-1.docker.io."""
    return "registry-1.docker.io" if registry == "docker.io" else registry


# Characters a URL from a registry (Location, Link) may keep as they are; the rest is percent-encoded.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"


class DeadlinePassed(RegistryError):
    """An outer bound (the whole wait) ran out while a request was pending."""

    kind = Kind.OUT_OF_TIME


class Transport:
    """Sends requests with retries; remembers each registry's scheme (https, or http when allowed)."""

    def __init__(self, policy: Policy = Policy(), environ: Mapping[str, str] | None = None,
                 debug: Callable[[str], None] | None = None):
        self.policy = policy
        self.hosts = policy.hosts
        self.debug = debug or (lambda _msg: None)
        env = os.environ if environ is None else environ
        self.proxies = Proxies(env)
        self.trust = Trust.from_environ(env)
        self.engine = Engine(policy.pool_size, USER_AGENT, self.trust)
        self._bases: dict[str, str] = {}
        self._lock = threading.Lock()
        self._bound = threading.local()
        self.count = 0

    def base_url(self, registry: str) -> str | None:
        return self._bases.get(registry)

    def verified(self, origin: Origin) -> bool:
        """Unverified TLS only for a host the user marked insecure, never for one found later."""
        return not self.hosts.is_insecure(origin.hostport)

    @contextlib.contextmanager
    def bounded(self, seconds: float):
        """Requests made by this thread inside the block end within `seconds` (e.g. the whole wait)."""
        before = getattr(self._bound, "until", None)
        until = time.monotonic() + max(0.0, seconds)
        self._bound.until = until if before is None else min(before, until)
        try:
            yield
        finally:
            self._bound.until = before

    def ping(self, registry: str) -> Response:
        """GET /v2/ to learn the scheme and the auth challenge; HTTPS first, HTTP only when allowed."""
        host = api_host(registry)
        allow_http = self.hosts.cleartext_ok(host)
        proxy = self.proxies.for_url(f"https://{host}/")
        # HTTPS first; on loopback without a proxy, a bare TLS hello tells a plain-HTTP registry apart
        # without building a verifying TLS context (the CA bundle costs 35-90 ms) just to be refused. The
        # plain-HTTP ping goes out beside that hello (no credentials; it is used only when the hello finds
        # no TLS): a local plain-HTTP registry costs one round trip to learn, not two.
        local = is_loopback(host) and not proxy and allow_http

        def plain_ping() -> Response:
            return self.send("GET", f"http://{host}/v2/", what=f"ping {registry}")
        ahead = self._ahead(plain_ping) if local else None
        plain = local and speaks_tls(host, self.policy.connect_timeout) is False
        try:
            if plain:
                self.debug(f"TLS hello to https://{host}/v2/ -> answered in plain HTTP: not TLS")
                raise RegistryError(f"ping {registry}: {host} does not speak TLS")
            resp = self.send("GET", f"https://{host}/v2/", what=f"ping {registry}", retries=1)
            scheme = "https"
            if ahead is not None:
                self.debug(f"{host} speaks TLS: the plain-HTTP ping sent beside the hello (no credentials) is not used")
        except DeadlinePassed:
            raise
        except RegistryError as e:
            if (isinstance(e, TLSFailure) and e.certificate) or isinstance(e, ProxyFailure):
                raise  # the server speaks TLS but is not trusted, or the proxy said no: plain HTTP cannot help
            if any(s in e.message for s in NO_SUCH_HOST):  # DNS: no scheme or TLS setting can help
                raise RegistryError(f"cannot resolve registry host {host}: {e.message}",
                                    f"check the registry name {registry}; a reference without one means Docker Hub "
                                    "(docker.io)", ref=registry) from None
            if not allow_http:
                raise RegistryError(f"cannot reach registry {registry} over HTTPS: {e.message}",
                                    f"for a plain-HTTP or self-signed registry pass {setting('insecure-registry')} "
                                    f"{host}; for a private CA {self.trust.fix()}", ref=registry) from None
            if proxy:   # what came through a proxy cannot tell that the registry itself does not speak TLS
                raise RegistryError(f"cannot reach registry {registry} over HTTPS through the proxy "
                                    f"{proxy.hostport}: {e.message}",
                                    "plain HTTP is never tried through a proxy (credentials would pass it in clear): "
                                    "name the registry in NO_PROXY to reach it directly", ref=registry) from None
            resp = ahead() if ahead is not None else plain_ping()
            scheme = "http"
        with self._lock:
            self._bases[registry] = f"{scheme}://{host}"
        return resp

    def _ahead(self, call: Callable[[], Response]) -> Callable[[], Response]:
        """`call()` started now on a thread of its own, under this thread's outer bound; the function
        returned waits for it and gives back its response or raises its error. A result nobody asks for
        is dropped (concurrent.futures is not imported for this: start-up, tests/cli/test_startup_imports.py)."""
        until = getattr(self._bound, "until", None)
        done = threading.Event()
        box: list[tuple[Response | None, BaseException | None]] = []

        def run() -> None:
            self._bound.until = until
            try:
                box.append((call(), None))
            except BaseException as e:  # noqa: BLE001 - raised to whoever asks for the result
                box.append((None, e))
            finally:
                done.set()

        def result() -> Response:
            done.wait()
            resp, error = box[0]
            if error is not None or resp is None:
                raise error or AssertionError("no response")
            return resp
        threading.Thread(target=run, name="mm-plain-ping", daemon=True).start()
        return result

    def send(self, method: str, url: str, *, what: str, headers: dict | None = None, data=None,
             stream: bool = False, retries: int | None = None, allow_redirects: bool = True,
             body_cap: int | None = None, raw: bool = False) -> Response:
        """One request with bounded retries; raises RegistryError on connection failure or retryable exhaustion.

        With `body_cap`, a 2xx body is read inside the retry loop (a reset or truncated body is retried
        too) and is then available as `resp.content` (with `raw`, exactly as sent: blob bytes). Without
        it (and without `stream`), at most MESSAGE_CAP bytes of the body are kept. A streamed response
        carries its deadline as `resp.ticket`: the reader extends it per piece and closes it.
        """
        p = self.policy
        attempts = (p.retries if retries is None else retries) + 1
        replayable = data is None or isinstance(data, (bytes, str))
        for attempt in range(attempts):
            started = time.monotonic()
            self.count += 1
            ticket = Ticket(WATCHDOG, self._budget(what))
            keep = False
            try:
                with ticket:
                    resp = self._follow(method, url, headers, data, ticket, allow_redirects, what)
                    ms = (time.monotonic() - started) * 1000
                    self.debug(f"{method} {url} -> {resp.status_code} ({ms:.0f} ms)")
                    if resp.status_code in RETRY_STATUSES and attempt + 1 < attempts and replayable \
                            and not quota_spent(resp.headers):  # a spent quota will not clear within a backoff
                        wait = retry_after_seconds(resp.headers.get("Retry-After"), time.time())
                        delay = self._delay(attempt, wait)
                        if (wait is None or wait <= p.retry_after_max) and self._fits(delay):
                            resp.close()
                            p.sleep(delay)
                            continue
                    if stream and resp.ok:
                        resp.ticket, keep = ticket, True
                    elif body_cap is not None and resp.ok:
                        resp.content = (read_raw if raw else read_capped)(resp, body_cap, what)
                    else:
                        resp.content = read_message(resp)
                    return resp
            except (*BROKEN, BodyBroken, HandshakeFailed) as e:
                if isinstance(e, HandshakeFailed) and not ticket.expired:
                    self.debug(f"{method} {url} -> TLS failure: {short_reason(e)}")
                    raise self._tls_failure(e, what) from None
                if framing(e) is not None and not ticket.expired:   # the same bytes would come again
                    raise RegistryError(f"{what}: the answer from {url.split('/')[2]} cannot be read: {framing(e)}",
                                        "the registry, or a proxy on the way, sent a malformed HTTP answer: "
                                        "report it to its operator") from None
                reason = (f"timed out: no complete answer within {ticket.seconds:g} s" if ticket.expired
                          else e.message if isinstance(e, BodyBroken) else short_reason(e))
                self.debug(f"{method} {url} -> {failure_name(e)}: {reason} (attempt {attempt + 1}/{attempts})")
                self._check_bound(what)
                if attempt + 1 >= attempts or not replayable:
                    if isinstance(e, BodyBroken) and not ticket.expired:
                        raise
                    kind = "Timeout" if ticket.expired else failure_name(e)
                    raise (BodyBroken if isinstance(e, BodyBroken) else RegistryError)(
                        f"{what}: {kind} from {url.split('/')[2]} after {attempt + 1} attempt(s): {reason}",
                        "check the registry address and the network; rerunning is safe",
                        status=getattr(e, "status", None)) from None
                delay = self._delay(attempt, None)
                if not self._fits(delay):
                    raise DeadlinePassed(
                        f"{what}: timed out: no answer before the wait's time ran out ({reason})") from None
                p.sleep(delay)
            finally:
                if not keep:
                    ticket.close()
        raise AssertionError("unreachable")

    def _follow(self, method: str, url: str, headers: dict | None, data, ticket: Ticket, allow_redirects: bool,
                what: str) -> Response:
        """Send, following redirects ourselves: credentials are dropped at the first hop to another origin."""
        origin, h = Origin.of(url), dict(headers or {})
        here = origin
        for _hop in range(MAX_REDIRECTS + 1):
            if here.scheme == "http" and not self.hosts.cleartext_ok(here.hostport):
                raise RegistryError(f"{what}: refusing plain HTTP to {here.netloc}",
                                    f"only loopback and hosts given with {setting('insecure-registry')} "
                                    "may use plain HTTP")
            if here != origin:
                h = {k: v for k, v in h.items() if k.lower() not in _CREDENTIAL_HEADERS}
            left = max(ticket.remaining(), 0.001)
            try:
                resp = self.engine.request(method, url, h, data.encode() if isinstance(data, str) else data,
                                           proxy=self.proxies.for_url(url), verified=self.verified(here),
                                           connect_timeout=self.policy.connect_timeout, timeout=left)
            except ProxyRefused as e:
                raise ProxyFailure(f"{what}: {e}", "check the proxy and its credentials in HTTPS_PROXY / HTTP_PROXY, "
                                   "or name the registry in NO_PROXY") from None
            except BAD_URL as e:
                raise RegistryError(f"{what}: cannot send to {Origin.of(url)}: {e}") from None
            location = resp.headers.get("Location")
            if not allow_redirects or resp.status_code not in REDIRECTS or not location:
                return resp
            resp.close()
            self.debug(f"{method} {url} -> {resp.status_code} redirect")
            if resp.status_code == 303 or (resp.status_code in (301, 302) and method == "POST"):
                method, data = ("HEAD" if method == "HEAD" else "GET"), None
                h = {k: v for k, v in h.items() if k.lower() not in ("content-type", "content-length")}
            url = quote(urljoin(url, location), safe=_URL_SAFE)
            here = Origin.of(url)
        raise RegistryError(f"{what}: more than {MAX_REDIRECTS} redirects", "the registry redirects in a loop")

    def _budget(self, what: str) -> float:
        """Seconds this attempt may take: --timeout, or less when an outer bound ends sooner."""
        until = getattr(self._bound, "until", None)
        if until is None:
            return self.policy.read_timeout
        self._check_bound(what)
        return min(self.policy.read_timeout, until - time.monotonic())

    def _check_bound(self, what: str) -> None:
        until = getattr(self._bound, "until", None)
        if until is not None and time.monotonic() >= until:
            raise DeadlinePassed(f"{what}: timed out: no answer before the wait's time ran out")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        p = self.policy
        delay = min(p.backoff_max, p.backoff_base * (2 ** attempt)) * (0.5 + p.rand() / 2)
        return delay if retry_after is None else max(delay, retry_after)

    def _fits(self, delay: float) -> bool:
        """Whether a retry after `delay` seconds still starts before the outer bound (if any) ends."""
        until = getattr(self._bound, "until", None)
        return until is None or time.monotonic() + delay < until

    def backoff(self, attempt: int) -> None:
        """Sleep before another try of a whole step (e.g. a fresh upload session)."""
        self.policy.sleep(self._delay(attempt, None))

    def _tls_failure(self, e: HandshakeFailed, what: str) -> TLSFailure:
        """A failed TLS set-up, naming the host (also after a redirect) and, for an untrusted certificate,
        the CA bundle trusted (its variable and path) and how to fix it."""
        if not e.certificate:
            return TLSFailure(f"{what}: TLS error talking to {e.host}: {short_reason(e)}",
                              f"if {e.host} speaks plain HTTP, pass {setting('insecure-registry')} {e.host}")
        return TLSFailure(f"{what}: TLS error talking to {e.host}: {short_reason(e)}; "
                          f"the CAs trusted: {self.trust.describe()}",
                          f"pass {setting('insecure-registry')} {e.host} for a self-signed registry, "
                          f"or {self.trust.fix()}", certificate=True)


class ProxyFailure(RegistryError):
    """The proxy the environment names cannot be used, or refused the connection (e.g. 407)."""

    kind = Kind.UNREACHABLE


class TLSFailure(RegistryError):
    """A TLS handshake failed; `certificate` when the server's certificate was not trusted."""

    kind = Kind.UNREACHABLE

    def __init__(self, message: str, hint: str | None = None, *, certificate: bool = False):
        super().__init__(message, hint)
        self.certificate = certificate
