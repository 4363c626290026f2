"""Limits: size caps on what a registry or token service sends, timeouts, partial tagging, bounded concurrency.

The real CLI runs as a subprocess against a real registry behind a fault-injecting proxy
(``mm_faults.FaultProxy``); sources and target are addressed through the proxy, so it sees, and may
answer, every request.  The caps are the ones ``multiarch_ci/registry/http/transport.py`` states:
manifests 4 MiB (4194304 bytes), token responses 1 MiB (1048576 bytes); the worker pool is 32.

Runs that must stay bounded are measured from outside: wall time, and the child's peak resident set
size (``ru_maxrss`` from ``os.wait4``), so a tool that read an oversized body whole would show it.
"""
from __future__ import annotations

import json
import re
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

import mm_images
import mm_measured
from mm_cli import docker_config, one_error, run_cli
from mm_faults import Fault, FaultProxy, slow, status
from mm_measured import Measured

MIB = 1024 * 1024
MANIFEST_CAP = 4 * MIB           # 4194304
TOKEN_CAP = 1 * MIB              # 1048576
POOL = 32
ERROR = "multiarch-manifest: error: "
WRITES = ("PUT", "POST", "PATCH", "DELETE")
RSS_BOUND = 160 * MIB            # a CLI run is ~40-60 MiB; reading a 256 MiB body whole would blow this
CHUNK = 64 * 1024


# -- running the CLI, measured ------------------------------------------------------------------------

def run_measured(*args: str, env: dict | None = None, timeout: float = 90,
                 stop_when: Callable[[], str] | None = None) -> Measured:
    """``multiarch-manifest ARGS``, measured from outside (mm_measured); ``stop_when()`` kills it early."""
    return mm_measured.run_measured(*args, env=env, timeout=timeout,
                                    stop_when=None if stop_when is None else lambda pid: stop_when())


def writes_seen(proxy: FaultProxy, since: int = 0) -> list:
    return [(s.method, s.path, s.status) for s in proxy.seen[since:] if s.method in WRITES]


@pytest.fixture
def proxy(registry):
    # short socket timeout: bounds the proxy's occasional stall on the CLI's HTTPS probe (see
    # tests/registry/test_wait_faults.py)
    with FaultProxy(registry, timeout=3.0) as p:
        yield p


def seed(reg, repo: str) -> list[dict]:
    """Two per-arch images in ``REPO-src``: tags amd64 and arm64 (linux/arm64/v8)."""
    return [mm_images.push_image(reg, f"{repo}-src", "amd64", arch="amd64"),
            mm_images.push_image(reg, f"{repo}-src", "arm64", arch="arm64", variant="v8")]


def matrix_file(tmp_path: Path, refs: list[str]) -> Path:
    path = tmp_path / "matrix.json"
    path.write_text(json.dumps([{"image": r} for r in refs]))
    return path


# -- 1. the 4 MiB manifest cap --------------------------------------------------------------------------

def huge_manifest(framing: str, size: int, sent: list[int]) -> Fault:
    """200 with a manifest of ``size`` bytes (``{`` spaces ``}``), framed by ``framing``:

    * ``content-length``: a ``Content-Length`` header, the body in full;
    * ``chunked``: ``Transfer-Encoding: chunked``, no length;
    * ``eof``: neither - the body runs until the proxy closes the connection;
    * ``gzip``: ``Content-Encoding: gzip`` (which the client's ``Accept-Encoding`` invites) and the
      compressed length: a few KiB on the wire, ``size`` bytes once decoded - the cap is on the latter.

    The body is generated as it goes (a 256 MiB one is never held); ``sent[0]`` counts the body bytes
    the client's socket accepted before it hung up.
    """
    headers = {"Content-Type": mm_images.OCI_MANIFEST}
    if size <= 8 * MIB:   # small enough to hash: say which digest it has, as a registry would
        headers["Docker-Content-Digest"] = mm_images.sha256_digest(b"{" + b" " * (size - 2) + b"}")

    def pieces():
        yield b"{"
        left = size - 2
        block = b" " * CHUNK
        while left > 0:
            n = min(left, CHUNK)
            yield block[:n]
            left -= n
        yield b"}"

    def action(ex) -> None:
        ex.drain()
        hdrs = list(headers.items())
        if framing == "gzip":
            packer = zlib.compressobj(9, zlib.DEFLATED, 31)          # wbits 31: a gzip stream
            packed = b"".join(packer.compress(p) for p in pieces()) + packer.flush()
            ex.respond(200, {**headers, "Content-Encoding": "gzip"}, packed)
            sent[0] += len(packed)
            return
        if framing == "content-length":
            hdrs.append(("Content-Length", str(size)))
        elif framing == "chunked":
            hdrs.append(("Transfer-Encoding", "chunked"))
        ex.send_head(200, None, hdrs)
        if ex.method == "HEAD":
            return
        for piece in pieces():
            ex.send(b"%x\r\n%s\r\n" % (len(piece), piece) if framing == "chunked" else piece)
            sent[0] += len(piece)
        if framing == "chunked":
            ex.send(b"0\r\n\r\n")
    return Fault(f"huge_manifest({framing}, {size})", action)


