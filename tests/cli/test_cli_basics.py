"""The CLI's own contract: usage errors, help, version, and what a dry run asks a registry for."""
import json

import pytest

import mm_images
import multiarch_ci
from mm_cli import run_cli


@pytest.mark.parametrize("args,needle", [
    (["push", "from-args", "--platforms", "linux/amd64"], "push from-args: the following arguments are required: "
                                                          "--template"),
    (["push"], "push: the following arguments are required"),
    (["bogus"], "invalid choice: 'bogus'"),
    (["push", "from-spec", "x.yaml", "--format", "zip"], "argument --format/--type: invalid choice: 'zip'"),
    (["push", "from-spec", "/nonexistent.yaml"], "/nonexistent.yaml: no such file"),
    (["inspect", "127.0.0.1:1/App:1"], "lower case"),
], ids=["missing-option", "missing-form", "unknown-command", "bad-choice", "missing-file", "bad-ref"])
def test_usage_errors_are_one_line_exit_2(args, needle):
    r = run_cli(*args)
    assert r.code == 2, r
    assert len(r.err_lines) == 1 and r.err_lines[0].startswith("multiarch-manifest: error: "), r.err
    assert needle in r.err and "Traceback" not in r.err and "usage:" not in r.err
    assert r.out == ""


@pytest.mark.parametrize("process", [False, True], ids=["in-process", "python-m"])
def test_help_and_version_exit_0(process):
    """Also as `python -m multiarch_ci` in a process of its own (its exit status is main's)."""
    assert run_cli("--help", subprocess=process).code == 0
    v = run_cli("--version", subprocess=process)
    assert v.code == 0 and v.out == f"multiarch-manifest {multiarch_ci.__version__}\n"
    bad = run_cli("bogus", subprocess=process)
    assert bad.code == 2 and bad.err_lines[0].startswith("multiarch-manifest: error: ") and bad.out == ""


def test_debug_shows_the_traceback_for_bad_input():
    r = run_cli("push", "from-spec", "/nonexistent.yaml", "--debug")
    assert r.code == 2 and "Traceback" in r.err and r.err_lines[-1].startswith("multiarch-manifest: error:")


@pytest.mark.parametrize("process", [False, True], ids=["in-process", "python-m"])
def test_dry_run_asks_only_for_pull(token_registry, repo_name, process):
    reg = token_registry
    img = mm_images.push_image(reg, f"{repo_name}-amd64", "v1")
    n0 = len(reg.token_issuer.requests_log)
    r = run_cli("push", "from-matrix", "-", "--target", f"{reg.host}/{repo_name}:v1", "--dry-run",
                stdin=json.dumps([{"image": img["ref"]}]), subprocess=process)
    assert r.code == 0, r.err
    scopes = [s for e in reg.token_issuer.requests_log[n0:] for s in e["scopes"]]
    assert scopes and not any("push" in s for s in scopes), scopes
    assert json.loads(r.out)["manifests"][0]["digest"] == img["digest"]
    assert mm_images.list_tags(reg, repo_name) == []
