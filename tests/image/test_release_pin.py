"""Released versions of the action run the published image pinned by digest (scripts/pin-action-image.sh).

The repository's action.yml keeps ``image: Dockerfile`` (``uses: ./`` builds what is checked out); the
release workflow's ``pin`` job rewrites it to ``docker://REGISTRY/REPO@sha256:...`` on the release commit.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "pin-action-image.sh"
REF = "ghcr.io/org/multiarch-manifest@sha256:" + "0123456789abcdef" * 4


def pin(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=30)


def test_the_pinned_action_yml_runs_the_image_by_digest_and_is_still_valid(tmp_path):
    action = tmp_path / "action.yml"
    original = (ROOT / "action.yml").read_text()
    action.write_text(original)
    proc = pin(REF, str(action))
    assert proc.returncode == 0, proc.stderr
    pinned = action.read_text()
    assert yaml.safe_load(pinned)["runs"] == {"using": "docker", "image": f"docker://{REF}"}
    # only that line changed
    changed = [(a, b) for a, b in zip(original.splitlines(), pinned.splitlines()) if a != b]
    assert changed == [("  image: Dockerfile", f"  image: docker://{REF}")]
    schema = subprocess.run([str(Path(sys.executable).parent / "check-jsonschema"), "--builtin-schema",
                             "vendor.github-actions", str(action)], capture_output=True, text=True, timeout=120)
    assert schema.returncode == 0, schema.stdout + schema.stderr

    again = pin(REF, str(action))                       # already pinned: refused, file untouched
    assert again.returncode == 2 and "found 0" in again.stderr
    assert action.read_text() == pinned


def test_a_reference_without_a_digest_is_refused(tmp_path):
    action = tmp_path / "action.yml"
    action.write_text((ROOT / "action.yml").read_text())
    for bad in ("ghcr.io/org/multiarch-manifest:v1", "ghcr.io/org/x@sha256:abc", "", "x@sha256:" + "0" * 64):
        proc = pin(bad, str(action))
        assert proc.returncode == 2, bad
        assert len(proc.stderr.splitlines()) == 1 and "not an image reference by digest" in proc.stderr
    assert action.read_text() == (ROOT / "action.yml").read_text()


def test_the_release_workflow_pins_the_index_it_pushed_and_runs_it():
    jobs = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())["jobs"]
    merge, job = jobs["merge"], jobs["pin"]
    assert merge["outputs"]["ref"] == "${{ steps.merge.outputs.ref }}"
    assert any(s.get("id") == "merge" and s.get("uses") == "./" for s in merge["steps"])
    assert job["needs"] == "merge" and job["permissions"]["contents"] == "write"
    steps = job["steps"]
    runs = [i for i, s in enumerate(steps) if "scripts/pin-action-image.sh" in s.get("run", "")]
    local = [i for i, s in enumerate(steps) if s.get("uses") == "./"]
    assert len(runs) == 1 and steps[runs[0]]["env"]["REF"] == "${{ needs.merge.outputs.ref }}"
    assert local and local[0] > runs[0], "the pinned action must be run after action.yml is rewritten"
    assert steps[local[0]]["with"]["dry-run"] is True
    assert "git push" in steps[-1]["run"] and "$AGAIN" in steps[-1]["run"]
    # a dry run leaves `digest` empty (it names nothing that was pushed): what it composed is `planned-digest`
    pinned_id = steps[local[0]]["id"]
    assert steps[-1]["env"]["AGAIN"] == f"${{{{ steps.{pinned_id}.outputs.planned-digest }}}}", steps[-1]["env"]
