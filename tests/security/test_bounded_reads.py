"""Every read is bounded (issue 9): bodies are capped, blobs never decoded, requests and waits end in time.

The real registry sits behind the fault proxy, whose answers ``mm_hostile`` faults make hostile (an
endless body, a body dripped a byte a second, a gzip label on a blob); ``mm_hostile.Hostile`` serves
bytes no proxy of a real answer would (an endless tag list). "Endless" bodies stop at a limit far
above every cap so a regression cannot exhaust the machine; the tests assert how much was sent.
"""
from __future__ import annotations

import json
import re
import time

import pytest

import mm_images
from mm_cli import one_error, run_cli
from mm_faults import Fault, FaultProxy
from mm_hostile import Hostile, Request, content_encoded, drip
from multiarch_ci.core.errors import RegistryError
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.registry import client as client_module
from multiarch_ci.registry.connect import connect
from multiarch_ci.registry.http.transport import Policy, Transport

ERROR = "multiarch-manifest: error: "
LIMIT = 256 * 1024 * 1024          # an "endless" body ends here, far above every cap


def counted_endless(sent: list[int], status: int | None = None, headers: dict | None = None) -> Fault:
    """Like mm_hostile.endless_body, stopping at LIMIT and counting the body bytes sent into `sent`."""
    def action(ex) -> None:
        if status is None:
            code, reason, hdrs, body = ex.fetch()
            hdrs = [(k, v) for k, v in hdrs if k.lower() != "content-length"]
        else:
            ex.drain()
            code, reason, hdrs, body = status, None, list((headers or {}).items()), b""
        ex.send_head(code, reason, hdrs)
        ex.send(body)
        sent.append(len(body))
        while sum(sent) < LIMIT and not ex.proxy._stopping.is_set():
            ex.send(b"x" * 65536)
            sent.append(65536)
    return Fault(f"endless({status})", action)


@pytest.fixture
def proxy(registry):
    with FaultProxy(registry, timeout=3.0) as p:
        yield p


# -- error bodies, the /v2/ ping: at most 64 KiB read ------------------------------------------------

@pytest.mark.hostile("endless-error-body")
@pytest.mark.parametrize("where", ["error-body", "ping"])
def test_an_endless_error_or_ping_body_is_cut_at_64_kib(proxy, registry, repo_name, where):
    img = mm_images.push_image(registry, repo_name, "amd64")
    sent: list[int] = []
    if where == "ping":
        proxy.add_rule("GET", r"^/v2/$", fault=counted_endless(sent, 200, {"Content-Type": "application/json"}))
    else:
        proxy.add_rule("GET", r"/manifests/amd64$", fault=counted_endless(
            sent, 404, {"Content-Type": "application/json"}))
    started = time.monotonic()
    run = run_cli("inspect", f"{proxy.host}/{repo_name}:amd64", "--json", timeout=60)
    elapsed = time.monotonic() - started
    assert sum(sent) < 32 * 1024 * 1024, f"{sum(sent)} bytes were sent before the client stopped reading"
    assert elapsed < 15, elapsed
    if where == "ping":
        assert run.code == 0, run.err
        assert run.json()["digest"] == img["digest"]
    else:
        line = one_error(run)
        assert "get manifest" in line and "HTTP 404" in line, line


def test_an_error_body_keeps_its_first_64_kib_for_the_message():
    big = json.dumps({"errors": [{"code": "DENIED", "message": "no"}]}).encode() + b" " * 300_000

    with Hostile(lambda req: req.respond(403, {"Content-Type": "application/json"}, big), ip="127.0.0.1") as srv:
        resp = Transport(Policy(retries=0), environ={}).send("GET", srv.url + "/v2/x", what="get x")
    assert resp.status_code == 403
    assert len(resp.content) == 64 * 1024
    assert resp.content.startswith(b'{"errors"')


# -- blobs: never content-decoded, never longer than their descriptor --------------------------------

@pytest.fixture
def source(registry2):
    with FaultProxy(registry2, timeout=3.0) as p:
        yield p


def copy_across(source_proxy, registry2, registry, repo_name):
    img = mm_images.push_image(registry2, f"{repo_name}/src", "amd64")
    args = ("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}/dst:v1")
    stdin = json.dumps([{"image": f"{source_proxy.host}/{repo_name}/src:amd64"}])
    return img, args, stdin


@pytest.mark.hostile("blob-longer-than-descriptor")
def test_a_blob_longer_than_its_descriptor_stops_at_once(source, registry2, registry, repo_name):
    img, args, stdin = copy_across(source, registry2, registry, repo_name)
    layer = img["layer_digests"][0]
    sent: list[int] = []
    source.add_rule("GET", rf"/blobs/{re.escape(layer)}$", fault=counted_endless(sent))
    mark = len(registry.request_log())
    started = time.monotonic()
    run = run_cli(*args, stdin=stdin, timeout=120)
    elapsed = time.monotonic() - started
    line = one_error(run)
    assert "more bytes than its descriptor" in line and layer in line, line
    assert sum(sent) < 32 * 1024 * 1024, sum(sent)
    assert elapsed < 20, elapsed
    written = [(m, p) for m, p, _ in registry.request_log()[mark:] if m in ("PATCH", "PUT")]
    assert not [p for m, p in written if "/manifests/" in p], written     # nothing tagged, no index
    assert not [m for m, p in written if m == "PATCH"], written           # no byte of it uploaded


