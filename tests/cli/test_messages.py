"""What a new user reads in their first hour: each message names the real cause, in the words of the
front end they used (CLI flags, or the action's inputs), with one hint that fixes it."""
from __future__ import annotations

import argparse
import json
import re

import pytest

import mm_images
from mm_cli import ROOT, run_cli
from mm_runner import log_mark, requests_since, run_action


def one_error(text: str) -> str:
    lines = [line for line in text.splitlines() if line.startswith("multiarch-manifest: error: ")]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


# -- references the README's own snippet can produce --------------------------------------------

@pytest.mark.bad_input
@pytest.mark.parametrize("target, said, hint", [
    pytest.param("{H}/MyOrg/app:main", "repository names are lower case ('MyOrg')", "use {H}/myorg/app:main",
                 id="owner-with-capitals"),
    pytest.param("{H}/myorg/app:feature/foo", "tag 'feature/foo' cannot contain '/'", "use a tag such as feature-foo",
                 id="branch-with-slash"),
])
def test_target_errors_name_the_real_component(registry, repo_name, target, said, hint):
    target, hint = target.format(H=registry.host), hint.format(H=registry.host)
    mark = log_mark(registry)
    run = run_cli("push", "from-args", "--platforms", "linux/amd64", "--template", f"{registry.host}/a-ARCH:1",
                  "--target", target)
    assert run.code == 2, run.err
    line = one_error(run.err)
    assert said in line and f"(hint: {hint}" in line, line
    assert "repository component" not in line          # the old message blamed 'app:feature'
    assert requests_since(registry, mark) == []


@pytest.mark.bad_input
def test_the_action_says_the_same_for_github_repository_with_capitals(registry):
    run = run_action({"target": f"{registry.host}/MyOrg/App:main", "sources": f"{registry.host}/x:1"})
    assert run.code == 2
    assert run.errors == [f"input target: invalid reference '{registry.host}/MyOrg/App:main': repository names "
                          f"are lower case ('MyOrg') (hint: use {registry.host}/myorg/app:main)"]


# -- platforms and templates --------------------------------------------------------------------

def test_platforms_are_normalised_before_the_template_is_filled(registry, repo_name):
    amd = mm_images.push_image(registry, f"{repo_name}-linux-amd64", "v1", arch="amd64")
    arm = mm_images.push_image(registry, f"{repo_name}-linux-arm64", "v1", arch="arm64")
    run = run_cli("push", "from-args", "--platforms", "Linux/AMD64,linux/aarch64",
                  "--template", f"{registry.host}/{repo_name}-OS-ARCH:v1",
                  "--target", f"{registry.host}/{repo_name}:v1", "--json")
    assert run.code == 0, run.err
    assert "note: --platforms Linux/AMD64 read as linux/amd64" in run.err_lines
    assert "note: --platforms linux/aarch64 read as linux/arm64" in run.err_lines
    assert [m["digest"] for m in run.json()["manifests"]] == [amd["digest"], arm["digest"]]


def test_a_template_without_a_tag_says_latest_was_looked_for(registry, repo_name):
    run = run_cli("push", "from-args", "--platforms", "linux/amd64",
                  "--template", f"{registry.host}/{repo_name}-ARCH", "--target", f"{registry.host}/{repo_name}:v1",
                  "--wait-timeout", "0")
    assert run.code == 1
    line = one_error(run.err)
    assert f"{registry.host}/{repo_name}-amd64 (not found: HTTP 404 MANIFEST_UNKNOWN; no tag given, so latest " \
           "was looked for)" in line, line


@pytest.mark.parametrize("how", ["matrix-platforms", "platform-filter"])
def test_a_platform_filter_on_a_single_image_that_it_does_not_keep_is_an_error(registry, repo_name, how):
    amd = mm_images.push_image(registry, f"{repo_name}-src", "v1", arch="amd64")
    entry = {"image": amd["ref"], **({"platforms": ["linux/arm64"]} if how == "matrix-platforms" else {})}
    extra = ["--platform-filter", "linux/arm64"] if how == "platform-filter" else []
    run = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1", *extra,
                  stdin=json.dumps([entry]))
    assert run.code == 1, run.err
    line = one_error(run.err)
    assert f"{amd['ref']} is a single image for linux/amd64, which the platform filter (linux/arm64) does not " \
           "keep" in line, line
    assert mm_images.list_tags(registry, repo_name) == []
    # the filter that keeps it still works
    entry["platforms"] = ["linux/amd64"]
    ok = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1", stdin=json.dumps([entry]))
    assert ok.code == 0, ok.err


# -- Docker Hub implied, DNS -------------------------------------------------------------------

OFFLINE_DNS = '''
import socket
_real = socket.getaddrinfo
def _offline(host, *args, **kw):  # a resolver that knows only loopback: no query leaves the machine
    if host in ("localhost", "::1") or str(host).startswith("127."):
        return _real(host, *args, **kw)
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
socket.getaddrinfo = _offline
'''


