"""The scripts a new user runs first: each installs only what its command needs, says so before it does,
and ends with something useful (a next command, how long the suite took)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

import mm_registry
from mm_cli import ROOT

FAKE = '#!/bin/sh\necho "$(basename "$0") $*" >> "$SETUP_LOG"\n'


def _fake_checkout(tmp_path):
    """A copy of setup.sh's inputs with a .venv python and npm that only record how they are called."""
    for name in ("scripts/setup.sh", "pyproject.toml", "tools/lint/package-lock.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    bin_dir = tmp_path / "fakebin"
    for path in (tmp_path / ".venv/bin/python", bin_dir / "npm", bin_dir / "apt-get"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(FAKE)
        path.chmod(0o755)
    (tmp_path / "tools/lint/node_modules").mkdir()   # what npm ci would create
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "SETUP_LOG": str(tmp_path / "log")}


def test_setup_runtime_installs_the_cli_only_and_test_adds_the_test_tools(tmp_path):
    env = _fake_checkout(tmp_path)
    run = subprocess.run(["bash", "scripts/setup.sh", "runtime"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    log = (tmp_path / "log").read_text()
    # compat: a plain path in the .pth, no import hook at every python start
    assert "python -m pip install -q --disable-pip-version-check -e . --config-settings editable_mode=compat\n" in log
    assert "check-jsonschema" not in log and "npm" not in log and "[test" not in log
    assert "multiarch-manifest (editable)" in run.stderr

    (tmp_path / "log").unlink()
    run = subprocess.run(["bash", "scripts/setup.sh", "test"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    log = (tmp_path / "log").read_text()
    assert "-e .[test,action]" in log and "check-jsonschema==" in log and "npm ci" in log

    bad = subprocess.run(["bash", "scripts/setup.sh", "everything"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "usage: scripts/setup.sh [runtime|test]" in bad.stderr


@pytest.fixture(scope="module")
def quickstart():
    """`bash scripts/quickstart.sh` as a new user runs it, once for the tests below."""
    run = subprocess.run(["bash", "scripts/quickstart.sh"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env=mm_registry.loopback_env())
    assert run.returncode == 0, run.stdout + run.stderr
    return run


# What varies from run to run in the quick start's output, and how the README's sample writes it: the
# registry's port, the temp folder's name, the clone's path. The digests do not vary (scripts/seed_demo.py
# pushes the same bytes every time), so they are compared as they are.
VARIES = [(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT"), (r"/tmp/multiarch-quickstart\.\w+", "/tmp/multiarch-quickstart.TMP")]
README_CLONE = "~/multiarch-manifest"


def normalised(text: str) -> str:
    for pattern, placeholder in VARIES:
        text = re.sub(pattern, placeholder, text)
    return text


def readme_sample() -> str:
    """The block the README shows after "`bash scripts/quickstart.sh` prints"."""
    text = (ROOT / "README.md").read_text()
    after = text.split("`bash scripts/quickstart.sh` prints", 1)[1]
    return re.search(r"```\n(.*?)```", after, re.S)[1]


def test_the_readme_shows_what_the_quickstart_prints(quickstart):
    printed = quickstart.stdout.replace(str(ROOT), README_CLONE)
    assert normalised(printed) == normalised(readme_sample()), (
        "README.md's quick-start sample differs from what `bash scripts/quickstart.sh` prints:\n" + printed)
    assert re.search(r"@sha256:[0-9a-f]{64}\n", readme_sample()), "the sample shows the index digest in full"


def test_quickstart_says_what_it_installs_first_and_ends_with_a_command_to_try(quickstart):
    run = quickstart
    lines = run.stdout.splitlines()
    assert lines[0].startswith("== installing what is missing: Debian packages docker-registry")
    cli = ROOT / ".venv/bin/multiarch-manifest"
    assert lines[-2] == f"== try it yourself: the CLI is {cli} (the sample registry stops now); next:"
    assert lines[-1].split("#")[0].strip() == f"{cli} push from-args --help"
    assert subprocess.run([str(cli), "push", "from-args", "--help"], capture_output=True).returncode == 0


def test_test_sh_runs_the_files_in_workers_shows_progress_and_how_long_the_suite_took():
    workers = re.search(r"pytest -p no:cacheprovider -n (\d+) --dist loadfile", (ROOT / "scripts/test.sh").read_text())
    assert workers, "scripts/test.sh runs pytest with -n N --dist loadfile"
    run = subprocess.run(["bash", "scripts/test.sh", "tests/unit/test_figures.py"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, env=mm_registry.loopback_env())
    assert run.returncode == 0, run.stdout + run.stderr
    n = workers[1]
    assert f"created: {n}/{n} workers" in run.stdout, run.stdout
    assert any(re.fullmatch(r"\.+ +\[100%\]", line) for line in run.stdout.splitlines()), run.stdout
    assert f"in {n} worker processes" in run.stderr and "a progress line of dots" in run.stderr, run.stderr
    assert "test.sh: the suite took 0 min" in run.stderr and "(exit 0)" in run.stderr
