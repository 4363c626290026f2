"""GitLab's container registry as it really answers: the token realm lives on the GitLab host
(https://gitlab.com/jwt/auth) while the registry is another host (registry.gitlab.com)."""
from __future__ import annotations

import pytest

import mm_hosted
import mm_images
from mm_faults import FaultProxy


@pytest.fixture
def gitlab(token_registry):
    """The registry on 127.0.0.1 (through the proxy); its realm over HTTPS on 127.0.0.2."""
    issuer = token_registry.token_url.split("/")[2]
    front = mm_hosted.HttpsFront(issuer, host="127.0.0.2")
    proxy = FaultProxy(token_registry, timeout=3.0).start()
    proxy.add_rule(fault=mm_hosted.realm_moved_to(f"{front.url}/token"))
    try:
        yield token_registry, proxy, front
    finally:
        proxy.stop()
        front.stop()


def test_realm_on_another_host_over_https_with_ci_registry_login(gitlab, repo_name, hosted):
    """GitLab: realm https://gitlab.com/jwt/auth, registry registry.gitlab.com, logged in with the job's
    CI_REGISTRY_USER / CI_REGISTRY_PASSWORD
    (https://docs.gitlab.com/user/packages/container_registry/authenticate_with_container_registry/,
    https://gitlab.com/gitlab-org/gitlab-foss/-/issues/26265). A realm on another host over HTTPS is
    legitimate: the credentials go there (and only there), the push succeeds."""
    reg, proxy, front = gitlab
    hosted.seed(reg, repo_name)
    env = {"GITLAB_CI": "true", "CI": "true", "CI_REGISTRY": proxy.host, "CI_REGISTRY_USER": reg.username,
           "CI_REGISTRY_PASSWORD": reg.password,
           "SSL_CERT_FILE": str(front.ca_file), "REQUESTS_CA_BUNDLE": str(front.ca_file)}
    run, _ = hosted.push(proxy.host, repo_name, env=env)
    out = hosted.ok(run)
    assert mm_images.stored_index(reg, repo_name, "v1")[2] == out["digest"]
    assert front.seen and all(path.startswith("/token") for _, path in front.seen)
    logins = [e for e in reg.token_issuer.requests_log if e.get("account") == reg.username]
    assert logins and all(e["status"] == 200 for e in logins)
    assert not any("Authorization" in s.headers and s.headers["Authorization"].startswith("Basic")
                   for s in proxy.seen)                   # the password went to the realm, not the registry
    assert reg.password not in run.out + run.err
