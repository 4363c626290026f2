"""A refused login names the credential that was tried, never its value (issue 19): config.json's auth for the
host, a credential helper, GitLab's CI_REGISTRY_USER, --username, the action's inputs. Against the htpasswd
registry behind TLS (Basic: the registry itself answers 401) and the token issuer (Bearer: the token
service refuses)."""
from __future__ import annotations

import base64
import os
import secrets
import stat
import sys
from pathlib import Path

import pytest

import mm_images
from mm_cli import docker_config, one_error, run_cli
from mm_runner import run_action

HELPER = """#!{python}
import json, sys
sys.stdin.read()
print(json.dumps({{"ServerURL": "", "Username": {user!r}, "Secret": {secret!r}}}))
"""


@pytest.fixture(autouse=True)
def _no_ambient_ci(monkeypatch):
    for var in [k for k in os.environ if k.startswith(("CI_", "GITLAB_"))] + ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"]:
        monkeypatch.delenv(var, raising=False)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def wrong() -> str:
    return "wr0ng-" + secrets.token_urlsafe(16)


def helper_env(tmp_path: Path, reg, password: str) -> dict:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "docker-credential-mmwrong"
    exe.write_text(HELPER.format(python=sys.executable, user=reg.username, secret=password))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    cfg = docker_config(tmp_path / "docker", {}, credHelpers={reg.host: "mmwrong"})
    return {"DOCKER_CONFIG": str(cfg), "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', os.defpath)}"}


def how(case: str, reg, tmp_path: Path, password: str) -> tuple[list[str], dict, str | None]:
    """(extra argv, env, stdin) that make the run log in with `password` the way `case` names."""
    if case == "stdin":
        return ["--username", reg.username, "--password-stdin"], {}, password + "\n"
    if case == "config":
        cfg = docker_config(tmp_path / "docker", {reg.host: {"auth": b64(f"{reg.username}:{password}")}})
        return [], {"DOCKER_CONFIG": str(cfg)}, None
    if case == "helper":
        return [], helper_env(tmp_path, reg, password), None
    return [], {"GITLAB_CI": "true", "CI_REGISTRY": reg.host, "CI_REGISTRY_USER": reg.username,
                "CI_REGISTRY_PASSWORD": password}, None


CASES = [
    pytest.param("stdin", "the credential tried was --username with --password-stdin", id="username-stdin"),
    pytest.param("config", "the credential tried was the config.json auth for {H}", id="config-json"),
    pytest.param("helper", "the credential tried was credential helper 'mmwrong'", id="credential-helper"),
    pytest.param("gitlab", "the credential tried was GitLab's CI_REGISTRY_USER and CI_REGISTRY_PASSWORD",
                 id="gitlab-ci-registry"),
]


@pytest.mark.parametrize("case, said", CASES)
def test_a_registry_refusing_basic_auth_names_the_credential_tried(tls_registry, repo_name, tmp_path, case, said):
    reg, password = tls_registry, wrong()
    mm_images.push_image(reg, f"{repo_name}-src", "amd64", arch="amd64")
    argv, env, stdin = how(case, reg, tmp_path, password)
    run = run_cli("push", "from-args", "--platforms", "linux/amd64", "--template", f"{reg.host}/{repo_name}-src:ARCH",
                  "--target", f"{reg.host}/{repo_name}:v1", "--wait-timeout", "0", *argv,
                  env={"SSL_CERT_FILE": str(reg.ca_file), **env}, stdin=stdin)
    line = one_error(run, 1)
    assert "401" in line and said.format(H=reg.host) in line, line
    for secret in (password, f"{reg.username}:{password}"):
        assert secret not in run.out + run.err and b64(secret) not in run.out + run.err
    assert mm_images.list_tags(reg, repo_name) == []


def test_inspect_names_the_credential_tried_too(tls_registry, repo_name, tmp_path):
    reg, password = tls_registry, wrong()
    mm_images.push_image(reg, f"{repo_name}-src", "amd64", arch="amd64")
    cfg = docker_config(tmp_path / "docker", {reg.host: {"auth": b64(f"{reg.username}:{password}")}})
    run = run_cli("inspect", f"{reg.host}/{repo_name}-src:amd64",
                  env={"SSL_CERT_FILE": str(reg.ca_file), "DOCKER_CONFIG": str(cfg)})
    line = one_error(run, 1)
    assert f"the credential tried was the config.json auth for {reg.host}" in line, line
    assert password not in run.out + run.err


@pytest.mark.parametrize("case", ["stdin", "config"])
def test_a_token_service_refusing_names_the_credential_tried(token_registry, repo_name, tmp_path, case):
    reg, password = token_registry, wrong()
    mm_images.push_image(reg, f"{repo_name}-src", "amd64", arch="amd64")
    argv, env, stdin = how(case, reg, tmp_path, password)
    run = run_cli("push", "from-args", "--platforms", "linux/amd64", "--template", f"{reg.host}/{repo_name}-src:ARCH",
                  "--target", f"{reg.host}/{repo_name}:v1", "--wait-timeout", "0", *argv, env=env, stdin=stdin)
    line = one_error(run, 1)
    said = "--username with --password-stdin" if case == "stdin" else f"the config.json auth for {reg.host}"
    assert "refused by its token service" in line and f"the credential tried was {said}" in line, line
    assert password not in run.out + run.err and b64(f"{reg.username}:{password}") not in run.out + run.err


def test_the_action_names_its_inputs(tls_registry, repo_name):
    reg, password = tls_registry, wrong()
    img = mm_images.push_image(reg, f"{repo_name}-src", "amd64", arch="amd64")
    run = run_action({"target": f"{reg.host}/{repo_name}:v1", "sources": img["ref"], "wait-timeout": "0",
                      "username": reg.username, "password": password}, env={"SSL_CERT_FILE": str(reg.ca_file)})
    assert run.code == 1 and len(run.errors) == 1, run.out + run.err
    assert "the credential tried was the action's inputs username and password" in run.errors[0], run.errors
    assert password not in run.all_text.replace(f"::add-mask::{password}", "", 1)
