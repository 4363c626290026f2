"""Fault injection: the real CLI against real registries behind a fault-injecting proxy.

Each test injects one kind of fault (``mm_faults``) into the requests the CLI makes and asserts one
of two outcomes (the ``fault(kind, outcome)`` marker the suite tallies for the README):

* ``survived`` - the run succeeds after a bounded number of retries; the proxy saw exactly the
  attempts expected for the faulted request, and every child manifest and blob the pushed index
  references is present in the target repository;
* ``reported`` - the run exits 1 within a bounded time with one error line naming the step, the
  ref and the HTTP status (or the transport failure), and no tag was written on an index whose
  children are not all present.

In every case a rerun with the fault removed converges to the digest a fault-free run gives.

Sources live in ``REPO-src`` (tags ``amd64`` / ``arm64``), the index is pushed to ``REPO``; both
are addressed through the proxy (``proxy.host``) unless a test says otherwise, so the proxy sees,
and may answer, every request the CLI makes.
"""
from __future__ import annotations

import base64
import json
import re
import time
from itertools import pairwise
from types import SimpleNamespace

import pytest

import mm_images
import mm_registry
from mm_cli import docker_config, one_error, run_cli
from mm_faults import (
    Fault,
    FaultProxy,
    not_found_until,
    redirect,
    reset_before,
    reset_mid_body,
    retry_after_date,
    slow,
    status,
    tamper,
    truncate,
)
from mm_token_issuer import TokenIssuer

WRITES = ("PUT", "POST", "PATCH", "DELETE")
ERROR = "multiarch-manifest: error: "
RETRIES = 4                       # transport.Policy.retries: a request is sent at most 5 times


# -- fixtures and helpers ----------------------------------------------------------------------------

@pytest.fixture
def proxy(registry):
    # a short socket timeout bounds the proxy's occasional stall on the CLI's HTTPS probe (see
    # tests/registry/test_wait_faults.py); every exchange here is quick otherwise
    with FaultProxy(registry, timeout=3.0) as p:
        yield p


def seed(reg, repo: str, salt: str = "") -> list[dict]:
    """Two per-arch images in ``REPO-src``, tagged amd64 and arm64 (linux/arm64/v8)."""
    return [mm_images.push_image(reg, f"{repo}-src", "amd64", arch="amd64", salt=salt),
            mm_images.push_image(reg, f"{repo}-src", "arm64", arch="arm64", variant="v8", salt=salt)]


def matrix(host: str, repo: str, tags=("amd64", "arm64")) -> str:
    return json.dumps([{"image": f"{host}/{repo}-src:{t}"} for t in tags])


def push(host: str, repo: str, stdin: str, *args: str):
    """``push from-matrix - --target HOST/REPO:v1 --json --wait-timeout 0 ARGS``; (run, seconds)."""
    started = time.monotonic()
    run = run_cli("push", "from-matrix", "-", "--target", f"{host}/{repo}:v1", "--json",
                  "--wait-timeout", "0", *args, stdin=stdin, timeout=90)
    return run, time.monotonic() - started


def dry_run_digest(host: str, repo: str, stdin: str, *args: str) -> str:
    """The digest a fault-free run composes: a dry run, before any fault rule is added."""
    run, _ = push(host, repo, stdin, "--dry-run", *args)
    assert run.code == 0, run.err
    return run.json()["digest"]


def ok(run) -> dict:
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    return run.json()


def attempts(proxy, method: str, path_regex: str, since: int = 0) -> list[int | None]:
    """Statuses the proxy sent, in order, for requests matching ``method`` and ``path_regex``."""
    return [s.status for s in proxy.seen[since:]
            if s.method == method and re.search(path_regex, s.path)]


def writes(proxy, repo: str, since: int = 0) -> list:
    return [(s.method, s.path, s.status) for s in proxy.seen[since:]
            if s.method in WRITES and s.path.startswith(f"/v2/{repo}/")]


