"""GitLab CI conventions: CI_REGISTRY_* credentials and the ``--dotenv`` report, end to end and unit.

A GitLab job is emulated by running the CLI (``mm_cli.run_cli``) with the variables GitLab gives
every job (``GITLAB_CI``, ``CI_REGISTRY``, ``CI_REGISTRY_USER``, ``CI_REGISTRY_PASSWORD``) against
the TLS + Basic auth registry.
"""
from __future__ import annotations

import base64
import os

import pytest

import mm_images
from mm_cli import docker_config, run_cli
from mm_runner import log_mark, writes_since
from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import InputError
from multiarch_ci.core.model import ImageIndex, MediaType
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.flow.publish import Result
from multiarch_ci.frontends.gitlab import dotenv_lines, registry_credentials, write_dotenv


@pytest.fixture(autouse=True)
def _no_ambient_ca_bundle(monkeypatch):
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(var, raising=False)
    for var in [k for k in os.environ if k.startswith(("CI_", "GITLAB_"))]:
        monkeypatch.delenv(var, raising=False)


def gitlab_env(reg, *, password: str | None = None, gitlab_ci: str | None = "true", **extra) -> dict:
    env = {"CI_REGISTRY": reg.host, "CI_REGISTRY_USER": reg.username,
           "CI_REGISTRY_PASSWORD": reg.password if password is None else password,
           "SSL_CERT_FILE": str(reg.ca_file), "CI": "true"}
    if gitlab_ci is not None:
        env["GITLAB_CI"] = gitlab_ci
    env.update(extra)
    return env


def seed(reg, repo: str) -> list[dict]:
    return [mm_images.push_image(reg, f"{repo}-amd64", "v1", arch="amd64"),
            mm_images.push_image(reg, f"{repo}-arm64", "v1", arch="arm64")]


def push_args(reg, repo: str, dotenv, *extra: str) -> list[str]:
    return ["push", "from-args", "--platforms", "linux/amd64,linux/arm64",
            "--template", f"{reg.host}/{repo}-ARCH:v1", "--target", f"{reg.host}/{repo}:v1",
            "--tags", "latest", "--dotenv", str(dotenv), "--wait-timeout", "0", *extra]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def assert_dotenv_matches_registry(path, reg, repo: str, tags: list[str]) -> str:
    lines = path.read_text().splitlines()
    assert path.read_text().endswith("\n")
    assert [line.split("=", 1)[0] for line in lines] == ["MULTIARCH_PUSHED", "MULTIARCH_DIGEST", "MULTIARCH_REF",
                                                         "MULTIARCH_TAGS", "MULTIARCH_REFS"]
    values = dict(line.split("=", 1) for line in lines)
    assert values["MULTIARCH_PUSHED"] == "true"
    _body, _doc, digest = mm_images.stored_index(reg, repo, tags[0])
    assert values["MULTIARCH_DIGEST"] == digest
    assert values["MULTIARCH_REF"] == f"{reg.host}/{repo}@{digest}"
    assert values["MULTIARCH_TAGS"] == " ".join(f"{reg.host}/{repo}:{t}" for t in tags)
    assert values["MULTIARCH_REFS"] == values["MULTIARCH_REF"]   # one target
    for tag in tags:
        assert mm_images.stored_index(reg, repo, tag)[2] == digest
    return digest


# -- end to end ------------------------------------------------------------------------------------

def test_ci_registry_credentials_push_and_the_dotenv_report(tls_registry, repo_name, tmp_path):
    reg = tls_registry
    images = seed(reg, repo_name)
    dotenv = tmp_path / "merge.env"
    r = run_cli(*push_args(reg, repo_name, dotenv), env=gitlab_env(reg))
    assert r.code == 0, r.err
    digest = assert_dotenv_matches_registry(dotenv, reg, repo_name, ["v1", "latest"])
    assert r.out.strip().splitlines()[-1] == f"{reg.host}/{repo_name}@{digest}"
    _, doc, _ = mm_images.stored_index(reg, repo_name, digest)
    assert sorted(m["digest"] for m in doc["manifests"]) == sorted(i["digest"] for i in images)
    assert reg.password not in r.out + r.err and b64(f"{reg.username}:{reg.password}") not in r.out + r.err
    assert [p.name for p in tmp_path.iterdir()] == ["merge.env"]          # no temp file left behind


