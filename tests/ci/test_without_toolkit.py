"""Without the `action` extra (actions-toolkit): the CLI works in full; the action says what to install."""
from __future__ import annotations

import json

import mm_images
from mm_cli import ROOT, run_cli
from mm_runner import run_action

BLOCK = '''
import sys
class _NoToolkit:  # as if `pip install .` had left the action extra out
    def find_spec(self, name, path=None, target=None):
        if name == "actions_toolkit" or name.startswith("actions_toolkit."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _NoToolkit())
'''


def test_the_cli_needs_no_actions_toolkit(registry, repo_name, tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCK)
    img = mm_images.push_image(registry, f"{repo_name}-amd64", "v1")
    run = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1", "--json",
                  stdin=json.dumps([{"image": img["ref"]}]), env={"PYTHONPATH": f"{tmp_path}:{ROOT}"})
    assert run.code == 0, run.err
    assert run.json()["pushed"] is True


def test_the_action_without_the_extra_says_what_to_install(registry, tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCK)
    run = run_action({"target": f"{registry.host}/t/app:v1", "sources": f"{registry.host}/t/x:1"},
                     env={"PYTHONPATH": f"{tmp_path}:{ROOT}"})
    assert run.code == 2
    assert run.errors == ["the GitHub Action needs the actions-toolkit package, which is not installed "
                          "(hint: pip install 'multiarch-manifest[action]' (the action's image has it))"]
    assert "Traceback" not in run.out + run.err
    assert "failed" in run.summary