def timed(fault: Fault, times: list[float]) -> Fault:
    """``fault`` (same default attempts), noting when each request it answers arrived."""
    def action(ex):
        times.append(time.monotonic())
        fault.action(ex)
    return Fault(f"timed({fault.name})", action, fault.attempts)


def passthrough() -> Fault:
    return Fault("forward", lambda ex: ex.forward())


def assert_complete(reg, repo: str, tag: str, digest: str | None = None) -> dict:
    """``tag`` holds an index (of ``digest``) whose every child manifest and blob is in ``repo``."""
    _, doc, got = mm_images.stored_index(reg, repo, tag)
    if digest is not None:
        assert got == digest
    assert doc["manifests"]
    for entry in doc["manifests"]:
        assert mm_images.manifest_exists(reg, repo, entry["digest"]), entry["digest"]
        body, _, _ = mm_images.get_manifest(reg, repo, entry["digest"])
        assert mm_images.sha256_digest(body) == entry["digest"]
        child = json.loads(body)
        for blob in [child["config"], *child["layers"]]:
            assert mm_images.blob_exists(reg, repo, blob["digest"]), (entry["digest"], blob["digest"])
    return doc


def assert_converges(host: str, repo: str, stdin: str, expected: str, *args: str, reg=None,
                     tags=("v1",)) -> None:
    """A rerun without faults succeeds with the ``expected`` digest, every tag on a complete index."""
    run, _ = push(host, repo, stdin, *args)
    assert ok(run)["digest"] == expected
    if reg is not None:
        for tag in tags:
            assert_complete(reg, repo, tag, expected)


def survived(proxy, registry, repo: str, stdin: str, run) -> str:
    """The faulted run pushed a complete index; a fault-free rerun gives the same digest."""
    digest = ok(run)["digest"]
    assert_complete(registry, repo, "v1", digest)
    assert mm_images.list_tags(registry, repo) == ["v1"]
    proxy.clear_rules()
    assert_converges(proxy.host, repo, stdin, digest, reg=registry)
    return digest


# -- 429 Too Many Requests + Retry-After ------------------------------------------------------------

def _rate_limited(proxy, registry, repo_name, retry_after):
    seed(registry, repo_name)
    src = rf"^/v2/{re.escape(repo_name)}-src/manifests/amd64$"
    times: list[float] = []

    def limited(ex):
        ex.drain()
        ex.respond(429, {"Retry-After": retry_after(), "Content-Type": "application/json"},
                   b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}')
    proxy.add_rule("GET", src, on_attempts={1, 2}, fault=timed(Fault("429", limited), times))
    proxy.add_rule("GET", src, fault=timed(passthrough(), times))
    stdin = matrix(proxy.host, repo_name)
    run, _ = push(proxy.host, repo_name, stdin)
    assert attempts(proxy, "GET", src) == [429, 429, 200]
    gaps = [b - a for a, b in pairwise(times)]
    assert len(gaps) == 2 and all(g >= 0.9 for g in gaps), gaps
    survived(proxy, registry, repo_name, stdin, run)


@pytest.mark.fault("429-retry-after-seconds", "survived")
def test_429_retry_after_seconds_on_source_get(proxy, registry, repo_name):
    _rate_limited(proxy, registry, repo_name, lambda: "1")


@pytest.mark.fault("429-retry-after-date", "survived")
def test_429_retry_after_http_date_on_source_get(proxy, registry, repo_name):
    # an HTTP date has whole seconds: "now + 2 s" rounded down is still more than 1 s away
    _rate_limited(proxy, registry, repo_name, lambda: retry_after_date(2))


# -- 5xx on a blob mount and on a child manifest PUT ------------------------------------------------

