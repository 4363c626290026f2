"""Amazon ECR as it really answers: mounts turned into upload sessions, repositories that must exist,
immutable tags. Each behaviour is emulated by the fault proxy in front of the real registry."""
from __future__ import annotations

import re

import pytest

import mm_hosted
import mm_images


@pytest.mark.fault("ecr_mount_as_upload", "survived")
def test_mount_answered_with_an_upload_session_is_used_without_extra_round_trips(registry, proxy, repo_name,
                                                                                    hosted):
    """ECR answers a mount it will not do (blob not referenced by a manifest in the source) with 202
    and an upload session, not 201: https://github.com/aws/containers-roadmap/issues/2860 (ECR Public:
    https://github.com/aws/containers-roadmap/issues/1459). The upload goes into that same session:
    one POST per blob, no second POST to open another."""
    images = hosted.seed(registry, repo_name)
    proxy.add_rule(method="POST", path=r"/blobs/uploads/\?.*mount=",
                   fault=mm_hosted.mount_answered_with_upload_session())
    run, _ = hosted.push(proxy.host, repo_name)
    out = hosted.ok(run)
    blobs = {d for i in images for d in [i["config_digest"], *i["layer_digests"]]}
    posts = [s for s in proxy.seen if s.method == "POST" and s.path.startswith(f"/v2/{repo_name}/blobs/uploads/")]
    assert len(posts) == len(blobs) and all("mount=" in s.path and s.status == 202 for s in posts)
    assert all(mm_images.blob_exists(registry, repo_name, d) for d in blobs)
    assert out["digest"] == mm_images.stored_index(registry, repo_name, "v1")[2]


@pytest.mark.fault("ecr_repository_missing", "reported")
def test_push_to_a_repository_that_does_not_exist_names_it_and_how_to_create_it(registry, proxy, repo_name,
                                                                                 hosted):
    """ECR does not create repositories on push: 404 NAME_UNKNOWN "The repository with name 'x' does not
    exist in the registry with id '…'": https://github.com/actions/starter-workflows/issues/2647,
    https://github.com/regclient/regclient/issues/869. The hint names the repository and the command."""
    hosted.seed(registry, repo_name)
    proxy.add_rule(path=rf"^/v2/{repo_name}/", fault=mm_hosted.ecr_repository_missing(repo_name))
    run, _ = hosted.push(proxy.host, repo_name)
    line = hosted.one_error(run)
    assert "HTTP 404 NAME_UNKNOWN" in line and f"'{repo_name}' does not exist in the registry" in line
    assert "ECR does not create repositories on push" in line
    assert f"aws ecr create-repository --repository-name {repo_name}" in line
    assert not mm_images.manifest_exists(registry, repo_name, "v1")


@pytest.mark.fault("ecr_immutable_tag", "reported")
def test_immutable_tag_is_named_with_what_it_means_for_floating_tags(registry, proxy, repo_name, hosted):
    """ECR immutable tags: "The image tag 'latest' already exists in the 'x' repository and cannot be
    overwritten because the repository is immutable." (TAG_INVALID):
    https://github.com/aws/containers-roadmap/issues/862; exclusion filters:
    https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImageTagMutability.html"""
    hosted.seed(registry, repo_name)
    proxy.add_rule(method="PUT", path=rf"^/v2/{repo_name}/manifests/latest$",
                   fault=mm_hosted.ecr_immutable_tag(repo_name, "latest"))
    run, _ = hosted.push(proxy.host, repo_name, "--tags", "latest")
    line = hosted.one_error(run)
    assert "TAG_INVALID" in line and "tags written: v1" in line and "not written: latest" in line
    assert "immutable tags: 'latest' already names another image" in line
    assert "floating tags (latest, 1, 1.4) can never move" in line and "IMMUTABLE_WITH_EXCLUSION" in line


@pytest.mark.fault("ecr_immutable_tag", "survived")
def test_an_unchanged_rerun_into_immutable_tags_converges(registry, proxy, repo_name, hosted):
    """ECR refuses an immutable tag even when it would name the same image again (aws/containers-roadmap#2179,
    moby/buildkit#3776), so rerunning a job that had pushed failed. After the refusal a HEAD shows the tag
    already holds exactly these bytes: the run succeeds with the same digest; a tag that holds something
    else is still refused (the test above)."""
    hosted.seed(registry, repo_name)
    first, _ = hosted.push(proxy.host, repo_name, "--tags", "latest")
    digest = hosted.ok(first)["digest"]
    for tag in ("v1", "latest"):
        proxy.add_rule(method="PUT", path=rf"^/v2/{repo_name}/manifests/{tag}$",
                       fault=mm_hosted.ecr_immutable_tag(repo_name, tag))
    again, _ = hosted.push(proxy.host, repo_name, "--tags", "latest")
    assert hosted.ok(again)["digest"] == digest
    refused = [s for s in proxy.seen if s.method == "PUT" and re.search(r"/manifests/(v1|latest)$", s.path)]
    assert len(refused) >= 4 and all(s.status == 400 for s in refused[-2:])
    assert mm_images.get_manifest(registry, repo_name, "latest")[2] == digest