@pytest.mark.fault("oversized-manifest", "reported")
@pytest.mark.parametrize("framing,size", [
    ("content-length", 5 * MIB + 2),          # the brief's body: b"{" + 5 MiB of spaces + b"}"
    ("chunked", 5 * MIB + 2),
    ("eof", 5 * MIB + 2),
    ("gzip", 5 * MIB + 2),
    ("chunked", 256 * MIB),                   # far over: the reading must stop at the cap
    ("gzip", 1024 * MIB),                     # ~1 MiB on the wire, 1 GiB decoded: a decompression bomb
], ids=["content-length-5MiB", "chunked-5MiB", "eof-5MiB", "gzip-5MiB", "chunked-256MiB", "gzip-1GiB"])
def test_source_manifest_over_4_MiB_is_refused_with_bounded_memory(proxy, registry, repo_name, tmp_path,
                                                                    framing, size):
    seed(registry, repo_name)
    src = rf"^/v2/{re.escape(repo_name)}-src/manifests/amd64$"
    sent = [0]
    proxy.add_rule("GET", src, fault=huge_manifest(framing, size, sent))
    refs = [f"{proxy.host}/{repo_name}-src:amd64", f"{proxy.host}/{repo_name}-src:arm64"]
    m = run_measured("push", "from-matrix", str(matrix_file(tmp_path, refs)),
                     "--target", f"{proxy.host}/{repo_name}:v1", "--wait-timeout", "0")
    run, elapsed, rss = m.run, m.seconds, m.rss
    assert not m.stopped, m.stopped
    line = one_error(run)
    assert str(MANIFEST_CAP) in line and "limit" in line, line
    assert f"{proxy.host}/{repo_name}-src:amd64" in line, line
    if framing == "content-length":
        assert str(size) in line, line        # the declared length is named, and nothing was read
    assert elapsed < 20, elapsed
    assert rss < RSS_BOUND, f"peak RSS {rss / MIB:.0f} MiB"
    # refused at once: the oversized answer is not retried (a bigger body will not get smaller)
    assert proxy.count("GET", src) == 1, [s for s in proxy.seen if re.search(src, s.path)]
    if size > 64 * MIB and framing != "gzip":
        assert sent[0] < 64 * MIB, f"the client took {sent[0] / MIB:.0f} MiB before hanging up"
    assert writes_seen(proxy) == []
    assert mm_images.list_tags(registry, repo_name) == []
    assert len(run.err) < 4096              # the body is never echoed


# -- 2. the 1 MiB token-response cap ----------------------------------------------------------------------

class BigTokenService:
    """A loopback token endpoint answering every GET/POST /token with a ``size``-byte JSON body."""

    def __init__(self, size: int, framing: str):
        self.size, self.framing = size, framing
        self.requests: list[tuple[str, str]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args):
                pass

            def _answer(self):
                service.requests.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                head, tail = b'{"token": "', b'", "expires_in": 300}'
                filler = service.size - len(head) - len(tail)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Connection", "close")
                if service.framing == "content-length":
                    self.send_header("Content-Length", str(service.size))
                else:
                    self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                pieces = [head] + [b"a" * min(CHUNK, filler - i) for i in range(0, filler, CHUNK)] + [tail]
                try:
                    for piece in pieces:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece)
                                         if service.framing == "chunked" else piece)
                    if service.framing == "chunked":
                        self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    pass                        # the client hung up at its cap
                self.close_connection = True

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def realm_to(realm: str) -> Fault:
    """Forward; point the ``WWW-Authenticate`` Bearer realm of the answer at ``realm``."""
    def action(ex) -> None:
        code, reason, headers, body = ex.fetch()
        headers = [(k, re.sub(r'realm="[^"]*"', f'realm="{realm}"', v) if k.lower() == "www-authenticate" else v)
                   for k, v in headers]
        ex.send_head(code, reason, headers)
        if ex.method != "HEAD":
            ex.send(body)
    return Fault(f"realm_to({realm})", action)


@pytest.mark.fault("oversized-token-response", "reported")
@pytest.mark.parametrize("grant,framing", [("anonymous-get", "content-length"), ("anonymous-get", "chunked"),
                                           ("identitytoken-post", "content-length")])