@pytest.mark.parametrize("code", [
    pytest.param(500, marks=pytest.mark.fault("500", "survived")),
    pytest.param(502, marks=pytest.mark.fault("502", "survived")),
    pytest.param(503, marks=pytest.mark.fault("503", "survived")),
    pytest.param(504, marks=pytest.mark.fault("504", "survived")),
])
def test_5xx_on_blob_mount_and_child_manifest_put_is_retried(proxy, registry, repo_name, code):
    amd, arm = seed(registry, repo_name)
    repo = re.escape(repo_name)
    layer_hex = amd["layer_digests"][0].split(":")[1]
    mount = rf"^/v2/{repo}/blobs/uploads/\?mount=sha256%3A{layer_hex}&"
    child = rf"^/v2/{repo}/manifests/{arm['digest']}$"
    proxy.add_rule("POST", mount, on_attempts={1, 2}, fault=status(code))
    proxy.add_rule("PUT", child, on_attempts={1, 2}, fault=status(code))
    stdin = matrix(proxy.host, repo_name)
    run, _ = push(proxy.host, repo_name, stdin)
    assert attempts(proxy, "POST", mount) == [code, code, 201]
    assert attempts(proxy, "PUT", child) == [code, code, 201]
    survived(proxy, registry, repo_name, stdin, run)


# -- broken connections and bodies on the source manifest GET ---------------------------------------

@pytest.mark.parametrize("fault, first", [
    pytest.param(reset_before(), None, id="reset-before-response",
                 marks=pytest.mark.fault("reset-before-response", "survived")),
    pytest.param(reset_mid_body(), 200, id="reset-mid-body",
                 marks=pytest.mark.fault("reset-mid-body", "survived")),
    pytest.param(truncate(), 200, id="truncated-body",
                 marks=pytest.mark.fault("truncated-body", "survived")),
])
def test_broken_source_manifest_get_is_retried(proxy, registry, repo_name, fault, first):
    seed(registry, repo_name)
    src = rf"^/v2/{re.escape(repo_name)}-src/manifests/amd64$"
    rule = proxy.add_rule("GET", src, on_attempts={1}, fault=fault)
    stdin = matrix(proxy.host, repo_name)
    run, _ = push(proxy.host, repo_name, stdin)
    # the status line went out (200) before the body broke; a reset before it leaves None
    assert attempts(proxy, "GET", src) == [first, 200]
    assert rule.fired == 1
    survived(proxy, registry, repo_name, stdin, run)


def _committed_then_reset(ex) -> None:
    """Forward the request (the registry acts on it), then RST instead of sending its answer."""
    ex.fetch()
    ex.reset()


@pytest.mark.fault("reset-before-response", "survived")
def test_reset_before_response_after_blob_upload_was_committed(proxy, registry, registry2, repo_name):
    """The connection dies after the registry stored the blob, before its 201 reached the CLI (a
    real network blip at the worst moment).  The blob is there: the run must not fail on it."""
    amd, _arm = seed(registry2, repo_name)
    layer = amd["layer_digests"][0]
    finish = rf"^/v2/{re.escape(repo_name)}/blobs/uploads/[^?]*\?.*digest=sha256%3A{layer[7:]}"
    rule = proxy.add_rule("PUT", finish, on_attempts={1}, fault=Fault("committed", _committed_then_reset))
    stdin = matrix(registry2.host, repo_name)                 # cross-registry: blobs are uploaded
    run, _ = push(proxy.host, repo_name, stdin)
    assert rule.fired == 1
    assert attempts(proxy, "PUT", finish)[0] is None
    assert len(attempts(proxy, "PUT", finish)) <= RETRIES + 1
    assert mm_images.blob_exists(registry, repo_name, layer)
    survived(proxy, registry, repo_name, stdin, run)


# -- a source tag that appears late (also: tests/registry/test_wait_faults.py) -------------------------

@pytest.mark.fault("late-tag", "survived")
def test_late_source_tag_is_waited_for(proxy, registry, repo_name):
    seed(registry, repo_name)
    src = rf"^/v2/{re.escape(repo_name)}-src/manifests/arm64$"
    proxy.add_rule("GET", src, fault=not_found_until(2))
    stdin = matrix(proxy.host, repo_name)
    run, elapsed = push(proxy.host, repo_name, stdin, "--wait-timeout", "30")   # the last one wins
    assert attempts(proxy, "GET", src) == [404, 404, 200]
    assert elapsed < 15, elapsed
    assert any("waiting for" in line and f"{repo_name}-src:arm64 (not found" in line
               for line in run.err_lines), run.err
    survived(proxy, registry, repo_name, stdin, run)


