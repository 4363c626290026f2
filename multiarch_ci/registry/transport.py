"""HTTP under the client: one keep-alive session, timeouts, TLS policy, bounded retries, size caps.

Retry rule: 408/429/5xx and connection errors are retried with jittered exponential backoff,
honouring Retry-After (seconds or HTTP date); everything else is returned to the caller at once.
"""
from __future__ import annotations

import email.utils
import ipaddress
import os
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import requests
import urllib3

from multiarch_ci.errors import RegistryError

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MANIFEST_CAP = 4 * 1024 * 1024
TOKEN_CAP = 1024 * 1024
USER_AGENT = "multiarch-manifest/0.1"


@dataclass(frozen=True, slots=True)
class Policy:
    """How hard to try: timeouts, retries and backoff; `sleep`/`rand` injectable for tests."""

    insecure: bool = False
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 10.0
    retry_after_max: float = 60.0
    pool_size: int = 32
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    rand: Callable[[], float] = field(default=random.random, compare=False)


def _no_netrc(r):
    """An auth hook that adds nothing, so requests never picks credentials from ~/.netrc."""
    return r


def is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:host.index("]")]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Parse Retry-After: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def api_host(registry: str) -> str:
    """Docker Hub's API lives at registry-1.docker.io."""
    return "registry-1.docker.io" if registry == "docker.io" else registry


class _Session(requests.Session):
    """requests with the proxy environment read once per host, not on every request (issue 15: that
    cost ~0.3 ms of CPU each); HTTPS_PROXY/NO_PROXY keep their meaning, for redirects too."""

    def __init__(self, proxies_for: Callable[[str], dict]):
        super().__init__()
        self.trust_env = False
        self._proxies_for = proxies_for

    def rebuild_proxies(self, prepared_request, proxies):
        return super().rebuild_proxies(prepared_request, self._proxies_for(prepared_request.url))


class Transport:
    """Sends requests with retries; remembers each registry's scheme (https, or http when allowed)."""

    def __init__(self, policy: Policy = Policy(), environ: Mapping[str, str] | None = None,
                 debug: Callable[[str], None] | None = None):
        self.policy = policy
        self.debug = debug or (lambda _msg: None)
        env = os.environ if environ is None else environ
        self._proxies: dict[str, dict] = {}
        self.session = _Session(self._proxies_for)
        adapter = requests.adapters.HTTPAdapter(pool_connections=8, pool_maxsize=policy.pool_size, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers["User-Agent"] = USER_AGENT
        if policy.insecure:
            self.verify: bool | str = False
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        else:
            self.verify = (env.get("REQUESTS_CA_BUNDLE") or env.get("SSL_CERT_FILE") or env.get("CURL_CA_BUNDLE")
                           or True)   # CURL_CA_BUNDLE: as requests' trust_env read it
        self._bases: dict[str, str] = {}
        self._lock = threading.Lock()
        self.count = 0

    def base_url(self, registry: str) -> str | None:
        return self._bases.get(registry)

    def _proxies_for(self, url: str) -> dict:
        """The proxy for this URL's scheme and host, from the environment as requests reads it (HTTPS_PROXY,
        ALL_PROXY, NO_PROXY), looked up once per scheme://host."""
        key = "/".join(url.split("/", 3)[:3])
        found = self._proxies.get(key)
        if found is None:
            env = requests.utils.get_environ_proxies(key + "/")
            scheme = key.split(":", 1)[0]
            proxy = env.get(scheme, env.get("all"))
            found = self._proxies.setdefault(key, {scheme: proxy} if proxy else {})
        return found

    def _speaks_tls(self, host: str) -> bool | None:
        """Whether a loopback registry answers a TLS hello, learnt without loading the CA bundle (an
        unverified handshake; no request is sent). None when it cannot tell: then HTTPS is tried as ever."""
        name, _, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        try:
            with socket.create_connection((name.strip("[]"), int(port or 443)), self.policy.connect_timeout) as raw:
                with context.wrap_socket(raw, server_hostname=name.strip("[]")):
                    return True
        except ssl.SSLError:
            return False   # a plain-HTTP server answers a TLS hello with an HTTP 400: not TLS
        except (OSError, ValueError):
            return None

    def ping(self, registry: str) -> requests.Response:
        """GET /v2/ to learn the scheme and the auth challenge; HTTPS first, HTTP only when allowed."""
        host = api_host(registry)
        allow_http = self.policy.insecure or is_loopback(host)
        # HTTPS first; on loopback without a proxy, a bare TLS hello tells a plain-HTTP registry apart
        # without building a verifying TLS context (the CA bundle costs 35-90 ms) just to be refused
        plain = is_loopback(host) and not self._proxies_for(f"https://{host}/") and self._speaks_tls(host) is False
        try:
            if plain:
                self.debug(f"TLS hello to https://{host}/v2/ -> answered in plain HTTP: not TLS")
                raise RegistryError(f"ping {registry}: {host} does not speak TLS")
            resp = self.send("GET", f"https://{host}/v2/", what=f"ping {registry}", retries=1)
            scheme = "https"
        except RegistryError as e:
            if isinstance(e, TLSFailure) and e.certificate:
                raise  # the server speaks TLS; its certificate is not trusted: never downgrade to HTTP
            if not allow_http:
                raise RegistryError(f"cannot reach registry {registry} over HTTPS: {e.message}",
                                    "for a plain-HTTP or self-signed registry pass --insecure; for a private CA "
                                    "set SSL_CERT_FILE or REQUESTS_CA_BUNDLE", ref=registry) from None
            resp = self.send("GET", f"http://{host}/v2/", what=f"ping {registry}")
            scheme = "http"
        with self._lock:
            self._bases[registry] = f"{scheme}://{host}"
        return resp

    def send(self, method: str, url: str, *, what: str, headers: dict | None = None, data=None,
             stream: bool = False, retries: int | None = None, allow_redirects: bool = True,
             body_cap: int | None = None) -> requests.Response:
        """One request with bounded retries; raises RegistryError on connection failure or retryable exhaustion.

        With `body_cap`, a 2xx body is read inside the retry loop (a reset or truncated body is retried
        too) and is then available as `resp.content`.
        """
        p = self.policy
        attempts = (p.retries if retries is None else retries) + 1
        replayable = data is None or isinstance(data, (bytes, str))
        for attempt in range(attempts):
            started = time.monotonic()
            self.count += 1
            try:
                resp = self.session.request(method, url, headers=headers, data=data, proxies=self._proxies_for(url),
                                            stream=stream or body_cap is not None,
                                            timeout=(p.connect_timeout, p.read_timeout), verify=self.verify,
                                            auth=_no_netrc, allow_redirects=allow_redirects)
            except requests.exceptions.SSLError as e:
                self.debug(f"{method} {url} -> TLS failure: {short_reason(e)}")
                raise TLSFailure(f"{what}: TLS error talking to {url.split('/')[2]}: {short_reason(e)}",
                                 "pass --insecure for a self-signed registry, or set SSL_CERT_FILE or "
                                 "REQUESTS_CA_BUNDLE to its CA", certificate="CERTIFICATE_VERIFY_FAILED" in str(e)
                                 or "hostname" in str(e)) from None
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as e:
                self.debug(f"{method} {url} -> {type(e).__name__} (attempt {attempt + 1}/{attempts})")
                if attempt + 1 >= attempts or not replayable:
                    raise RegistryError(f"{what}: {type(e).__name__} from {url.split('/')[2]} after "
                                        f"{attempt + 1} attempt(s): {short_reason(e)}", "check the registry address "
                                        "and the network; rerunning is safe") from None
                self._backoff(attempt, None)
                continue
            self.debug(f"{method} {url} -> {resp.status_code} ({(time.monotonic() - started) * 1000:.0f} ms)")
            if resp.status_code in RETRY_STATUSES and attempt + 1 < attempts and replayable:
                wait = retry_after_seconds(resp.headers.get("Retry-After"), time.time())
                if wait is not None and wait > p.retry_after_max:
                    return resp
                resp.close()
                self._backoff(attempt, wait)
                continue
            if body_cap is not None and resp.ok:
                try:
                    resp._content = read_capped(resp, body_cap, what)
                except BodyBroken as e:
                    self.debug(f"{method} {url} -> body broken: {e.message} (attempt {attempt + 1}/{attempts})")
                    if attempt + 1 >= attempts:
                        raise
                    self._backoff(attempt, None)
                    continue
            return resp
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int, retry_after: float | None) -> None:
        p = self.policy
        delay = min(p.backoff_max, p.backoff_base * (2 ** attempt)) * (0.5 + p.rand() / 2)
        if retry_after is not None:
            delay = max(delay, retry_after)
        p.sleep(delay)


