"""A release tag names the version the code reports and the CHANGELOG's newest entry
(scripts/release-version.sh, run by the release workflow before anything is built)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

import multiarch_ci

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "release-version.sh"


def check(tag: str, root: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), tag, str(root)], capture_output=True, text=True, timeout=30)


def test_the_code_and_the_changelog_name_one_version():
    newest = re.search(r"^## \[(\d[^\]]*)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert newest and newest[1] == multiarch_ci.__version__


def test_the_tag_of_the_code_s_version_passes():
    proc = check(f"v{multiarch_ci.__version__}")
    assert proc.returncode == 0, proc.stderr


def test_another_tag_stops_the_release_naming_both_versions():
    proc = check("v9.9.9")
    assert proc.returncode == 1
    assert "v9.9.9" in proc.stderr and multiarch_ci.__version__ in proc.stderr and "bump __version__" in proc.stderr


def test_a_version_bumped_without_its_changelog_entry_is_refused(tmp_path):
    (tmp_path / "multiarch_ci").mkdir()
    (tmp_path / "multiarch_ci" / "__init__.py").write_text('__version__ = "9.9.9"\n')
    shutil.copy(ROOT / "CHANGELOG.md", tmp_path / "CHANGELOG.md")
    proc = check("v9.9.9", tmp_path)
    assert proc.returncode == 1 and "CHANGELOG" in proc.stderr


def test_the_release_workflow_checks_before_it_builds():
    jobs = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())["jobs"]
    first = [j for j, spec in jobs.items() if not spec.get("needs")]
    assert first == ["base"]
    runs = [step.get("run", "") for step in jobs["base"]["steps"]]
    assert any("scripts/release-version.sh" in r for r in runs)
    assert runs.index(next(r for r in runs if "release-version" in r)) < \
        runs.index(next(r for r in runs if "imagetools" in r))