# -- slow responses against --timeout -----------------------------------------------------------------

@pytest.mark.fault("slow-response", "survived")
def test_slow_source_manifest_get_times_out_and_is_retried(proxy, registry, repo_name):
    seed(registry, repo_name)
    src = rf"^/v2/{re.escape(repo_name)}-src/manifests/amd64$"
    rule = proxy.add_rule("GET", src, on_attempts={1}, fault=slow(5))
    stdin = matrix(proxy.host, repo_name)
    run, elapsed = push(proxy.host, repo_name, stdin, "--timeout", "1")
    assert proxy.count("GET", src) == 2 and rule.fired == 1
    assert attempts(proxy, "GET", src)[1] == 200
    assert elapsed < 5 + 3, elapsed       # gave up on the slow answer after about 1 s
    survived(proxy, registry, repo_name, stdin, run)


@pytest.mark.fault("slow-response", "reported")
def test_slow_source_manifest_get_forever_is_reported(proxy, registry, repo_name):
    seed(registry, repo_name)
    src = rf"^/v2/{re.escape(repo_name)}-src/manifests/amd64$"
    stdin = matrix(proxy.host, repo_name)
    expected = dry_run_digest(proxy.host, repo_name, stdin)
    proxy.add_rule("GET", src, fault=slow(5))
    since = len(proxy.seen)
    run, elapsed = push(proxy.host, repo_name, stdin, "--timeout", "1")
    line = one_error(run)
    assert elapsed < 20, elapsed          # 5 timeouts of 1 s plus backoff
    assert len(attempts(proxy, "GET", src, since)) == RETRIES + 1
    assert "get manifest" in line and f"{proxy.host}/{repo_name}-src:amd64" in line, line
    assert re.search(r"timed out|Timeout", line), line
    assert writes(proxy, repo_name, since) == []
    assert mm_images.list_tags(registry, repo_name) == []
    proxy.clear_rules()
    assert_converges(proxy.host, repo_name, stdin, expected, reg=registry)


# -- content that does not hash to its digest -----------------------------------------------------------

@pytest.mark.fault("tampered-manifest", "reported")
def test_tampered_child_manifest_is_reported(proxy, registry, repo_name):
    idx = mm_images.push_attested_index(registry, f"{repo_name}-src", "v1",
                                        platforms=(("linux", "amd64"), ("linux", "arm64")))
    victim = idx["images"][0]["digest"]
    stdin = json.dumps([{"image": f"{proxy.host}/{repo_name}-src:v1"}])
    expected = dry_run_digest(proxy.host, repo_name, stdin)
    child = rf"^/v2/{re.escape(repo_name)}-src/manifests/{victim}$"
    proxy.add_rule("GET", child, fault=tamper())
    since = len(proxy.seen)
    run, elapsed = push(proxy.host, repo_name, stdin)
    line = one_error(run)
    assert elapsed < 15, elapsed
    assert "get manifest" in line and f"{proxy.host}/{repo_name}-src@{victim}" in line, line
    assert "not the digest asked for" in line, line
    assert 1 <= len(attempts(proxy, "GET", child, since)) <= RETRIES + 1
    assert writes(proxy, repo_name, since) == []
    assert mm_images.list_tags(registry, repo_name) == []
    assert not mm_images.manifest_exists(registry, repo_name, victim)
    proxy.clear_rules()
    assert_converges(proxy.host, repo_name, stdin, expected, reg=registry)


