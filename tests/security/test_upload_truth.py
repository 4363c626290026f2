"""Errors tell the truth (issue 9): a failed upload commit is retried from a fresh session and, when it
keeps failing, reported with the registry's own status and message — not the 404 a reused session gives.

The fault proxy plays a registry whose disk is full: the final ``PUT ?digest=`` of an upload fails with
a 500 and the registry drops that upload session (as distribution does when a commit fails; the proxy
cancels it upstream with a DELETE), so a retry into the same upload URL could only get 404.
"""
from __future__ import annotations

import json
import re

import pytest

import mm_images
from mm_cli import run_cli
from mm_faults import Fault, FaultProxy

ERROR = "multiarch-manifest: error: "
FINAL_PUT = r"/blobs/uploads/[^?]+\?.*digest="
DISK_FULL = "write /var/lib/registry/docker/registry/v2/blobs: no space left on device"


def commit_fails_and_drops_session() -> Fault:
    """Each live session's commit: cancel the session upstream, answer 500 (disk full). A session
    already cancelled is passed through, so it gets the real registry's 404 BLOB_UPLOAD_UNKNOWN."""
    dropped: set[str] = set()

    def action(ex) -> None:
        path, _, query = ex.target.partition("?")
        if path in dropped:
            return ex.forward()
        dropped.add(path)
        ex.drain()
        state = "&".join(p for p in query.split("&") if p and not p.startswith("digest="))
        conn = ex.proxy._connect()
        try:
            conn.request("DELETE", f"{path}?{state}" if state else path, headers={"Host": ex.proxy.upstream.host})
            conn.getresponse().read()
        finally:
            ex.proxy._untrack(conn.sock)
            conn.close()
        ex.respond(500, {"Content-Type": "application/json"},
                   json.dumps({"errors": [{"code": "UNKNOWN", "message": DISK_FULL}]}).encode())
    return Fault("commit_fails_and_drops_session", action)


@pytest.fixture
def target(registry):
    with FaultProxy(registry, timeout=3.0) as p:
        yield p


def push_across(target, registry2, repo_name):
    img = mm_images.push_image(registry2, f"{repo_name}/src", "amd64")
    run = run_cli("push", "from-matrix", "-", "--target", f"{target.host}/{repo_name}:v1",
                  stdin=json.dumps([{"image": img["ref"]}]), timeout=120)
    return img, run


def upload_requests(proxy, method: str) -> list:
    return [s for s in proxy.seen if s.method == method and "/blobs/uploads/" in s.path]


@pytest.mark.fault("upload-commit-5xx", "survived")
def test_a_failed_commit_is_retried_in_a_fresh_session(target, registry, registry2, repo_name):
    rule = target.add_rule("PUT", FINAL_PUT, on_attempts={1}, fault=commit_fails_and_drops_session())
    img, run = push_across(target, registry2, repo_name)
    assert run.code == 0, run.err
    assert rule.fired == 1
    puts = upload_requests(target, "PUT")
    failed, retried = puts[0].path, [p.path for p in puts[1:]]
    blob = re.search(r"digest=([^&]+)", failed).group(1).replace("%3A", ":")
    again = [p for p in retried if blob.replace(":", "%3A") in p or blob in p]
    assert again and again[0].split("?")[0] != failed.split("?")[0], (failed, retried)   # a new session
    for digest in [img["config_digest"], *img["layer_digests"]]:
        assert mm_images.blob_exists(registry, repo_name, digest)


@pytest.mark.fault("upload-commit-5xx", "reported")
def test_a_commit_that_keeps_failing_reports_the_registrys_own_error(target, registry, registry2, repo_name):
    target.add_rule("PUT", FINAL_PUT, fault=commit_fails_and_drops_session())
    _img, run = push_across(target, registry2, repo_name)
    assert run.code == 1, run
    errors = [line for line in run.err_lines if line.startswith(ERROR)]
    assert len(errors) == 1 and run.err_lines[-1] == errors[0], run.err
    line = errors[0]
    assert "finish upload" in line and "HTTP 500" in line and "no space left on device" in line, line
    assert "404" not in line and "BLOB_UPLOAD_UNKNOWN" not in line, line
    assert mm_images.list_tags(registry, repo_name) == []
    # every retry used a session of its own: no upload URL got two final PUTs
    sessions = [s.path.split("?")[0] for s in upload_requests(target, "PUT")]
    assert len(sessions) == len(set(sessions)) > 1, sessions
