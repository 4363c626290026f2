"""`pip install .` gives the CLI without the GitHub Action's heavy dependencies.

actions-toolkit declares PyGithub (-> cryptography, PyNaCl, PyJWT); only its `command` and `file_command`
modules are used, and only by the action, so it is the `action` extra. The check walks the declared
requirements through the installed packages' own metadata, so a dependency that drags PyGithub in again
(directly or through another package) fails it.
"""
from __future__ import annotations

import importlib.metadata as md
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"pygithub", "cryptography", "pynacl", "pyjwt"}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def closure(requirements: list[str]) -> set[str]:
    """Every distribution name reachable from `requirements` (markers with extras are not followed)."""
    seen: set[str] = set()
    todo = [_name(r) for r in requirements]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        todo += [_name(r) for r in requires if "extra ==" not in r]
    return seen


def test_pip_install_dot_does_not_pull_the_action_toolkit_or_pygithub():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = closure(project["dependencies"])
    assert {"pyyaml", "semver", "urllib3"} <= core      # urllib3: the HTTP engine (registry/http/wire.py)
    assert "requests" not in core, core
    assert not core & (HEAVY | {"actions-toolkit"}), core


def test_the_action_extra_has_the_toolkit_and_the_image_installs_it_without_pygithub():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert [_name(r) for r in project["optional-dependencies"]["action"]] == ["actions-toolkit"]
    assert "pygithub" in closure(project["optional-dependencies"]["action"])   # why it is an extra
    lock = {_name(line) for line in (ROOT / "requirements.lock").read_text().splitlines()
            if line and not line[0].isspace() and not line.startswith("#")}
    assert "actions-toolkit" in lock and not lock & HEAVY
    assert "--no-deps -r requirements.lock" in (ROOT / "Dockerfile").read_text()