def test_a_target_without_registry_says_docker_hub_was_assumed_and_dns_is_not_a_tls_problem(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(OFFLINE_DNS)
    run = run_cli("push", "from-args", "--platforms", "linux/amd64", "--template", "app:ARCH", "--target", "app:1",
                  "--wait-timeout", "0", env={"PYTHONPATH": f"{tmp_path}:{ROOT}"})
    assert run.code == 1, run.err
    assert "note: --target app:1 names no registry: Docker Hub assumed (docker.io/library/app)" in run.err_lines
    line = one_error(run.err)
    assert "cannot resolve registry host registry-1.docker.io" in line, line
    assert "--insecure" not in line and "SSL_CERT_FILE" not in line


# -- usage errors ------------------------------------------------------------------------------

@pytest.mark.bad_input
def test_a_bad_wait_timeout_gives_one_hint():
    run = run_cli("push", "from-args", "--platforms", "linux/amd64", "--template", "127.0.0.1:9/a:ARCH",
                  "--target", "127.0.0.1:9/a:1", "--wait-timeout", "-1")
    assert run.code == 2
    line = one_error(run.err)
    assert line == ("multiarch-manifest: error: --wait-timeout: '-1' is not a number of seconds from 0 to 86400 "
                    "(hint: e.g. 300; 0 looks once)")


@pytest.mark.bad_input
def test_an_unknown_option_never_names_hidden_ones():
    run = run_cli("push", "from-args", "--platforms", "linux/amd64", "--template", "127.0.0.1:9/a:ARCH",
                  "--target", "127.0.0.1:9/a:1", "--tag", "latest")
    assert run.code == 2
    line = one_error(run.err)
    assert "unrecognized arguments: --tag latest" in line
    assert "tags-page-size" not in line and "workers" not in line


# -- help ----------------------------------------------------------------------------------------

def _help(*command: str) -> str:
    run = run_cli(*command, "--help")
    assert run.code == 0, run.err
    return re.sub(r"\s+", " ", run.out)


@pytest.mark.parametrize("form", ["from-spec", "from-args", "from-matrix", "from-digests"])
def test_help_shows_defaults_and_whether_target_is_required(form):
    from multiarch_ci.frontends.cli import build_parser
    text = _help("push", form)
    assert "--wait-timeout SECONDS wait this long" in text and "(default: 300)" in text
    assert "(default: 60)" in text and "(default: auto)" in text
    usage = text.split(" options:")[0]
    if form == "from-spec":
        assert "[--target TARGET]" in usage
    else:
        assert " --target TARGET " in usage and "[--target TARGET]" not in usage
    # every option that takes a value and has a default shows it
    forms = next(a for a in build_parser()._actions if a.dest == "command").choices["push"]
    parser = next(a for a in forms._actions if a.dest == "form").choices[form]
    for action in parser._actions:
        if action.option_strings and action.default not in (None, False, [], "", argparse.SUPPRESS) \
                and action.help != argparse.SUPPRESS:
            assert action.help and ("default" in parser.formatter_class("x")._get_help_string(action)), action


def test_inspect_help_explains_ref_and_credentials():
    text = _help("inspect")
    assert "REF an image or index" in text
    assert "target" not in text.lower()


# -- the action speaks of its inputs, not of CLI flags ----------------------------------------------

def test_the_action_names_its_input_wait_timeout(registry, repo_name):
    run = run_action({"target": f"{registry.host}/{repo_name}:v1", "wait-timeout": "0",
                      "sources": f"{registry.host}/{repo_name}-ghost:v1"})
    assert run.code == 1
    assert len(run.errors) == 1, run.errors
    assert "or raise input wait-timeout (input ignore-missing pushes what landed" in run.errors[0], run.errors
    assert "--" not in run.errors[0]


def test_the_action_names_the_matrix_platforms_key_not_a_cli_flag(registry, repo_name):
    src = mm_images.push_attested_index(registry, f"{repo_name}-src", "v1", platforms=[("linux", "amd64")])
    run = run_action({"target": f"{registry.host}/{repo_name}:v1",
                      "matrix": json.dumps([{"image": src["ref"], "platforms": ["linux/s390x"]}])})
    assert run.code == 1
    assert len(run.errors) == 1 and "index has no image for linux/s390x" in run.errors[0], run.errors
    assert "the platforms key of the matrix entry" in run.errors[0] and "--platform-filter" not in run.errors[0]
    # the CLI names its own flag for the same failure
    cli = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1",
                  stdin=json.dumps([{"image": src["ref"], "platforms": ["linux/s390x"]}]))
    assert "(--platform-filter or the entry's platforms)" in one_error(cli.err)


@pytest.mark.bad_input
def test_a_digests_dir_outside_the_workspace_says_the_container_sees_only_the_workspace(registry, tmp_path):
    run = run_action({"target": f"{registry.host}/t/app:v1", "digests-dir": "/tmp/digests-not-in-workspace"},
                     env={"GITHUB_WORKSPACE": str(tmp_path)})
    assert run.code == 2
    assert run.errors == [f"input digests-dir /tmp/digests-not-in-workspace: not a directory in the workspace "
                          f"({tmp_path}) (hint: a container action sees only the workspace: download the digests "
                          "into it, e.g. path: digests, and give digests-dir: digests)"]
