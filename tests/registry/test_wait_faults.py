"""Waiting for sources through a fault-injecting proxy in front of the real registry.

The CLI is pointed at the proxy's host for the sources *and* the target (``proxy.registry``), so every
request it makes is seen, and can be answered, by the proxy: rate limiting (429 + Retry-After), a tag
that appears late (404 then 200), a registry that stays busy (503) and a refusal (403 / 401).

Timings are measured from the first faulted request (noted by the proxy), not from the process
start: the tool first tries HTTPS against the plain-HTTP proxy, and now and then the proxy's request
parser waits on that TLS hello (about 1 in 15 attempts: when its first "line" happens to split into
three words, mm_faults.Exchange goes on to read headers that never come) until a socket timeout, which
says nothing about how the tool waits.
"""
from __future__ import annotations

import re
import time
from itertools import pairwise

import pytest

import mm_images
from mm_cli import run_cli
from mm_faults import Fault, FaultProxy, not_found_until, status
from mm_runner import log_mark, writes_since

WRITES = ("PUT", "POST", "PATCH", "DELETE")
DENIED = b'{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}'


@pytest.fixture
def proxy(registry):
    # A short socket timeout bounds the occasional stall on the tool's HTTPS attempt (module docstring)
    # to 3 s; every exchange here is quick, so nothing else comes near it.
    with FaultProxy(registry, timeout=3.0) as p:
        yield p


@pytest.fixture
def sources(registry, repo_name):
    """Two per-arch images, REPO-amd64:v1 and REPO-arm64:v1, seeded directly in the registry."""
    return {"amd64": mm_images.push_image(registry, f"{repo_name}-amd64", "v1", arch="amd64"),
            "arm64": mm_images.push_image(registry, f"{repo_name}-arm64", "v1", arch="arm64")}


def push_through(proxy, repo: str, wait_timeout: str):
    host = proxy.registry.host
    return run_cli("push", "from-args", "--platforms", "linux/amd64,linux/arm64",
                   "--template", f"{host}/{repo}-ARCH:v1", "--target", f"{host}/{repo}:v1",
                   "--wait-timeout", wait_timeout, timeout=60)


def arm64_manifest_path(repo: str) -> str:
    return rf"^/v2/{repo}-arm64/manifests/v1$"


def manifest_gets(proxy, repo: str) -> list[int | None]:
    path = f"/v2/{repo}-arm64/manifests/v1"
    return [s.status for s in proxy.seen if s.method == "GET" and s.path == path]


def assert_pushed(registry, repo: str, sources: dict) -> None:
    _, doc, _digest = mm_images.stored_index(registry, repo, "v1")
    assert sorted(m["digest"] for m in doc["manifests"]) == sorted(s["digest"] for s in sources.values())
    assert mm_images.list_tags(registry, repo) == ["v1"]


def assert_nothing_pushed(proxy, registry, repo: str, mark: int) -> None:
    assert [s for s in proxy.seen if s.method in WRITES] == []
    assert writes_since(registry, mark, repo) == []
    assert mm_images.list_tags(registry, repo) == []


def timed(fault: Fault, times: list[float]) -> Fault:
    """``fault`` (same default attempts), noting when each request it answers arrived."""
    def action(ex):
        times.append(time.monotonic())
        fault.action(ex)
    return Fault(f"timed({fault.name})", action, fault.attempts)


def forward(ex) -> None:
    ex.forward()


def test_rate_limited_source_is_retried_after_retry_after(proxy, registry, repo_name, sources):
    times: list[float] = []
    proxy.add_rule("GET", arm64_manifest_path(repo_name), on_attempts={1, 2, 3},
                   fault=timed(status(429, {"Retry-After": "1"}), times))
    proxy.add_rule("GET", arm64_manifest_path(repo_name), fault=timed(Fault("forward", forward), times))
    started = time.monotonic()
    r = push_through(proxy, repo_name, "60")
    done = time.monotonic()
    assert r.code == 0, r.err
    assert manifest_gets(proxy, repo_name) == [429, 429, 429, 200]
    # Retry-After: 1 was honoured before every retry
    gaps = [b - a for a, b in pairwise(times)]
    assert len(gaps) == 3 and all(gap >= 0.95 for gap in gaps), gaps
    assert done - started >= 3.0 and done - times[0] < 30, (done - started, done - times[0])
    assert_pushed(registry, repo_name, sources)
    assert "Traceback" not in r.err