def test_token_response_over_1_MiB_is_refused(token_registry, repo_name, tmp_path, grant, framing):
    """The token registry, fronted by a proxy whose challenges name a token service that answers 2 MiB."""
    reg = token_registry
    seed(reg, repo_name)
    fake = BigTokenService(2 * MIB, framing)
    front = FaultProxy(reg, timeout=3.0).start()
    try:
        front.add_rule(fault=realm_to(fake.realm))
        refs = [f"{front.host}/{repo_name}-src:amd64", f"{front.host}/{repo_name}-src:arm64"]
        env = {}
        if grant == "identitytoken-post":
            cfg = docker_config(tmp_path / "docker", {front.host: {"auth": "", "identitytoken": "mm-user.abc123"}})
            env["DOCKER_CONFIG"] = str(cfg)
        m = run_measured("push", "from-matrix", str(matrix_file(tmp_path, refs)),
                         "--target", f"{front.host}/{repo_name}:v1", "--wait-timeout", "0", env=env)
        run, elapsed, rss = m.run, m.seconds, m.rss
        assert not m.stopped, m.stopped
        line = one_error(run)
        assert str(TOKEN_CAP) in line and "limit" in line, line
        assert "token" in line and front.host in line, line
        assert elapsed < 20, elapsed
        assert rss < RSS_BOUND, f"peak RSS {rss / MIB:.0f} MiB"
        methods = {m for m, _ in fake.requests}
        assert fake.requests and methods == {"POST" if grant == "identitytoken-post" else "GET"}, fake.requests
        assert len(fake.requests) <= 2, fake.requests      # one per concurrent source at most, not retried
        assert writes_seen(front) == []
        assert mm_images.list_tags(reg, repo_name) == []
        assert len(run.err) < 4096
    finally:
        front.stop()
        fake.stop()


# -- 3. a timeout on every request of one kind ----------------------------------------------------------
#
# --timeout 1 and slow(3) on every request of one kind: each such request times out, is retried a bounded
# number of times (1 + 4 retries), and the run fails with one line naming the host and the timeout.  The
# bound holds however many sources the run has: a request that already failed is not retried again, in
# full, by every other request that was waiting on it.  A watchdog ends the run once the proxy has seen
# more attempts than one request's retries, so a run that breaks this bound stays quick to report.

ATTEMPTS = 5                      # transport.Policy.retries + 1


@pytest.fixture
def slow_kind(request, registry, token_registry):
    """(proxy the CLI talks to, proxy whose requests are slowed, method, path regex, host named)."""
    kind = request.param
    if kind == "every-ping":
        p = FaultProxy(registry, timeout=3.0).start()
        p.add_rule("GET", r"^/v2/$", fault=slow(3))
        try:
            yield SimpleNamespace(reg=registry, front=p, slowed=p, method="GET", path=r"^/v2/$", host=p.host)
        finally:
            p.stop()
        return
    assert kind == "every-token-request"
    issuer_host = token_registry.token_url.split("/")[2]
    tokens = FaultProxy(SimpleNamespace(host=issuer_host, scheme="http", ca_file=None), timeout=3.0).start()
    front = FaultProxy(token_registry, timeout=3.0).start()
    front.add_rule(fault=realm_to(f"{tokens.url}/token"))
    tokens.add_rule("GET", r"^/token\?", fault=slow(3))
    try:
        yield SimpleNamespace(reg=token_registry, front=front, slowed=tokens, method="GET", path=r"^/token\?",
                              host=tokens.host)
    finally:
        front.stop()
        tokens.stop()


@pytest.mark.fault("slow-response", "reported")
@pytest.mark.parametrize("slow_kind", ["every-ping", "every-token-request"], indirect=True)
def test_timeout_on_every_request_of_one_kind(slow_kind, repo_name, tmp_path):
    k = slow_kind
    seed(k.reg, repo_name)
    refs = [f"{k.front.host}/{repo_name}-src:amd64", f"{k.front.host}/{repo_name}-src:arm64"]

    def too_many() -> str:
        n = k.slowed.count(k.method, k.path)
        return f"{n} attempts at {k.method} {k.path} (one request's bound is {ATTEMPTS})" if n > ATTEMPTS else ""

    # no --wait-timeout: a timeout must fail the run, not be waited out as "not landed yet" (default 300 s)
    m = run_measured("push", "from-matrix", str(matrix_file(tmp_path, refs)),
                     "--target", f"{k.front.host}/{repo_name}:v1", "--timeout", "1", stop_when=too_many)
    assert not m.stopped, f"killed after {m.seconds:.0f} s: {m.stopped}; stderr: {m.run.err[-300:]}"
    line = one_error(m.run)
    assert k.host in line, line
    assert re.search(r"timed out|Timeout", line), line
    # 5 attempts of 1 s plus jittered backoff (0.5+1+2+4 s at most), plus the HTTPS probe and start-up
    assert m.seconds < 20, m.seconds
    assert 1 < k.slowed.count(k.method, k.path) <= ATTEMPTS
    assert writes_seen(k.front) == []
    assert mm_images.list_tags(k.reg, repo_name) == []


