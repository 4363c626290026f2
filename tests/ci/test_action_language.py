"""The action speaks the runner's language (issue 19): what it left out is a ::warning:: annotation in input
names (not a plain line with the CLI's flag); an INPUT_* that names no input gets "did you mean";
enum inputs take any case. entrypoint.py run as the runner runs a docker action (mm_runner)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import mm_images
from mm_runner import log_mark, requests_since, run_action
from multiarch_ci.frontends.action_inputs import INPUT_NAMES

WARNING = "::warning title=multiarch-manifest::"
ACTION_YML = Path(__file__).resolve().parents[2] / "action.yml"


def warnings(run) -> list[str]:
    return [line[len(WARNING):] for line in run.out_lines if line.startswith(WARNING)]


def test_a_skipped_source_is_a_warning_annotation_in_input_names(registry, repo_name):
    amd = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", arch="amd64")
    ghost = f"{registry.host}/{repo_name}-riscv64:v1"
    run = run_action({"target": f"{registry.host}/{repo_name}:v1", "wait-timeout": "0", "ignore-missing": "true",
                      "sources": f"{amd['ref']}\nlinux/riscv64={ghost}"})
    assert run.code == 0, run.out + run.err
    assert warnings(run) == [f"skipped (input ignore-missing): linux/riscv64 {ghost}"], run.out
    assert "--ignore-missing" not in run.out + run.err
    assert "warning: skipped" not in run.err                     # the annotation, not a plain line as well
    assert json.loads(run.outputs["missing"]) == [f"linux/riscv64 {ghost}"]


@pytest.mark.bad_input
@pytest.mark.parametrize("given, meant", [
    pytest.param("digest-dir", "digests-dir", id="digest-dir"),
    pytest.param("tag", "tags", id="tag"),
    pytest.param("required_platforms", "required-platforms", id="underscore"),
    pytest.param("wait_timeout", "wait-timeout", id="wait-timeout-underscore"),
])
def test_an_unknown_input_gets_did_you_mean(registry, repo_name, tmp_path, given, meant):
    amd = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", arch="amd64")
    mark = log_mark(registry)
    run = run_action({"target": f"{registry.host}/{repo_name}:v1", "sources": amd["ref"], given: "x"})
    assert run.code == 2, run.out + run.err
    assert run.errors == [f"input {given} is not an input of this action (hint: did you mean {meant}?)"], run.out
    assert requests_since(registry, mark) == []


@pytest.mark.bad_input
def test_an_unknown_input_far_from_any_lists_the_inputs(registry, repo_name):
    run = run_action({"target": f"{registry.host}/{repo_name}:v1", "sources": f"{registry.host}/x:1",
                      "zzzz": "1"})
    assert run.code == 2 and len(run.errors) == 1, run.out
    assert "input zzzz is not an input of this action" in run.errors[0] and "digests-dir" in run.errors[0]


@pytest.mark.parametrize("fmt, media_type", [("OCI", mm_images.OCI_INDEX), ("Docker", mm_images.DOCKER_LIST),
                                             (" Auto ", mm_images.DOCKER_LIST)])
def test_enum_inputs_take_any_case(registry, repo_name, fmt, media_type):
    amd = mm_images.push_image(registry, f"{repo_name}-amd64", "v1", arch="amd64")
    run = run_action({"target": f"{registry.host}/{repo_name}:v1", "sources": amd["ref"], "format": fmt,
                      "referrers": "NONE"})
    assert run.code == 0, run.out + run.err
    assert run.outputs["media-type"] == media_type
    _, index, _ = mm_images.stored_index(registry, repo_name, "v1")
    assert index["mediaType"] == media_type


@pytest.mark.bad_input
def test_an_enum_input_outside_its_values_is_still_refused(registry, repo_name):
    run = run_action({"target": f"{registry.host}/{repo_name}:v1", "sources": f"{registry.host}/x:1",
                      "format": "v2s2"})
    assert run.code == 2 and run.errors == ["input format: 'v2s2' is not one of auto, docker, oci "
                                            "(hint: auto picks Docker or OCI by the children)"], run.out


def test_the_known_inputs_are_action_ymls():
    assert set(INPUT_NAMES) == set(yaml.safe_load(ACTION_YML.read_text())["inputs"])
