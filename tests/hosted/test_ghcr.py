"""GHCR (ghcr.io) as it really answers, emulated in the fault proxy."""
from __future__ import annotations

import pytest

import mm_hosted
import mm_images


@pytest.mark.fault("ghcr_write_package", "reported")
def test_write_package_denied_names_the_permission_and_package_access(registry, proxy, repo_name, hosted):
    """GHCR: 403 "denied: permission_denied: write_package" when the job's token may not write the package:
    https://github.com/danger/danger-js/issues/1414, https://github.com/tuna-os/tunaOS/issues/642 (fix:
    package settings -> Manage Actions access), int128/docker-manifest-create-action#158,
    docker/build-push-action#463."""
    hosted.seed(registry, repo_name)
    proxy.add_rule(method=("POST", "PUT"), path=rf"^/v2/{repo_name}/", fault=mm_hosted.ghcr_write_package_denied())
    run, _ = hosted.push(proxy.host, repo_name)
    line = hosted.one_error(run)
    assert "HTTP 403 DENIED: permission_denied: write_package" in line
    assert "permissions: packages: write" in line and "Manage Actions access" in line
    assert not mm_images.manifest_exists(registry, repo_name, "v1")


@pytest.mark.bad_input
def test_upper_case_repository_is_refused_before_any_request(registry, proxy, repo_name, hosted):
    """GHCR repository names must be lower case; ${{ github.repository }} keeps the owner's case:
    https://github.com/ggml-org/llama.cpp/issues/6671. Refused as bad input, nothing sent."""
    run, _ = hosted.push(proxy.host, repo_name, target=f"{proxy.host}/Octo-Org/{repo_name}:v1")
    assert run.code == 2, run.err
    assert "lower case" in run.err and "Traceback" not in run.err
    assert proxy.count("PUT") == 0 and proxy.count("POST") == 0
