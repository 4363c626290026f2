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


@pytest.mark.fault("nexus_redeploy_disabled", "survived")
def test_unchanged_rerun_under_disable_redeploy_converges(registry, proxy, repo_name, hosted):
    """The same policy refuses a manifest already stored (GoogleContainerTools/jib#3057: a new tag for a
    manifest Nexus holds), so a rerun that changes nothing has every manifest PUT refused: each refusal is
    followed by a HEAD showing the reference already holds exactly those bytes, and the run succeeds with
    the same digest (before: exit 1, "a rerun fails too")."""
    hosted.seed(registry, repo_name)
    first, _ = hosted.push(proxy.host, repo_name)
    digest = hosted.ok(first)["digest"]
    puts_before = len(_manifest_puts(proxy, repo_name))
    proxy.add_rule(method="PUT", path=rf"^/v2/{repo_name}/manifests/", fault=mm_selfhosted.nexus_redeploy_disabled())
    run, _ = hosted.push(proxy.host, repo_name)
    assert hosted.ok(run)["digest"] == digest
    refused = [s for s in _manifest_puts(proxy, repo_name)[puts_before:]]
    assert refused and all(s.status == 400 for s in refused), [(s.path, s.status) for s in refused]
    heads = {s.path for s in proxy.seen if s.method == "HEAD" and s.path.startswith(f"/v2/{repo_name}/manifests/")}
    assert {s.path for s in refused} <= heads   # each refusal checked against what the reference holds
    assert mm_images.get_manifest(registry, repo_name, "v1")[2] == digest


@pytest.mark.fault("nexus_blob_race", "survived")
def test_blob_stored_by_a_concurrent_push_is_taken_as_stored(registry, registry2, proxy, repo_name):
    """Nexus with "Disable redeploy", two pushes storing the same new blob at once: the loser's closing
    upload PUT is refused 400 BLOB_UPLOAD_INVALID, detail "<repository>/v2/-/blobs/<digest> cannot be
    updated", though the blob is stored (sonatype/nexus-public#967). A HEAD finds the blob there, so the
    push goes on and succeeds (before: exit 1, "rerunning is safe")."""
    images = [mm_images.push_image(registry2, f"{repo_name}-src", a, arch=a) for a in ("amd64", "arm64")]
    matrix = json.dumps([{"image": i["ref"]} for i in images])
    rule = proxy.add_rule(method="PUT", path=rf"^/v2/{repo_name}/blobs/uploads/.*digest=", on_attempts={1},
                          fault=mm_selfhosted.nexus_blob_race())
    run = run_cli("push", "from-matrix", "-", "--target", f"{proxy.host}/{repo_name}:v1", "--json",
                  "--wait-timeout", "0", stdin=matrix)
    assert run.code == 0, run.err
    assert rule.fired == 1
    assert mm_images.stored_index(registry, repo_name, "v1")[2] == run.json()["digest"]


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
