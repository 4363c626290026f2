"""The README's GitHub Action snippet works for every repository: owners with capitals, branches with '/'.

Its `name` step is run with bash as the runner would run it (GITHUB_REPOSITORY, GITHUB_REF_NAME in the
environment, GITHUB_OUTPUT a file), and the target it builds must be a valid reference whose tag follows
the same rule as our own hint (reference.tag_from)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from mm_runner import parse_github_output
from multiarch_ci.core.reference import ImageRef, tag_from

ROOT = Path(__file__).resolve().parents[2]


def snippet() -> dict:
    text = (ROOT / "README.md").read_text()
    section = text.split("## GitHub Action", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)[1]
    return yaml.safe_load(block)


def test_the_merge_job_asks_for_packages_write():
    assert snippet()["merge"]["permissions"]["packages"] == "write"


@pytest.mark.parametrize("repository, ref_name, image, tag", [
    ("MyOrg/App", "main", "ghcr.io/myorg/app", "main"),
    ("octo/app", "feature/foo", "ghcr.io/octo/app", "feature-foo"),
    ("Octo-Org/my.app", "dependabot/npm_and_yarn/lodash-4.17.21", "ghcr.io/octo-org/my.app",
     "dependabot-npm_and_yarn-lodash-4.17.21"),
    ("o/a", "v1.4.2", "ghcr.io/o/a", "v1.4.2"),
    ("o/a", ".hidden/x y", "ghcr.io/o/a", "hidden-x-y"),
])
def test_the_name_step_gives_a_valid_target(tmp_path, repository, ref_name, image, tag):
    steps = snippet()["merge"]["steps"]
    name = next(s for s in steps if s.get("id") == "name")
    merge = next(s for s in steps if s.get("id") == "merge")
    assert merge["with"]["target"] == "${{ steps.name.outputs.image }}:${{ steps.name.outputs.tag }}"
    out = tmp_path / "github_output"
    out.write_text("")
    run = subprocess.run(["bash", "-e", "-c", name["run"]], capture_output=True, text=True, timeout=30,
                         env={"GITHUB_REPOSITORY": repository, "GITHUB_REF_NAME": ref_name, "GITHUB_OUTPUT": str(out),
                              "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    values = parse_github_output(out.read_text())
    assert (values["image"], values["tag"]) == (image, tag)
    assert values["tag"] == tag_from(ref_name)
    ref = ImageRef.parse(f"{values['image']}:{values['tag']}")
    assert (ref.name, ref.tag) == (image, tag)
