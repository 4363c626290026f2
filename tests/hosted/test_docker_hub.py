"""Docker Hub as it really answers, emulated in the fault proxy."""
from __future__ import annotations

import pytest

import mm_hosted
import mm_images
from multiarch_ci.core.reference import ImageRef


@pytest.mark.fault("hub_rate_limited", "reported")
def test_spent_pull_quota_is_reported_at_once_with_the_limit_and_window(registry, proxy, repo_name, hosted):
    """Docker Hub: 429 TOOMANYREQUESTS "You have reached your pull rate limit…" with
    RateLimit-Limit: 100;w=21600 and RateLimit-Remaining: 0;w=21600
    (https://docs.docker.com/docker-hub/usage/pulls/). The quota will not come back within a backoff:
    one request, no retries, and the hint gives the limit, the window and the fix (log in)."""
    hosted.seed(registry, repo_name)
    proxy.add_rule(method=("GET", "HEAD"), path=rf"^/v2/{repo_name}-src/manifests/", fault=mm_hosted.hub_rate_limited())
    run, seconds = hosted.push(proxy.host, repo_name)
    line = hosted.one_error(run)
    assert "HTTP 429 TOOMANYREQUESTS" in line
    assert "0 of 100 pulls left per 6 h" in line and "log in" in line
    assert proxy.count(None, rf"^/v2/{repo_name}-src/manifests/amd64") == 1   # not retried
    assert seconds < 20
    assert not mm_images.manifest_exists(registry, repo_name, "v1")


@pytest.mark.parametrize("given, registry_host, repository", [
    ("docker.io/app", "docker.io", "library/app"),
    ("app", "docker.io", "library/app"),
    ("docker.io/org/app", "docker.io", "org/app"),
    ("index.docker.io/app", "docker.io", "library/app"),
], ids=["docker.io-app", "bare", "org", "index"])
def test_docker_hub_names_mean_library_on_registry_1(given, registry_host, repository):
    """docker.io/app means registry-1.docker.io/library/app; the token realm (auth.docker.io, service
    registry.docker.io) comes from the challenge: https://docs.docker.com/docker-hub/usage/pulls/"""
    from multiarch_ci.registry.http.transport import api_host
    ref = ImageRef.parse(given)
    assert (ref.registry, ref.repository) == (registry_host, repository)
    assert api_host(ref.registry) == "registry-1.docker.io"
