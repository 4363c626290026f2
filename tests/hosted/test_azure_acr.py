"""Azure Container Registry as it really logs in: `az acr login` writes a config.json entry whose
user is 00000000-0000-0000-0000-000000000000 and whose identitytoken is an ACR refresh token,
exchanged at the realm with grant_type=refresh_token (https://azure.github.io/acr/AAD-OAuth.html)."""
from __future__ import annotations

import base64
import json

import pytest

import mm_hosted
import mm_images
from mm_cli import docker_config, run_cli

ACR_USER = "00000000-0000-0000-0000-000000000000"


@pytest.fixture(scope="module")
def acr(tmp_path_factory):
    reg = mm_hosted.token_registry_for(tmp_path_factory, "acr", ACR_USER, "not-a-password-acr-has-none")
    yield reg
    reg.stop()


def _push(reg, repo: str, tmp_path, identity_token: str):
    auth = base64.b64encode(f"{ACR_USER}:".encode()).decode()
    conf = docker_config(tmp_path / "dc", {reg.host: {"auth": auth, "identitytoken": identity_token}})
    matrix = tmp_path / "matrix.json"
    matrix.write_text(json.dumps([{"image": f"{reg.host}/{repo}-src:amd64"}]))
    return run_cli("push", "from-matrix", str(matrix), "--target", f"{reg.host}/{repo}:v1", "--json",
                   "--wait-timeout", "0", env={"DOCKER_CONFIG": str(conf)})


def test_identity_token_is_exchanged_as_a_refresh_token(acr, repo_name, tmp_path):
    """ACR: POST the realm with grant_type=refresh_token, service, scope and the identitytoken as
    refresh_token (https://azure.github.io/acr/AAD-OAuth.html; the Docker token spec's OAuth2 form,
    https://distribution.github.io/distribution/spec/auth/oauth/). Never Basic with the all-zero user."""
    mm_images.push_image(acr, f"{repo_name}-src", "amd64", arch="amd64")
    refresh = acr.token_issuer.make_refresh_token(ACR_USER)
    before = len(acr.token_issuer.requests_log)
    run = _push(acr, repo_name, tmp_path, refresh)
    assert run.code == 0, run.err
    asked = acr.token_issuer.requests_log[before:]
    assert asked and all(e["method"] == "POST" and e["grant"] == "refresh_token" and e["status"] == 200
                         for e in asked)
    assert any(f"repository:{repo_name}:pull,push" in e["scopes"] for e in asked)
    assert mm_images.manifest_exists(acr, repo_name, "v1")
    assert refresh not in run.out + run.err


def test_expired_identity_token_says_log_in_again(acr, repo_name, tmp_path):
    """An identitytoken the realm no longer accepts (ACR refresh tokens expire,
    https://azure.github.io/acr/AAD-OAuth.html): the refusal says to run az acr login again."""
    mm_images.push_image(acr, f"{repo_name}-src", "amd64", arch="amd64")
    run = _push(acr, repo_name, tmp_path, "expired.0000")
    assert run.code == 1, run.err
    assert "refused by its token service (HTTP 401)" in run.err and "az acr login" in run.err
    assert "expired.0000" not in run.err
