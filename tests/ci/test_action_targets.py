"""The action with several targets (`target` one per line) and referrers: outputs `ref` (the first
target's), `refs` (every target's, one per line), `tags` (every target's), `referrers` (JSON), and the
step summary naming the other targets and the referrers copied."""
import json

import pytest

import mm_artifacts
import mm_images
from mm_runner import run_action


def test_several_targets_and_referrers_in_the_outputs(registry, registry2, repo_name):
    image = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", fmt="oci", arch="amd64")
    signed = mm_artifacts.sign(registry, f"{repo_name}-amd64", image)
    first, second = f"{registry2.host}/{repo_name}", f"{registry.host}/{repo_name}"
    run = run_action({"target": f"{first}:v1\n{second}\n", "tags": "latest",
                      "sources": f"{registry.host}/{repo_name}-amd64:v1"})
    assert run.code == 0, run.out + run.err
    out = run.outputs
    digest = out["digest"]
    assert out["ref"] == f"{first}@{digest}"
    assert out["refs"].splitlines() == [f"{first}@{digest}", f"{second}@{digest}"]
    assert out["tags"].splitlines() == [f"{first}:v1", f"{first}:latest", f"{second}:v1", f"{second}:latest"]
    for reg in (registry, registry2):
        for tag in ("v1", "latest"):
            assert mm_images.get_manifest(reg, repo_name, tag)[2] == digest
    rows = json.loads(out["referrers"])
    assert sorted(r["digest"] for r in rows) == sorted(signed[k]["digest"] for k in ("sig", "sbom", "cosign"))
    assert f"**Also pushed to:** `{second}@{digest}`" in run.summary
    assert run.summary.count("**Referrer copied:**") == 3 and signed["cosign"]["tag"] in run.summary


def test_referrers_none_in_the_action(registry, registry2, repo_name):
    image = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", fmt="oci", arch="amd64")
    signed = mm_artifacts.sign(registry, f"{repo_name}-amd64", image)
    run = run_action({"target": f"{registry2.host}/{repo_name}:v1", "referrers": "none",
                      "sources": f"{registry.host}/{repo_name}-amd64:v1"})
    assert run.code == 0, run.out + run.err
    assert run.outputs["referrers"] == "[]" and run.outputs["refs"] == run.outputs["ref"]
    assert not mm_images.manifest_exists(registry2, repo_name, signed["sig"]["digest"])


@pytest.mark.bad_input
def test_an_unknown_referrers_value_is_refused(registry, repo_name):
    mark = len(registry.request_log())
    run = run_action({"target": f"{registry.host}/{repo_name}:v1", "referrers": "all",
                      "sources": f"{registry.host}/{repo_name}-amd64:v1"})
    assert run.code == 2 and len(run.errors) == 1 and "input referrers" in run.errors[0], run.out
    assert registry.request_log()[mark:] == []