@pytest.mark.parametrize("gitlab_ci", [None, "false", "1"], ids=["unset", "false", "one"])
def test_without_gitlab_ci_true_the_ci_registry_login_is_not_used(tls_registry, repo_name, tmp_path, gitlab_ci):
    reg = tls_registry
    seed(reg, repo_name)
    dotenv = tmp_path / "merge.env"
    mark = log_mark(reg)
    r = run_cli(*push_args(reg, repo_name, dotenv), env=gitlab_env(reg, gitlab_ci=gitlab_ci))
    assert r.code == 1, r.err
    last = r.err_lines[-1]
    assert last.startswith("multiarch-manifest: error: ")
    assert "requires a login" in last or "401" in last, last
    assert "Traceback" not in r.err
    assert not dotenv.exists()
    assert writes_since(reg, mark, repo_name) == []
    assert mm_images.list_tags(reg, repo_name) == []


def test_docker_config_wins_over_ci_registry_variables(tls_registry, repo_name, tmp_path):
    reg = tls_registry
    seed(reg, repo_name)
    config = docker_config(tmp_path / "docker", {reg.host: {"auth": b64(f"{reg.username}:{reg.password}")}})
    dotenv = tmp_path / "merge.env"
    r = run_cli(*push_args(reg, repo_name, dotenv),
                env=gitlab_env(reg, password="wrong-ci-password", DOCKER_CONFIG=str(config)))
    assert r.code == 0, r.err
    assert_dotenv_matches_registry(dotenv, reg, repo_name, ["v1", "latest"])


def test_a_wrong_docker_config_login_is_not_replaced_by_ci_registry(tls_registry, repo_name, tmp_path):
    """Precedence, not fallback-on-failure: config.json is used for the host even when CI_REGISTRY_* is right."""
    reg = tls_registry
    seed(reg, repo_name)
    config = docker_config(tmp_path / "docker", {reg.host: {"auth": b64(f"{reg.username}:wrong-config-pw")}})
    dotenv = tmp_path / "merge.env"
    r = run_cli(*push_args(reg, repo_name, dotenv), env=gitlab_env(reg, DOCKER_CONFIG=str(config)))
    assert r.code == 1, r.err
    assert "401" in r.err_lines[-1], r.err
    assert "wrong-config-pw" not in r.err and not dotenv.exists()


def test_username_password_stdin_wins_over_docker_config_and_ci_registry(tls_registry, repo_name, tmp_path):
    reg = tls_registry
    seed(reg, repo_name)
    config = docker_config(tmp_path / "docker", {reg.host: {"auth": b64(f"{reg.username}:wrong-config-pw")}})
    dotenv = tmp_path / "merge.env"
    r = run_cli(*push_args(reg, repo_name, dotenv, "--username", reg.username, "--password-stdin"),
                stdin=reg.password + "\n",
                env=gitlab_env(reg, password="wrong-ci-password", DOCKER_CONFIG=str(config)))
    assert r.code == 0, r.err
    assert_dotenv_matches_registry(dotenv, reg, repo_name, ["v1", "latest"])
    assert reg.password not in r.out + r.err


def test_dry_run_with_dotenv_says_nothing_was_pushed(tls_registry, repo_name, tmp_path):
    """A later job reading the report must not deploy a digest that was never pushed."""
    reg = tls_registry
    seed(reg, repo_name)
    dotenv = tmp_path / "merge.env"
    mark = log_mark(reg)
    r = run_cli(*push_args(reg, repo_name, dotenv, "--dry-run"), env=gitlab_env(reg))
    assert r.code == 0, r.err
    assert dotenv.read_text() == "MULTIARCH_PUSHED=false\n"
    assert "dry run: nothing pushed" in r.err
    assert list(tmp_path.iterdir()) == [dotenv]
    assert writes_since(reg, mark, repo_name) == []
    assert mm_images.list_tags(reg, repo_name) == []