@pytest.mark.fault("late-tag", "survived")
def test_tag_that_appears_late_is_waited_for(proxy, registry, repo_name, sources):
    times: list[float] = []
    proxy.add_rule("GET", arm64_manifest_path(repo_name), fault=timed(not_found_until(3), times))
    r = push_through(proxy, repo_name, "60")
    done = time.monotonic()
    assert r.code == 0, r.err
    assert done - times[0] < 20
    host = proxy.registry.host
    progress = [line for line in r.err_lines if "waiting for" in line]
    assert progress and all(f"linux/arm64 {host}/{repo_name}-arm64:v1 (not found" in line for line in progress)
    assert all(re.match(r"1/2 landed \(\d+ s\); waiting for ", line) for line in progress), progress
    assert any(line.startswith("2/2 landed") for line in r.err_lines), r.err
    assert manifest_gets(proxy, repo_name) == [404, 404, 404, 200]
    assert_pushed(registry, repo_name, sources)
    assert r.out.strip().splitlines()[-1].startswith(f"{host}/{repo_name}@sha256:")


@pytest.mark.fault("5xx-forever", "reported")
def test_registry_busy_forever_times_out_and_pushes_nothing(proxy, registry, repo_name, sources):
    times: list[float] = []
    proxy.add_rule("GET", arm64_manifest_path(repo_name), fault=timed(status(503), times))
    mark = log_mark(registry)
    started = time.monotonic()
    r = push_through(proxy, repo_name, "3")
    done = time.monotonic()
    assert r.code == 1, r.err
    assert done - started >= 3 and done - times[0] < 20, (done - started, done - times[0])
    last = r.err_lines[-1]
    ghost = f"{proxy.registry.host}/{repo_name}-arm64:v1"
    assert last.startswith("multiarch-manifest: error: 1 of 2 source(s) did not land within 3 s: "), last
    assert f"linux/arm64 {ghost} (registry busy: HTTP 503)" in last
    assert "Traceback" not in r.err
    assert manifest_gets(proxy, repo_name) and set(manifest_gets(proxy, repo_name)) == {503}
    assert_nothing_pushed(proxy, registry, repo_name, mark)


def test_access_denied_during_the_wait_fails_at_once(proxy, registry, repo_name, sources):
    times: list[float] = []
    proxy.add_rule("GET", arm64_manifest_path(repo_name),
                   fault=timed(status(403, {"Content-Type": "application/json"}, DENIED), times))
    mark = log_mark(registry)
    started = time.monotonic()
    r = push_through(proxy, repo_name, "60")
    done = time.monotonic()
    assert r.code == 1, r.err
    # no waiting: a refusal is not "not there yet" (the wait timeout is 60 s)
    assert done - times[0] < 5 and done - started < 30, (done - times[0], done - started)
    assert "waiting for" not in r.err
    last = r.err_lines[-1]
    assert last.startswith("multiarch-manifest: error: "), last
    assert f"{proxy.registry.host}/{repo_name}-arm64:v1" in last
    assert "403" in last and "DENIED" in last
    assert "Traceback" not in r.err
    assert manifest_gets(proxy, repo_name) == [403]       # asked once, not retried
    assert_nothing_pushed(proxy, registry, repo_name, mark)


def test_login_required_during_the_wait_fails_at_once(proxy, registry, repo_name, sources):
    times: list[float] = []
    proxy.add_rule("GET", arm64_manifest_path(repo_name),
                   fault=timed(status(401, {"WWW-Authenticate": 'Basic realm="x"'}), times))
    mark = log_mark(registry)
    started = time.monotonic()
    r = push_through(proxy, repo_name, "60")
    done = time.monotonic()
    assert r.code == 1, r.err
    assert done - times[0] < 5 and done - started < 30, (done - times[0], done - started)
    assert "waiting for" not in r.err
    last = r.err_lines[-1]
    assert "requires a login" in last or "401" in last, last
    assert proxy.registry.host in last
    assert "Traceback" not in r.err
    assert_nothing_pushed(proxy, registry, repo_name, mark)
