"""Start and stop real CNCF distribution registries (``/usr/bin/docker-registry``) for tests.

Everything listens on 127.0.0.1 only.  ``start_registry(tmp_dir, auth=..., tls=...)`` writes a
config into ``tmp_dir``, launches ``docker-registry serve`` and waits until ``/v2/`` answers:

* ``auth="none"``  - anonymous read/write;
* ``auth="basic"`` - htpasswd (bcrypt) with a random password;
* ``auth="token"`` - bearer tokens from an in-process :class:`mm_token_issuer.TokenIssuer`;
* ``tls=True``     - HTTPS with a self-signed CA:TRUE certificate (SAN IP:127.0.0.1, DNS:localhost)
  whose PEM (``ca_file``) doubles as the CA bundle clients should trust.

The registry's combined access log (its stdout) lands in ``access_log``; ``request_log()`` parses
it into ``(method, path, status)`` tuples so tests can count requests.
"""
from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from mm_token_issuer import TokenIssuer

REGISTRY_BIN = "/usr/bin/docker-registry"
START_TIMEOUT = 10.0
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
# 127.0.0.1 - - [date] "GET /v2/ HTTP/1.1" 401 87 "" "ua"
_ACCESS_RE = re.compile(r'^\S+ \S+ \S+ \[[^\]]*\] "(\S+) (\S+) [^"]*" (\d{3}) ')


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback_env(extra: dict | None = None) -> dict:
    """``os.environ`` for subprocesses: proxy variables removed, ``NO_PROXY=*``."""
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARS}
    env["NO_PROXY"] = env["no_proxy"] = "*"
    env.update(extra or {})
    return env


@dataclass(eq=False)
class RunningRegistry:
    """A live registry process.  ``eq=False`` keeps instances hashable (by identity)."""

    host: str                     # "127.0.0.1:PORT"
    scheme: str                   # "http" | "https"
    storage: Path
    access_log: Path              # combined access log (registry stdout)
    error_log: Path               # registry's own log (stderr)
    config_file: Path
    auth: str = "none"            # "none" | "basic" | "token"
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None   # self-signed server cert (CA:TRUE) when scheme == "https"
    token_url: str | None = None  # realm of the token issuer when auth == "token"
    token_issuer: TokenIssuer | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def session(self) -> requests.Session:
        """A requests session that ignores proxy env vars and trusts ``ca_file``."""
        s = requests.Session()
        s.trust_env = False
        s.verify = str(self.ca_file) if self.ca_file else True
        return s

    def request_log(self) -> list[tuple[str, str, int]]:
        """``(method, path, status)`` for every request in the access log so far."""
        if not self.access_log.exists():
            return []
        out = []
        for line in self.access_log.read_text(errors="replace").splitlines():
            m = _ACCESS_RE.match(line)
            if m:
                out.append((m.group(1), m.group(2), int(m.group(3))))
        return out

    def stop(self) -> None:
        """Kill the registry process and stop the token issuer (idempotent)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        if self.token_issuer is not None:
            self.token_issuer.stop()
            self.token_issuer = None


def _make_tls_cert(tmp_dir: Path) -> tuple[Path, Path]:
    crt, key = tmp_dir / "tls.crt", tmp_dir / "tls.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-sha256", "-nodes", "-days", "30", "-keyout", str(key), "-out", str(crt),
         "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
         "-addext", "extendedKeyUsage=serverAuth"],
        check=True, capture_output=True, env=loopback_env())
    return crt, key


def _config_yaml(port: int, storage: Path, auth_block: str, tls_block: str) -> str:
    return f"""version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: false
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
  secret: {secrets.token_hex(16)}
{tls_block}{auth_block}"""


def _wait_ready(reg: RunningRegistry) -> str | None:
    """None once /v2/ answers 200/401; otherwise a reason (process died / timed out)."""
    deadline = time.monotonic() + START_TIMEOUT
    with reg.session() as s:
        while time.monotonic() < deadline:
            if reg.process.poll() is not None:
                return f"exited with code {reg.process.returncode}"
            try:
                if s.get(reg.url + "/v2/", timeout=1).status_code in (200, 401):
                    return None
            except requests.RequestException:
                pass
            time.sleep(0.05)
    return f"/v2/ not ready after {START_TIMEOUT:.0f}s"


def start_registry(tmp_dir: Path, auth: str = "none", tls: bool = False,
                   *, attempts: int = 3) -> RunningRegistry:
    """Start a registry whose files all live under ``tmp_dir``; see the module docstring."""
    if auth not in ("none", "basic", "token"):
        raise ValueError(f"unknown auth kind {auth!r}")
    tmp_dir = Path(tmp_dir)
    storage = tmp_dir / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    username = password = ca_file = issuer = None
    tls_block = auth_block = ""
    if tls:
        ca_file, key = _make_tls_cert(tmp_dir)
        tls_block = f"  tls:\n    certificate: {ca_file}\n    key: {key}\n"
    if auth != "none":
        username, password = "mm-user", secrets.token_urlsafe(12)
    if auth == "basic":
        htpasswd = tmp_dir / "htpasswd"
        subprocess.run(["htpasswd", "-Bbc", str(htpasswd), username, password],
                       check=True, capture_output=True, env=loopback_env())
        auth_block = f"auth:\n  htpasswd:\n    realm: mm-basic-realm\n    path: {htpasswd}\n"
    elif auth == "token":
        issuer = TokenIssuer(username, password).start()
        bundle = tmp_dir / "token-signing.crt"
        bundle.write_bytes(issuer.cert_pem)
        auth_block = (f"auth:\n  token:\n    realm: {issuer.realm}\n    service: {issuer.service}\n"
                      f"    issuer: {issuer.issuer}\n    rootcertbundle: {bundle}\n")

    failure = ""
    for _ in range(attempts):
        port = free_port()
        config = tmp_dir / "config.yml"
        config.write_text(_config_yaml(port, storage, auth_block, tls_block))
        reg = RunningRegistry(
            host=f"127.0.0.1:{port}", scheme="https" if tls else "http", storage=storage,
            access_log=tmp_dir / "access.log", error_log=tmp_dir / "registry.log",
            config_file=config, auth=auth, username=username, password=password,
            ca_file=ca_file, token_url=issuer.realm if issuer else None, token_issuer=issuer)
        with open(reg.access_log, "ab") as out, open(reg.error_log, "ab") as err:
            reg.process = subprocess.Popen([REGISTRY_BIN, "serve", str(config)], stdout=out,
                                           stderr=err, stdin=subprocess.DEVNULL,
                                           env=loopback_env())
        reason = _wait_ready(reg)
        if reason is None:
            return reg
        reg.token_issuer = None          # keep the issuer for the next attempt
        reg.stop()
        tail = "\n".join(reg.error_log.read_text(errors="replace").splitlines()[-20:])
        failure = f"registry on {reg.host} {reason}; stderr tail:\n{tail}"
        if "address already in use" not in tail:
            break
    if issuer is not None:
        issuer.stop()
    raise RuntimeError(failure)
