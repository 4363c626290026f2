"""Quay as it really answers (before quay/quay#1649, Quay 3.8), emulated in the fault proxy."""
from __future__ import annotations

import pytest

import mm_hosted
import mm_images

DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


@pytest.mark.fault("quay_oci_index_refused", "survived")
def test_oci_index_of_docker_manifests_is_retried_as_a_docker_list(registry, proxy, repo_name, hosted):
    """Quay refuses an OCI index whose children are Docker manifests: 400 MANIFEST_INVALID "manifest data
    does not match schema" (https://github.com/openshift/oc-mirror/issues/253; fixed by
    https://github.com/quay/quay/pull/1649). With --format auto the same children go out as a Docker
    manifest list, as buildah falls back (https://github.com/containers/buildah/issues/3550), and the
    dropped annotation is said loudly."""
    hosted.seed(registry, repo_name)
    proxy.add_rule(method="PUT", path=rf"^/v2/{repo_name}/manifests/",
                   fault=mm_hosted.quay_refuses_oci_index_with_docker_children())
    run, _ = hosted.push(proxy.host, repo_name, "--annotation", "org.opencontainers.image.source=https://x")
    out = hosted.ok(run)
    assert out["mediaType"] == DOCKER_LIST
    _body, doc, digest = mm_images.stored_index(registry, repo_name, "v1")
    assert digest == out["digest"] and doc["mediaType"] == DOCKER_LIST and "annotations" not in doc
    assert "pushing a Docker manifest list instead, dropping 1 annotation(s)" in run.err
    refused = [s for s in proxy.seen if s.method == "PUT" and "/manifests/sha256:" in s.path and s.status == 400]
    assert len(refused) == 1


@pytest.mark.fault("quay_oci_index_refused", "reported")
def test_mixed_children_fail_naming_them_and_the_format(registry, proxy, repo_name, hosted):
    """Same refusal (https://github.com/openshift/oc-mirror/issues/253) when the children mix Docker and
    OCI manifests: no Docker list can hold them, so the error names both kinds and what to change."""
    images = hosted.seed(registry, repo_name, fmt="docker", fmt2="oci")
    proxy.add_rule(method="PUT", path=rf"^/v2/{repo_name}/manifests/",
                   fault=mm_hosted.quay_refuses_oci_index_with_docker_children())
    run, _ = hosted.push(proxy.host, repo_name)
    line = hosted.one_error(run)
    assert "HTTP 400 MANIFEST_INVALID" in line and "mixes Docker" in line
    for image in images:
        assert image["digest"].split(":")[1][:12] in line
    assert "oci-mediatypes=true" in line
    assert not mm_images.manifest_exists(registry, repo_name, "v1")


@pytest.mark.fault("quay_oci_index_refused", "reported")
def test_explicit_oci_format_is_not_silently_changed(registry, proxy, repo_name, hosted):
    """--format oci is an explicit ask: the refusal (https://github.com/openshift/oc-mirror/issues/253)
    is reported with the --format that would work, nothing is rewritten."""
    hosted.seed(registry, repo_name)
    proxy.add_rule(method="PUT", path=rf"^/v2/{repo_name}/manifests/",
                   fault=mm_hosted.quay_refuses_oci_index_with_docker_children())
    run, _ = hosted.push(proxy.host, repo_name, "--format", "oci")
    line = hosted.one_error(run)
    assert "MANIFEST_INVALID" in line and "use --format auto or docker" in line
    assert not mm_images.manifest_exists(registry, repo_name, "v1")