def read_capped(resp: requests.Response, cap: int, what: str) -> bytes:
    """Read a whole (non-streamed or streamed) body, refusing more than `cap` bytes."""
    declared = resp.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > cap:
        resp.close()
        raise RegistryError(f"{what}: response of {int(declared)} bytes exceeds the {cap}-byte limit",
                            status=resp.status_code)
    chunks, total = [], 0
    try:
        for chunk in resp.iter_content(65536):
            total += len(chunk)
            if total > cap:
                resp.close()
                raise RegistryError(f"{what}: response exceeds the {cap}-byte limit", status=resp.status_code)
            chunks.append(chunk)
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
            urllib3.exceptions.HTTPError) as e:
        problem = ("body truncated" if "IncompleteRead" in str(e) else "connection broke while reading the body")
        raise BodyBroken(f"{what}: {problem}: {short_reason(e)}", "rerunning is safe", status=resp.status_code) from None
    body = b"".join(chunks)
    if declared and declared.isdigit() and len(body) != int(declared):
        raise BodyBroken(f"{what}: body truncated ({len(body)} of {declared} bytes)", "rerunning is safe",
                         status=resp.status_code)
    return body


class TLSFailure(RegistryError):
    """A TLS handshake failed; `certificate` when the server's certificate was not trusted."""

    def __init__(self, message: str, hint: str | None = None, *, certificate: bool = False):
        super().__init__(message, hint)
        self.certificate = certificate


class BodyBroken(RegistryError):
    """The connection broke or the body came short: worth another try."""


_REASONS = (r"\[SSL: [A-Z_]+\][^'\")(]*", r"\[Errno -?\d+\][^'\")]*", r"Read timed out", r"timed out",
            r"Connection reset by peer", r"RemoteDisconnected\('[^']*'\)", r"IncompleteRead\([^)]*\)",
            r"Connection aborted")


def short_reason(e: Exception) -> str:
    """The reason inside urllib3's wrapping ('[SSL: CERTIFICATE_VERIFY_FAILED] …', '[Errno 111] …')."""
    text = str(e)
    for pattern in _REASONS:
        m = re.search(pattern, text)
        if m:
            return m.group(0).strip(" .,")
    return text if len(text) < 200 else text[:200] + "…"
