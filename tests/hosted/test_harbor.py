"""Harbor as it really answers: robot accounts named robot$project+name, projects that must exist."""
from __future__ import annotations

import base64
import json

import pytest

import mm_hosted
import mm_images
from mm_cli import docker_config, run_cli
from mm_runner import run_action

ROBOT = "robot$proj+ci"


@pytest.fixture(scope="module")
def harbor(tmp_path_factory):
    reg = mm_hosted.token_registry_for(tmp_path_factory, "harbor", ROBOT, "s3cret-robot-token")
    yield reg
    reg.stop()


def _push(reg, repo: str, tmp_path, *args: str, stdin: str | None = None, env: dict | None = None):
    matrix = tmp_path / "matrix.json"
    matrix.write_text(json.dumps([{"image": f"{reg.host}/{repo}-src:amd64"}]))
    return run_cli("push", "from-matrix", str(matrix), "--target", f"{reg.host}/{repo}:v1", "--json",
                   "--wait-timeout", "0", *args, stdin=stdin, env=env)


@pytest.mark.parametrize("path", ["config.json", "--username", "gitlab-env"])
def test_robot_account_name_keeps_its_dollar(harbor, repo_name, tmp_path, path):
    """Harbor robot accounts are robot$project+name; the '$' gets eaten by shells and CI variable
    expansion (https://github.com/goharbor/harbor/issues/9732, #9553). Through config.json (base64),
    --username and GitLab's CI_REGISTRY_USER the name reaches the token service byte for byte."""
    mm_images.push_image(harbor, f"{repo_name}-src", "amd64", arch="amd64")
    auth = base64.b64encode(f"{ROBOT}:{harbor.password}".encode()).decode()
    args, stdin, env = {
        "config.json": ((), None, {"DOCKER_CONFIG": str(docker_config(tmp_path / "dc",
                                                                      {harbor.host: {"auth": auth}}))}),
        "--username": (("--username", ROBOT, "--password-stdin"), harbor.password + "\n", {}),
        "gitlab-env": ((), None, {"GITLAB_CI": "true", "CI_REGISTRY": harbor.host, "CI_REGISTRY_USER": ROBOT,
                                  "CI_REGISTRY_PASSWORD": harbor.password}),
    }[path]
    before = len(harbor.token_issuer.requests_log)
    run = _push(harbor, repo_name, tmp_path, *args, stdin=stdin, env=env)
    assert run.code == 0, run.err
    accounts = {e["account"] for e in harbor.token_issuer.requests_log[before:]}
    assert accounts == {ROBOT}
    assert mm_images.manifest_exists(harbor, repo_name, "v1")


def test_robot_account_name_keeps_its_dollar_through_action_inputs(harbor, repo_name):
    """The same through the action's username/password inputs (the workflow YAML keeps '$' literal):
    https://github.com/goharbor/harbor/issues/9732."""
    img = mm_images.push_image(harbor, f"{repo_name}-src", "amd64", arch="amd64")
    before = len(harbor.token_issuer.requests_log)
    run = run_action({"target": f"{harbor.host}/{repo_name}:v1", "sources": img["ref"],
                      "username": ROBOT, "password": harbor.password})
    assert run.code == 0, run.stderr
    assert {e["account"] for e in harbor.token_issuer.requests_log[before:]} == {ROBOT}
    assert mm_images.manifest_exists(harbor, repo_name, "v1")


def test_expanded_robot_name_is_explained(harbor, repo_name, tmp_path):
    """What GitLab makes of robot$proj+ci when '$proj' is expanded: robot+ci
    (https://github.com/goharbor/harbor/issues/9732: "You can use $$"). The refused login says so."""
    mm_images.push_image(harbor, f"{repo_name}-src", "amd64", arch="amd64")
    run = _push(harbor, repo_name, tmp_path, "--username", "robot+ci", "--password-stdin", stdin=harbor.password)
    assert run.code == 1, run.err
    assert "refused by its token service (HTTP 401)" in run.err
    assert "robot$project+name" in run.err and "$$ in .gitlab-ci.yml" in run.err
    assert harbor.password not in run.err


@pytest.mark.fault("harbor_project_missing", "reported")
def test_push_into_a_missing_project_says_harbor_does_not_create_projects(registry, proxy, repo_name, hosted):
    """Harbor: "unauthorized to access repository: p/app, action: push" when the project does not exist
    or the account may not push (https://github.com/goharbor/harbor/issues/13988, #20544: "You need to
    create a namespace(project) before pushing")."""
    hosted.seed(registry, repo_name)
    proxy.add_rule(method=("POST", "PUT"), path=rf"^/v2/{repo_name}/",
                   fault=mm_hosted.harbor_project_missing(repo_name))
    run, _ = hosted.push(proxy.host, repo_name)
    line = hosted.one_error(run)
    assert "HTTP 401 UNAUTHORIZED: unauthorized to access repository" in line
    assert f"the project '{repo_name.split('/')[0]}' must exist" in line and "push permission" in line