@pytest.mark.hostile("blob-content-encoding-gzip")
def test_a_blob_labelled_gzip_is_hashed_as_sent(source, registry2, registry, repo_name):
    img, args, stdin = copy_across(source, registry2, registry, repo_name)
    layer = img["layer_digests"][0]
    source.add_rule("GET", rf"/blobs/{re.escape(layer)}$", fault=content_encoded(compress=False))
    run = run_cli(*args, stdin=stdin, timeout=120)
    assert run.code == 0, run.err
    assert mm_images.blob_exists(registry, f"{repo_name}/dst", layer)
    asked = [s for s in source.seen if s.method == "GET" and layer in s.path]
    assert asked and all(s.headers.get("Accept-Encoding") == "identity" for s in asked), asked


@pytest.mark.hostile("manifest-gzip")
def test_a_manifest_sent_gzip_with_a_content_length_still_works(proxy, registry, repo_name):
    img = mm_images.push_image(registry, repo_name, "amd64")
    rule = proxy.add_rule("GET", r"/manifests/amd64$", fault=content_encoded(compress=True))
    run = run_cli("inspect", f"{proxy.host}/{repo_name}:amd64", "--json", timeout=60)
    assert run.code == 0, run.err
    assert run.json()["digest"] == img["digest"]
    assert rule.fired == 1


# -- --timeout bounds a whole request; --wait-timeout the whole wait ----------------------------------

@pytest.mark.hostile("drip-body")
def test_a_dripped_body_fails_within_the_timeout():
    body = b'{"schemaVersion": 2}' * 5

    with Hostile(lambda req: req.drip(200, {"Content-Length": str(len(body))}, body, every=0.5),
                 ip="127.0.0.1") as srv:
        t = Transport(Policy(read_timeout=2.0, retries=0), environ={})
        started = time.monotonic()
        with pytest.raises(RegistryError) as info:
            t.send("GET", srv.url + "/v2/x/manifests/v1", what="get manifest x", body_cap=4096)
        elapsed = time.monotonic() - started
    assert elapsed < 2.0 + 1.5, elapsed
    assert "timed out" in str(info.value) and "2 s" in str(info.value), info.value


@pytest.mark.hostile("drip-body-cli")
def test_the_cli_gives_up_on_a_dripped_manifest_after_bounded_tries(proxy, registry, repo_name):
    mm_images.push_image(registry, repo_name, "amd64")
    proxy.add_rule("GET", r"/manifests/amd64$", fault=drip(1.0))
    started = time.monotonic()
    run = run_cli("inspect", f"{proxy.host}/{repo_name}:amd64", "--timeout", "2", timeout=90)
    elapsed = time.monotonic() - started
    line = one_error(run)
    assert re.search(r"get manifest .*timed out", line), line
    assert elapsed < 5 * 2 + 7.5 + 6, elapsed      # 5 tries of 2 s, backoff at most 7.5 s, start-up


@pytest.mark.hostile("drip-during-wait")
def test_the_wait_timeout_bounds_the_requests_too(proxy, registry, repo_name):
    mm_images.push_image(registry, f"{repo_name}/src", "amd64")
    proxy.add_rule("GET", r"/src/manifests/amd64$", fault=drip(1.0))
    started = time.monotonic()
    run = run_cli("push", "from-matrix", "-", "--target", f"{proxy.host}/{repo_name}/dst:v1", "--wait-timeout", "3",
                  stdin=json.dumps([{"image": f"{proxy.host}/{repo_name}/src:amd64"}]), timeout=90)
    elapsed = time.monotonic() - started
    line = one_error(run)
    assert "did not land within 3 s" in line and f"{repo_name}/src:amd64" in line, line
    assert elapsed < 3 + 1 + 5, elapsed             # the wait, one last short look, start-up
    assert not [s for s in proxy.seen if s.method in ("PUT", "POST", "PATCH")]


# -- tag-list pagination: same host, no page twice, a bounded number of pages --------------------------

@pytest.mark.hostile("tags-link-loop")
def test_a_tag_list_that_links_to_itself_is_an_error(proxy, registry, repo_name):
    mm_images.push_image(registry, f"{repo_name}/src", "amd64")

    def loop(ex) -> None:
        ex.drain()
        path = ex.target.split("?")[0]
        ex.respond(200, {"Content-Type": "application/json", "Link": f'<{path}?n=1&last=0.9.0>; rel="next"'},
                   json.dumps({"name": f"{repo_name}/dst", "tags": ["0.9.0"]}).encode())
    rule = proxy.add_rule("GET", r"/tags/list", fault=Fault("link-loop", loop))
    started = time.monotonic()
    run = run_cli("push", "from-matrix", "-", "--dry-run", "--semver", "1.0.0", "--target",
                  f"{proxy.host}/{repo_name}/dst", stdin=json.dumps([{"image": f"{proxy.host}/{repo_name}/src:amd64"}]),
                  timeout=60)
    line = one_error(run)
    assert "list tags" in line and "loop" in line, line
    assert rule.fired == 2                            # the first page, and its link once
    assert time.monotonic() - started < 15


@pytest.mark.hostile("tags-endless-pages")
def test_an_endless_tag_list_stops_at_the_page_limit():
    assert client_module.MAX_TAG_PAGES == 5000

    def pages(req: Request) -> None:
        if req.path == "/v2/":
            return req.respond(200, {}, b"{}")
        n = int(req.target.rsplit("=", 1)[1]) if "last=" in req.target else 0
        req.respond(200, {"Content-Type": "application/json",
                          "Link": f'</v2/team/app/tags/list?last={n + 1}>; rel="next"'},
                    json.dumps({"tags": [f"t{n}"]}).encode())
    with Hostile(pages, ip="127.0.0.1") as srv:
        client = connect(environ={})
        with pytest.raises(RegistryError) as info:
            client.list_tags(ImageRef.parse(f"{srv.host}/team/app"), max_pages=40)
    assert "more than 40 pages" in str(info.value)
    assert srv.paths().count("/v2/team/app/tags/list") == 40