@pytest.mark.fault("tampered-blob", "reported")
def test_tampered_source_blob_in_cross_registry_copy_is_reported(registry, registry2, repo_name):
    amd, _arm = seed(registry2, repo_name)
    layer = amd["layer_digests"][0]
    with FaultProxy(registry2, timeout=3.0) as src_proxy:
        stdin = matrix(src_proxy.host, repo_name)
        expected = dry_run_digest(registry.host, repo_name, stdin)
        blob = rf"^/v2/{re.escape(repo_name)}-src/blobs/{layer}$"
        src_proxy.add_rule("GET", blob, fault=tamper())
        run, elapsed = push(registry.host, repo_name, stdin)
        line = one_error(run)
        assert elapsed < 15, elapsed
        assert "does not hash" in line and layer in line, line
        assert f"{repo_name}-src" in line, line
        assert 1 <= len(attempts(src_proxy, "GET", blob)) <= RETRIES + 1
        assert mm_images.list_tags(registry, repo_name) == []
        assert not mm_images.blob_exists(registry, repo_name, layer)
        assert not mm_images.manifest_exists(registry, repo_name, amd["digest"])
        src_proxy.clear_rules()
        assert_converges(registry.host, repo_name, stdin, expected, reg=registry)


# -- the token service failing, then recovering ---------------------------------------------------------

class _FrontedIssuer(TokenIssuer):
    """A TokenIssuer whose realm (what the registry hands out) is a FaultProxy in front of it."""

    front: FaultProxy

    def start(self) -> _FrontedIssuer:
        super().start()
        direct = self.realm.split("/")[2]
        self.front = FaultProxy(SimpleNamespace(host=direct, scheme="http", ca_file=None),
                                timeout=3.0).start()
        self.realm = f"{self.front.url}/token"
        return self

    def stop(self) -> None:
        self.front.stop()
        super().stop()


