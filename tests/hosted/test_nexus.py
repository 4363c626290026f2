"""Sonatype Nexus Repository's docker hosted repositories as they really answer, emulated in the fault
proxy in front of the real registry. A Nexus docker repository is reached on its own connector port
(HOST:PORT/IMAGE, the port naming the Nexus repository), so the repository name Nexus reports
("docker-hosted" here) is not part of the image reference."""
from __future__ import annotations

import json

import pytest

import mm_images
import mm_selfhosted
from mm_cli import run_cli

REDEPLOY = "Repository does not allow updating assets: docker-hosted"


def _manifest_puts(proxy, repo: str):
    return [s for s in proxy.seen if s.method == "PUT" and s.path.startswith(f"/v2/{repo}/manifests/")]


@pytest.mark.fault("nexus_redeploy_disabled", "reported")
def test_moving_a_tag_under_disable_redeploy_names_the_policy(registry, proxy, repo_name, hosted):
    """Nexus, Deployment policy "Disable redeploy": a tag that exists cannot be written again, 400
    BLOB_UPLOAD_INVALID "blob upload invalid" with the reason only in detail, "Repository does not allow
    updating assets: <repository>" (GoogleContainerTools/jib#3057 for the body, #2395 for an existing
    `latest`). The new tag v1 is written; `latest` is reported with the policy and the fix, and still
    names the image it named before."""
    hosted.seed(registry, repo_name)
    before = mm_images.push_image(registry, repo_name, "latest", arch="s390x")
    proxy.add_rule(method="PUT", path=rf"^/v2/{repo_name}/manifests/", fault=mm_selfhosted.nexus_redeploy_disabled())
    run, _ = hosted.push(proxy.host, repo_name, "--tags", "latest")
    line = hosted.one_error(run)
    assert "HTTP 400 BLOB_UPLOAD_INVALID" in line and f"{proxy.host}/{repo_name}" in line
    assert "tags written: v1" in line and "not written: latest" in line
    assert REDEPLOY in line and "'Disable redeploy'" in line and "allow redeploy on the hosted repository" in line
    assert "push a new tag" in line
    assert mm_images.get_manifest(registry, repo_name, "latest")[2] == before["digest"]
    assert mm_images.manifest_exists(registry, repo_name, "v1")


@pytest.mark.fault("nexus_redeploy_disabled", "reported")
def test_rerun_under_disable_redeploy_is_refused_and_says_why(registry, proxy, repo_name, hosted):
    """The same policy refuses a manifest already stored (GoogleContainerTools/jib#3057: a new tag for a
    manifest Nexus holds). A rerun that would change nothing writes the same index again and is refused:
    reported with the policy, nothing changed in the repository (known limit: docs/registries.md)."""
    hosted.seed(registry, repo_name)
    first, _ = hosted.push(proxy.host, repo_name)
    digest = hosted.ok(first)["digest"]
    proxy.add_rule(method="PUT", path=rf"^/v2/{repo_name}/manifests/", fault=mm_selfhosted.nexus_redeploy_disabled())
    run, _ = hosted.push(proxy.host, repo_name)
    line = hosted.one_error(run)
    assert "HTTP 400 BLOB_UPLOAD_INVALID" in line and REDEPLOY in line and "a rerun fails too" in line
    assert mm_images.get_manifest(registry, repo_name, "v1")[2] == digest


@pytest.mark.fault("nexus_blob_race", "reported")
def test_blob_stored_by_a_concurrent_push_is_reported_as_safe_to_rerun(registry, registry2, proxy, repo_name):
    """Nexus with "Disable redeploy", two pushes storing the same new blob at once: the loser's closing
    upload PUT is refused 400 BLOB_UPLOAD_INVALID, detail "<repository>/v2/-/blobs/<digest> cannot be
    updated", though the blob is stored (sonatype/nexus-public#967). Reported as such ("rerunning is
    safe"), nothing tagged; the rerun then finds the blob and succeeds."""
    images = [mm_images.push_image(registry2, f"{repo_name}-src", a, arch=a) for a in ("amd64", "arm64")]
    matrix = json.dumps([{"image": i["ref"]} for i in images])
    proxy.add_rule(method="PUT", path=rf"^/v2/{repo_name}/blobs/uploads/.*digest=", on_attempts={1},
                   fault=mm_selfhosted.nexus_blob_race())
    args = ("push", "from-matrix", "-", "--target", f"{proxy.host}/{repo_name}:v1", "--json", "--wait-timeout", "0")
    run = run_cli(*args, stdin=matrix)
    assert run.code == 1 and "Traceback" not in run.err, run.err
    assert "HTTP 400 BLOB_UPLOAD_INVALID" in run.err and "cannot be updated" in run.err
    assert "nexus-public#967" in run.err and "rerunning is safe" in run.err
    assert not mm_images.manifest_exists(registry, repo_name, "v1")
    again = run_cli(*args, stdin=matrix)
    assert again.code == 0, again.err
    assert mm_images.stored_index(registry, repo_name, "v1")[2] == again.json()["digest"]


@pytest.mark.fault("nexus_manifest_needs_length", "survived")
@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_manifests_are_sent_with_a_content_length(registry, proxy, repo_name, hosted, fmt):
    """Nexus 3.95 (an `oci` hosted repository) refuses a chunked manifest PUT: 411 MANIFEST_INVALID
    "manifest upload requires Content-Length", detail {"maxSize": 10485760} (sonatype/nexus-public#1040).
    Every manifest we PUT (children, index by digest, tags) carries its length, so none is refused."""
    hosted.seed(registry, repo_name, fmt=fmt)
    proxy.add_rule(method="PUT", path=rf"^/v2/{repo_name}/manifests/",
                   fault=mm_selfhosted.nexus_manifest_needs_length())
    run, _ = hosted.push(proxy.host, repo_name, "--tags", "latest")
    out = hosted.ok(run)
    puts = _manifest_puts(proxy, repo_name)
    assert len(puts) >= 4 and all(s.status == 201 and "Content-Length" in s.headers for s in puts), puts
    assert mm_images.stored_index(registry, repo_name, "latest")[2] == out["digest"]
