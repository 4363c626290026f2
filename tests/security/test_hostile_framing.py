"""How an answer is framed cannot unbound a read or break a run: what an attacker's probes found in the
HTTP engine (issue 20), now answered by urllib3 under our guards (registry/http/connections.py).

- A chunk size line of ``-1`` made http.client (and urllib3 under it) read to the end of the stream: 300 MiB
  read, 628 MiB RSS. Now a bounded error at once, naming the broken framing.
- ``103 Early Hints`` (RFC 8297) before the answer was taken for the answer and failed the run. Now interim
  answers are skipped, a bounded number of them.
"""
from __future__ import annotations

import json
import time

import pytest

import mm_images
from mm_cli import one_error, run_cli
from mm_faults import Fault, FaultProxy

MIB = 1024 * 1024
STREAM = 64 * MIB      # what the hostile answer offers after its "-1": far more than any cap, bounded for the test


def negative_chunk(sent: list[int], size: bytes = b"-1") -> Fault:
    """A 200 whose chunked body starts with a negative chunk size, then STREAM bytes; counts what it sent."""
    def action(ex) -> None:
        ex.drain()
        ex.send_head(200, None, [("Content-Type", "application/vnd.docker.distribution.manifest.v2+json"),
                                 ("Transfer-Encoding", "chunked")])
        ex.send(size + b"\r\n")
        total = 0
        try:
            while total < STREAM and not ex.proxy._stopping.is_set():
                ex.send(b"x" * MIB)
                total += MIB
        finally:
            sent.append(total)
    return Fault(f"negative_chunk({size!r})", action)


def early_hints(count: int = 1) -> Fault:
    """`count` interim 103 answers (with a Link header, as a CDN sends them), then the registry's answer."""
    def action(ex) -> None:
        for _ in range(count):
            ex.send(b"HTTP/1.1 103 Early Hints\r\nLink: </v2/>; rel=preload\r\n\r\n")
        ex.forward()
    return Fault(f"early_hints({count})", action)


@pytest.fixture
def proxy(registry):
    with FaultProxy(registry, timeout=5.0) as p:
        yield p


@pytest.mark.hostile("negative-chunk-size")
@pytest.mark.parametrize("size", [b"-1", b"-0000000000000010"], ids=["minus-one", "minus-sixteen"])
def test_a_negative_chunk_size_is_a_bounded_error(proxy, registry, repo_name, size):
    mm_images.push_image(registry, repo_name, "amd64")
    sent: list[int] = []
    proxy.add_rule("GET", r"/manifests/amd64$", fault=negative_chunk(sent, size))
    started = time.monotonic()
    run = run_cli("inspect", f"{proxy.host}/{repo_name}:amd64", "--timeout", "10", timeout=120)
    elapsed = time.monotonic() - started
    line = one_error(run)
    assert run.code == 1, run.err
    assert "negative chunk size" in line and f"{proxy.host}/{repo_name}:amd64" in line, line
    deadline = time.monotonic() + 10      # the proxy counts when its send fails, after the client has closed
    while not sent and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(sent) == 1, sent                  # a broken framing is not asked for again
    assert max(sent) < STREAM // 2, sent         # the client stopped reading: the rest was never taken in
    assert elapsed < 15, elapsed


@pytest.mark.hostile("early-hints")
@pytest.mark.parametrize("count", [1, 3], ids=["one-103", "three-103"])
def test_early_hints_before_every_answer_change_nothing(proxy, registry, registry2, repo_name, count):
    """103 before every answer, on a whole push (ping, manifests, blobs, mounts, uploads, tags)."""
    images = [mm_images.push_image(registry2, f"{repo_name}/src", a, arch=a) for a in ("amd64", "arm64")]
    proxy.add_rule(fault=early_hints(count))
    run = run_cli("push", "from-matrix", "-", "--target", f"{proxy.host}/{repo_name}:v1", "--json",
                  stdin=json.dumps([{"image": i["ref"]} for i in images]))
    assert run.code == 0, run.err
    body, _, _ = mm_images.get_manifest(registry, repo_name, "v1")
    assert sorted(m["digest"] for m in json.loads(body)["manifests"]) == sorted(i["digest"] for i in images)
    assert {s.method for s in proxy.seen} >= {"GET", "PUT", "POST"}


@pytest.mark.hostile("endless-interim-answers")
def test_endless_interim_answers_are_a_bounded_error(proxy, registry, repo_name):
    mm_images.push_image(registry, repo_name, "amd64")
    proxy.add_rule("GET", r"/manifests/amd64$", fault=early_hints(10_000))
    started = time.monotonic()
    run = run_cli("inspect", f"{proxy.host}/{repo_name}:amd64", "--timeout", "5", timeout=120)
    line = one_error(run)
    assert "interim (1xx) answers" in line, line
    assert time.monotonic() - started < 30
