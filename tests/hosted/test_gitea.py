"""Gitea / Forgejo's container registry as it really answers (Forgejo keeps Gitea's registry code),
emulated in the fault proxy in front of the real registry. Images are {registry}/{owner}/{image}
(https://docs.gitea.com/usage/packages/container/): the repository is OWNER/IMAGE."""
from __future__ import annotations

import base64
import json

import pytest

import mm_artifacts
import mm_images
import mm_selfhosted
from mm_cli import docker_config, run_cli
from mm_faults import FaultProxy


@pytest.mark.fault("gitea_package_write_denied", "reported")
def test_token_without_write_package_names_the_scope(token_registry, repo_name, hosted, tmp_path):
    """Gitea's reqPackageAccess (routers/api/packages/api.go): 401, body "reqPackageAccess" as text/plain,
    WWW-Authenticate: Basic realm="Gitea Package API", when the token lacks write:package or the account
    may not write the owner's packages (go-gitea/gitea#31531, #33732; write:repository is not enough:
    #32379; the Actions job token cannot push packages: #23642). Logged in (the token service accepts the
    login, as Gitea's /v2/token does for a read-only token): one line naming the ref, the status and the
    fix, and no loop on the Basic challenge."""
    reg = token_registry
    images = hosted.seed(reg, repo_name)
    blobs = {d for i in images for d in [i["config_digest"], *i["layer_digests"]]}
    auth = base64.b64encode(f"{reg.username}:{reg.password}".encode()).decode()
    with FaultProxy(reg, timeout=3.0) as proxy:
        proxy.add_rule(method=("POST", "PUT", "PATCH"), path=rf"^/v2/{repo_name}/",
                       fault=mm_selfhosted.gitea_package_write_denied())
        conf = docker_config(tmp_path / "dc", {proxy.host: {"auth": auth}})
        run, seconds = hosted.push(proxy.host, repo_name, env={"DOCKER_CONFIG": str(conf)})
        writes = proxy.count("POST") + proxy.count("PUT")
    line = hosted.one_error(run)
    assert f"{proxy.host}/{repo_name}" in line and "HTTP 401" in line, line
    assert "write:package scope" in line and "reqPackageAccess" in line
    assert f"'{repo_name.split('/')[0]}'" in line          # the owner whose packages it may not write
    assert writes <= 4 * len(blobs) and seconds < 20    # each blob: mount, then upload, each tried twice at most
    assert reg.password not in run.out + run.err
    assert not mm_images.manifest_exists(reg, repo_name, "v1")


@pytest.mark.fault("gitea_mount_as_upload", "survived")
def test_mount_that_opens_an_upload_session_is_uploaded_into_it(registry, proxy, repo_name, hosted):
    """Gitea before 1.18.1 read the mount's `from` as an image name, not OWNER/IMAGE: no mount was ever
    found and the POST answered 202 with an upload session (go-gitea/gitea#21954, fixed by #22226). The
    blobs go into that session: one POST per blob, each stored in the target image."""
    images = hosted.seed(registry, repo_name)
    proxy.add_rule(method="POST", path=r"/blobs/uploads/\?.*mount=", fault=mm_selfhosted.gitea_mount_as_upload())
    run, _ = hosted.push(proxy.host, repo_name)
    out = hosted.ok(run)
    blobs = {d for i in images for d in [i["config_digest"], *i["layer_digests"]]}
    posts = [s for s in proxy.seen if s.method == "POST" and s.path.startswith(f"/v2/{repo_name}/blobs/uploads/")]
    assert len(posts) == len(blobs) and all(s.status == 202 for s in posts)
    assert all(mm_images.blob_exists(registry, repo_name, d) for d in blobs)
    assert out["digest"] == mm_images.stored_index(registry, repo_name, "v1")[2]


@pytest.mark.fault("gitea_index_children_in_same_image", "survived")
@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_index_children_are_copied_into_the_same_image_first(registry, proxy, repo_name, hosted, fmt):
    """Gitea refuses an index whose entries are not image manifests of the same OWNER/IMAGE (404
    MANIFEST_BLOB_UNKNOWN; 400 MANIFEST_INVALID for a non-image entry): processImageManifestIndex,
    go-gitea/gitea#21954. Children built into OWNER/IMAGE-src are copied into OWNER/IMAGE before the index
    PUT, so the one index PUT is accepted and the tag reads back."""
    images = hosted.seed(registry, repo_name, fmt=fmt)
    proxy.add_rule(method="PUT", path=rf"^/v2/{repo_name}/manifests/",
                   fault=mm_selfhosted.gitea_index_children_in_same_image())
    run, _ = hosted.push(proxy.host, repo_name)
    out = hosted.ok(run)
    puts = [s for s in proxy.seen if s.method == "PUT" and s.path.startswith(f"/v2/{repo_name}/manifests/")]
    assert all(s.status == 201 for s in puts), puts
    _body, doc, digest = mm_images.stored_index(registry, repo_name, "v1")
    assert digest == out["digest"] and {m["digest"] for m in doc["manifests"]} == {i["digest"] for i in images}
    assert all(mm_images.manifest_exists(registry, repo_name, i["digest"]) for i in images)


@pytest.mark.fault("gitea_no_referrers_api", "survived")
def test_no_referrers_api_falls_back_to_the_tag_schema(registry, proxy, repo_name):
    """Gitea/Forgejo route no referrers API ("TODO: Content Discovery / References (not implemented
    yet)", routers/api/packages/api.go): GET …/referrers/<digest> is a plain-text 404. The signatures and
    SBOMs of each image are found through the `sha256-<hex>` tag index and copied with it."""
    image = mm_images.push_image(registry, f"{repo_name}-src", "v1", fmt="oci")
    signed = mm_artifacts.sign(registry, f"{repo_name}-src", image)
    proxy.add_rule(method="GET", path=r"/referrers/", fault=mm_selfhosted.gitea_no_referrers_api())
    run = run_cli("push", "from-matrix", "-", "--target", f"{proxy.host}/{repo_name}:v1", "--json",
                  "--wait-timeout", "0", stdin=json.dumps([{"image": f"{proxy.host}/{repo_name}-src:v1"}]))
    assert run.code == 0, run.err
    tag = image["digest"].replace(":", "-")
    _, listed, _ = mm_images.stored_index(registry, repo_name, tag)
    assert {e["digest"] for e in listed["manifests"]} == {signed["sig"]["digest"], signed["sbom"]["digest"]}
    assert mm_images.manifest_exists(registry, repo_name, signed["cosign"]["tag"])
    assert not any(line.startswith("warning: cannot list the referrers") for line in run.err_lines), run.err
