"""Registries whose mount answers differ from distribution's: 201 without Location, no mount at all.
Spec: https://github.com/opencontainers/distribution-spec/blob/main/spec.md#mounting-a-blob-from-another-repository"""
from __future__ import annotations

import pytest

import mm_hosted
import mm_images


def _blobs(images) -> set[str]:
    return {d for i in images for d in [i["config_digest"], *i["layer_digests"]]}


@pytest.mark.fault("mount_201_without_location", "survived")
def test_mount_created_without_location_counts_as_mounted(registry, proxy, repo_name, hosted):
    """The spec says a 201 mount answer MUST carry Location; some registries leave it out
    (opencontainers/distribution-spec#204 review). The blob is there: no upload follows."""
    images = hosted.seed(registry, repo_name)
    proxy.add_rule(method="POST", path=r"/blobs/uploads/\?.*mount=", fault=mm_hosted.mount_created_without_location())
    run, _ = hosted.push(proxy.host, repo_name)
    hosted.ok(run)
    assert proxy.count("PUT", rf"^/v2/{repo_name}/blobs/uploads/") == 0
    assert proxy.count("PATCH") == 0
    assert all(mm_images.blob_exists(registry, repo_name, d) for d in _blobs(images))


@pytest.mark.fault("mount_unsupported", "survived")
@pytest.mark.parametrize("code", [405, 501])
def test_registry_without_mount_support_gets_a_plain_upload(registry, proxy, repo_name, hosted, code):
    """A registry that refuses the mount parameters outright (405 UNSUPPORTED, or 501) instead of the
    spec's 202 (artifact-keeper/artifact-keeper#3109 shows mounts left unimplemented): we start a plain
    upload for each blob instead of failing the run."""
    images = hosted.seed(registry, repo_name)
    proxy.add_rule(method="POST", path=r"/blobs/uploads/\?.*mount=", fault=mm_hosted.mount_unsupported(code))
    run, _ = hosted.push(proxy.host, repo_name)
    hosted.ok(run)
    blobs = _blobs(images)
    assert proxy.count("POST", rf"^/v2/{repo_name}/blobs/uploads/\?.*mount=") == len(blobs)
    assert proxy.count("POST", rf"^/v2/{repo_name}/blobs/uploads/$") == len(blobs)
    assert all(mm_images.blob_exists(registry, repo_name, d) for d in blobs)