# -- 4. a tag PUT failing forever: what was written, and a rerun converges --------------------------------

@pytest.mark.fault("5xx-on-tag-put", "reported")
def test_partial_tag_failure_names_tags_written_and_rerun_converges(proxy, registry, repo_name, tmp_path):
    seed(registry, repo_name)
    refs = [f"{proxy.host}/{repo_name}-src:amd64", f"{proxy.host}/{repo_name}-src:arm64"]
    args = ["push", "from-matrix", str(matrix_file(tmp_path, refs)), "--target", f"{proxy.host}/{repo_name}",
            "--tags", "a,b,c"]
    tag_b = rf"^/v2/{re.escape(repo_name)}/manifests/b$"
    proxy.add_rule("PUT", tag_b, fault=status(500))
    started = time.monotonic()
    run = run_cli(*args, timeout=90)
    elapsed = time.monotonic() - started
    line = one_error(run)
    assert elapsed < 20, elapsed
    assert f"{proxy.host}/{repo_name}:b" in line and "500" in line, line
    assert "tags written: a, c;" in line, line           # a alone first, then b and c at once
    assert "not written: b (" in line, line
    assert proxy.count("PUT", tag_b) == 5                 # bounded: 1 + 4 retries

    # the written tags hold the new index, and every child of it is in the target repository
    assert mm_images.list_tags(registry, repo_name) == ["a", "c"]
    _, doc, digest = mm_images.stored_index(registry, repo_name, "a")
    assert mm_images.stored_index(registry, repo_name, digest)[2] == digest
    assert len(doc["manifests"]) == 2
    for entry in doc["manifests"]:
        assert mm_images.manifest_exists(registry, repo_name, entry["digest"]), entry
        body, _, _ = mm_images.get_manifest(registry, repo_name, entry["digest"])
        child = json.loads(body)
        for blob in [child["config"], *child["layers"]]:
            assert mm_images.blob_exists(registry, repo_name, blob["digest"]), blob

    proxy.clear_rules()
    again = run_cli(*args, timeout=90)
    assert again.code == 0, again.err
    assert again.out.strip().splitlines()[-1] == f"{proxy.host}/{repo_name}@{digest}"
    assert mm_images.list_tags(registry, repo_name) == ["a", "b", "c"]
    for tag in ("a", "b", "c"):
        assert mm_images.stored_index(registry, repo_name, tag)[2] == digest, tag


# -- 5. bounded concurrency ------------------------------------------------------------------------------

OSES = ("linux", "windows", "freebsd", "netbsd", "openbsd")
ARCHES = ("amd64", "arm64", "386", "ppc64le", "s390x", "riscv64", "mips64le", "loong64")


class Gauge:
    def __init__(self):
        self.lock = threading.Lock()
        self.now = self.peak = self.total = 0


def gauged(gauge: Gauge, delay: float) -> Fault:
    """Count requests in flight around a ``delay`` (to widen their overlap) and the forward."""
    def action(ex) -> None:
        with gauge.lock:
            gauge.now += 1
            gauge.total += 1
            gauge.peak = max(gauge.peak, gauge.now)
        try:
            ex.wait(delay)
            ex.forward()
        finally:
            with gauge.lock:
                gauge.now -= 1
    return Fault("gauged", action)


def test_concurrency_is_bounded_by_the_pool(proxy, registry, repo_name, tmp_path):
    platforms = [(o, a) for o in OSES for a in ARCHES]
    assert len(platforms) == 40
    images = [mm_images.push_image(registry, repo_name, f"p{i}", os=o, arch=a) for i, (o, a) in enumerate(platforms)]
    gauge = Gauge()
    manifests = rf"^/v2/{re.escape(repo_name)}/manifests/p\d+$"
    proxy.add_rule("GET", manifests, fault=gauged(gauge, 0.2))
    refs = [f"{proxy.host}/{repo_name}:p{i}" for i in range(len(images))]
    run = run_cli("push", "from-matrix", str(matrix_file(tmp_path, refs)), "--target",
                  f"{proxy.host}/{repo_name}:multi", "--wait-timeout", "0", "--json", timeout=90)
    assert run.code == 0, run.err
    doc = run.json()
    assert len(doc["manifests"]) == 40
    assert sorted(m["digest"] for m in doc["manifests"]) == sorted(i["digest"] for i in images)
    assert gauge.total >= 40
    assert 1 < gauge.peak <= POOL, f"peak {gauge.peak} concurrent manifest GETs"