# -- registry_credentials(), unit ------------------------------------------------------------------

FULL = {"GITLAB_CI": "true", "CI_REGISTRY": "registry.gitlab.example.com:5050",
        "CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": "glcbt-s3cret"}


def test_registry_credentials_inside_gitlab():
    creds = registry_credentials(FULL)
    assert set(creds) == {"registry.gitlab.example.com:5050"}
    cred = creds["registry.gitlab.example.com:5050"]
    assert (cred.username, cred.password) == ("gitlab-ci-token", "glcbt-s3cret")
    assert "glcbt-s3cret" not in repr(cred) and "CI_REGISTRY" in cred.source


def test_registry_credentials_are_stripped():
    creds = registry_credentials({k: f" {v}\n" for k, v in FULL.items() if k != "GITLAB_CI"} | {"GITLAB_CI": "true"})
    cred = creds["registry.gitlab.example.com:5050"]
    assert (cred.username, cred.password) == ("gitlab-ci-token", "glcbt-s3cret")


@pytest.mark.parametrize("change", [{"GITLAB_CI": None}, {"GITLAB_CI": "false"}, {"GITLAB_CI": "TRUE1"},
                                    {"CI_REGISTRY": None}, {"CI_REGISTRY_USER": ""},
                                    {"CI_REGISTRY_PASSWORD": None}, {"CI_REGISTRY_PASSWORD": "  "}],
                         ids=["no-gitlab-ci", "gitlab-ci-false", "gitlab-ci-other", "no-registry", "empty-user",
                              "no-password", "blank-password"])
def test_registry_credentials_need_gitlab_and_all_three_variables(change):
    env = {k: v for k, v in {**FULL, **change}.items() if v is not None}
    assert registry_credentials(env) == {}


# -- dotenv_lines() / write_dotenv(), unit ---------------------------------------------------------

def _result(tags=("v1", "latest"), registry="registry.gitlab.example.com:5050", pushed=True) -> Result:
    index = ImageIndex(MediaType.OCI_INDEX, ())
    body = index.to_bytes()
    target = ImageRef.parse(f"{registry}/group/app")
    return Result(target, Digest.of(body), index, body, tuple(tags), pushed=pushed)


def test_dotenv_lines():
    result = _result()
    digest = str(Digest.of(result.body))
    assert dotenv_lines(result) == [
        "MULTIARCH_PUSHED=true",
        f"MULTIARCH_DIGEST={digest}",
        f"MULTIARCH_REF=registry.gitlab.example.com:5050/group/app@{digest}",
        "MULTIARCH_TAGS=registry.gitlab.example.com:5050/group/app:v1 "
        "registry.gitlab.example.com:5050/group/app:latest",
        f"MULTIARCH_REFS=registry.gitlab.example.com:5050/group/app@{digest}",
    ]


def test_dotenv_lines_single_tag_and_docker_hub():
    result = _result(tags=("1.0",), registry="docker.io")
    lines = dotenv_lines(result)
    assert lines[2] == f"MULTIARCH_REF=docker.io/group/app@{result.digest}"
    assert lines[3] == "MULTIARCH_TAGS=docker.io/group/app:1.0"


def test_dotenv_lines_of_a_dry_run_name_nothing():
    assert dotenv_lines(_result(pushed=False)) == ["MULTIARCH_PUSHED=false"]


def test_write_dotenv_replaces_a_file_atomically(tmp_path):
    path = tmp_path / "merge.env"
    path.write_text("OLD=1\n")
    write_dotenv(str(path), _result())
    assert path.read_text() == "\n".join(dotenv_lines(_result())) + "\n"
    assert [p.name for p in tmp_path.iterdir()] == ["merge.env"]


def test_write_dotenv_refuses_a_directory(tmp_path):
    with pytest.raises(InputError) as e:
        write_dotenv(str(tmp_path), _result())
    assert e.value.exit_code == 2 and str(tmp_path) in str(e.value)
    assert list(tmp_path.iterdir()) == []
