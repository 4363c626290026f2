"""Start-up: a push imports only what its form needs (issue 15: first request under 100 ms).

The import set is read from the real CLI run with PYTHONPROFILEIMPORTTIME=1 (`-X importtime`), not timed.
"""
import re

import yaml

import mm_images
from mm_cli import run_cli

NOT_FOR_FROM_ARGS = {"yaml", "_yaml", "semver", "actions_toolkit"}


def imported(err: str) -> set[str]:
    return {m[1] for m in re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", err, re.M)}


def seed(registry, repo_name):
    mm_images.push_image(registry, repo_name, "amd64", arch="amd64")
    mm_images.push_image(registry, repo_name, "arm64", arch="arm64", variant="v8")


def test_a_from_args_push_imports_no_yaml_semver_or_actions_toolkit(registry, repo_name):
    seed(registry, repo_name)
    r = run_cli("push", "from-args", "--platforms", "linux/amd64,linux/arm64", "--template",
                f"{registry.host}/{repo_name}:ARCH", "--target", f"{registry.host}/{repo_name}:v1",
                env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert r.code == 0, r.err[-2000:]
    mods = imported(r.err)
    assert {"multiarch_ci.publish", "multiarch_ci.chain", "http.client"} <= mods   # the whole push ran
    assert not mods & {"requests", "urllib3"}          # HTTP is the standard library's (issue 15)
    assert {m for m in mods if m.split(".")[0] in NOT_FOR_FROM_ARGS} == set()


def test_a_spec_with_semver_still_imports_yaml_and_semver(registry, repo_name, tmp_path):
    seed(registry, repo_name)
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"image": f"{registry.host}/{repo_name}:v1", "manifests": [
        {"image": f"{registry.host}/{repo_name}:{a}"} for a in ("amd64", "arm64")]}))
    r = run_cli("push", "from-spec", str(spec), "--semver", "1.2.3", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert r.code == 0, r.err[-2000:]
    mods = imported(r.err)
    assert {"yaml", "semver"} <= mods and "actions_toolkit" not in mods