@pytest.fixture(scope="module")
def fronted_token_registry(tmp_path_factory):
    """A token-auth registry whose token realm is a FaultProxy (``.token_issuer.front``)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mm_registry, "TokenIssuer", _FrontedIssuer)
        reg = mm_registry.start_registry(tmp_path_factory.mktemp("fronted-token"), auth="token")
    try:
        yield reg
    finally:
        reg.stop()


def _token_push(reg, repo: str, matrix_path, *args: str):
    started = time.monotonic()
    run = run_cli("push", "from-matrix", str(matrix_path), "--target", f"{reg.host}/{repo}:v1",
                  "--json", "--wait-timeout", "0", "--username", reg.username, "--password-stdin",
                  *args, stdin=reg.password + "\n", timeout=90)
    return run, time.monotonic() - started


@pytest.mark.fault("token-endpoint-failing", "survived")
def test_token_endpoint_failing_then_recovering(fronted_token_registry, repo_name, tmp_path):
    reg = fronted_token_registry
    front = reg.token_issuer.front
    seed(reg, repo_name)
    path = tmp_path / "matrix.json"
    path.write_text(matrix(reg.host, repo_name))
    token = r"^/token\?"
    since = len(front.seen)
    front.add_rule("GET", token, on_attempts={1, 2}, fault=status(503))
    run, _ = _token_push(reg, repo_name, path)
    digest = ok(run)["digest"]
    assert attempts(front, "GET", token, since) == [503, 503, 200]
    assert_complete(reg, repo_name, "v1", digest)
    assert mm_images.list_tags(reg, repo_name) == ["v1"]
    front.clear_rules()
    run, _ = _token_push(reg, repo_name, path)
    assert ok(run)["digest"] == digest
    assert reg.password not in run.out + run.err


@pytest.mark.fault("token-endpoint-failing", "reported")
def test_token_endpoint_failing_forever_is_reported(fronted_token_registry, repo_name, tmp_path):
    reg = fronted_token_registry
    front = reg.token_issuer.front
    seed(reg, repo_name)
    path = tmp_path / "matrix.json"
    path.write_text(matrix(reg.host, repo_name))
    run, _ = _token_push(reg, repo_name, path, "--dry-run")
    expected = ok(run)["digest"]
    token = r"^/token\?"
    front.add_rule("GET", token, fault=status(503))
    since = len(front.seen)
    run, elapsed = _token_push(reg, repo_name, path)
    assert elapsed < 25, elapsed
    tries = attempts(front, "GET", token, since)
    # bounded: at most one full retry sequence per source asking concurrently (2 sources here)
    assert tries and set(tries) == {503} and len(tries) <= 2 * (RETRIES + 1), tries
    front.clear_rules()          # (the checks below need tokens themselves)
    assert mm_images.list_tags(reg, repo_name) == []
    assert [e for e in reg.request_log() if e[0] in WRITES and f"/v2/{repo_name}/" in e[1]] == []
    line = one_error(run)
    # the error names the failing step - the token service - and its status; the sources are there,
    # so it must not be blamed on them ("did not land", "registry busy")
    assert "token service" in line and "HTTP 503" in line and reg.host in line, line
    assert "did not land" not in line and "registry busy" not in line, line
    assert reg.password not in run.out + run.err
    run, _ = _token_push(reg, repo_name, path)
    assert ok(run)["digest"] == expected
    assert_complete(reg, repo_name, "v1", expected)


# -- a redirect to another host must not carry the credentials -----------------------------------------

@pytest.mark.fault("redirect-to-other-host", "survived")
def test_blob_redirect_to_other_host_drops_authorization(token_registry, registry, registry2,
                                                         repo_name, tmp_path):
    salt = "redirect"
    images = seed(token_registry, repo_name, salt=salt)
    mirror = seed(registry, repo_name, salt=salt)        # the same blobs, where the redirect points
    assert [i["digest"] for i in images] == [i["digest"] for i in mirror]
    blobs = {b for i in images for b in (i["config_digest"], *i["layer_digests"])}
    with FaultProxy(token_registry, timeout=3.0) as source, FaultProxy(registry, timeout=3.0) as other:
        auth = base64.b64encode(f"{token_registry.username}:{token_registry.password}".encode()).decode()
        cfg = docker_config(tmp_path / "docker", {source.host: {"auth": auth}})
        env = {"DOCKER_CONFIG": str(cfg)}
        stdin = matrix(source.host, repo_name)
        target = registry2.host

        def run_push(*args):
            started = time.monotonic()
            r = run_cli("push", "from-matrix", "-", "--target", f"{target}/{repo_name}:v1", "--json",
                        "--wait-timeout", "0", *args, stdin=stdin, env=env, timeout=90)
            return r, time.monotonic() - started

        dry, _ = run_push("--dry-run")
        expected = ok(dry)["digest"]
        source.add_rule("GET", r"/blobs/sha256:", fault=redirect(other))
        since_s, since_o = len(source.seen), len(other.seen)
        run, _ = run_push()
        assert ok(run)["digest"] == expected
        redirected = [s for s in source.seen[since_s:] if s.method == "GET" and "/blobs/" in s.path]
        followed = [s for s in other.seen[since_o:] if s.method == "GET" and "/blobs/" in s.path]
        assert {s.path.rsplit("/", 1)[1] for s in redirected} == blobs
        assert all(s.status == 307 for s in redirected)
        # the CLI did send its credentials to the source registry ...
        assert all(s.headers.get("Authorization", "").startswith("Bearer ") for s in redirected)
        # ... and none to the other host the blobs were fetched from
        assert {s.path.rsplit("/", 1)[1] for s in followed} == blobs
        assert [s for s in followed if "Authorization" in s.headers] == []
        assert all(s.status == 200 for s in followed)
        assert_complete(registry2, repo_name, "v1", expected)
        assert mm_images.list_tags(registry2, repo_name) == ["v1"]
        source.clear_rules()
        again, _ = run_push()
        assert ok(again)["digest"] == expected
        assert token_registry.password not in run.out + run.err + again.out + again.err


# -- 5xx on the index and tag PUTs; bounded retries ------------------------------------------------------

@pytest.mark.fault("5xx-on-index-put", "reported")
def test_5xx_forever_on_index_put_is_reported_and_nothing_tagged(proxy, registry, repo_name):
    seed(registry, repo_name)
    stdin = matrix(proxy.host, repo_name)
    digest = dry_run_digest(proxy.host, repo_name, stdin)
    index = rf"^/v2/{re.escape(repo_name)}/manifests/{digest}$"
    proxy.add_rule("PUT", index, fault=status(500))
    since = len(proxy.seen)
    run, elapsed = push(proxy.host, repo_name, stdin)
    line = one_error(run)
    assert elapsed < 15, elapsed
    assert f"put manifest {proxy.host}/{repo_name}@{digest}: HTTP 500" in line, line
    assert attempts(proxy, "PUT", index, since) == [500] * (RETRIES + 1)
    assert [w for w in writes(proxy, repo_name, since)
            if re.search(r"/manifests/(?!sha256:)", w[1])] == []        # no tag PUT attempted
    assert mm_images.list_tags(registry, repo_name) == []
    proxy.clear_rules()
    assert_converges(proxy.host, repo_name, stdin, digest, reg=registry)


@pytest.mark.fault("5xx-on-tag-put", "reported")
def test_5xx_forever_on_second_tag_put_names_tags_written(proxy, registry, repo_name):
    seed(registry, repo_name)
    stdin = matrix(proxy.host, repo_name)
    digest = dry_run_digest(proxy.host, repo_name, stdin, "--tags", "a,b")
    second = rf"^/v2/{re.escape(repo_name)}/manifests/a$"
    proxy.add_rule("PUT", second, fault=status(500))
    since = len(proxy.seen)
    run, elapsed = push(proxy.host, repo_name, stdin, "--tags", "a,b")
    line = one_error(run)
    assert elapsed < 15, elapsed
    assert f"put manifest {proxy.host}/{repo_name}:a: HTTP 500" in line, line
    # the first tag alone, then a and b at once: b is written while a fails, and the report says so
    assert "tags written: v1, b;" in line and "not written: a (" in line, line
    assert attempts(proxy, "PUT", second, since) == [500] * (RETRIES + 1)
    assert attempts(proxy, "PUT", rf"^/v2/{re.escape(repo_name)}/manifests/b$", since) == [201]
    # the tags written point at the new index, whose children are all present
    assert mm_images.list_tags(registry, repo_name) == ["b", "v1"]
    assert_complete(registry, repo_name, "v1", digest)
    proxy.clear_rules()
    assert_converges(proxy.host, repo_name, stdin, digest, "--tags", "a,b", reg=registry,
                     tags=("v1", "a", "b"))
    assert mm_images.list_tags(registry, repo_name) == ["a", "b", "v1"]


@pytest.mark.fault("5xx-forever", "reported")
def test_retries_are_bounded_503_forever_on_child_manifest_put(proxy, registry, repo_name):
    amd, _arm = seed(registry, repo_name)
    stdin = matrix(proxy.host, repo_name)
    expected = dry_run_digest(proxy.host, repo_name, stdin)
    child = rf"^/v2/{re.escape(repo_name)}/manifests/{amd['digest']}$"
    times: list[float] = []
    proxy.add_rule("PUT", child, fault=timed(status(503), times))
    since = len(proxy.seen)
    run, elapsed = push(proxy.host, repo_name, stdin)
    line = one_error(run)
    assert attempts(proxy, "PUT", child, since) == [503] * (RETRIES + 1)
    assert elapsed < 15 and times[-1] - times[0] < 10, (elapsed, times)
    assert f"put manifest {proxy.host}/{repo_name}@{amd['digest']}: HTTP 503" in line, line
    assert mm_images.list_tags(registry, repo_name) == []
    assert attempts(proxy, "PUT", rf"^/v2/{re.escape(repo_name)}/manifests/{expected}$", since) == []
    proxy.clear_rules()
    assert_converges(proxy.host, repo_name, stdin, expected, reg=registry)
