"""Updating an index keeps what is there (--append, --remove) and --dry-run shows the change, against a real
registry; what was stored is read back with the independent client."""
from __future__ import annotations

import json

import mm_images
from mm_cli import one_error, run_cli, succeeded
from mm_images import DOCKER_LIST, OCI_INDEX, stored_index


def matrix(reg, repo: str, images: list[dict], *args: str, tag: str = "v1"):
    return run_cli("push", "from-matrix", "-", "--target", f"{reg.host}/{repo}:{tag}", *args,
                   stdin=json.dumps([{"image": i["ref"]} for i in images]))


def seed(reg, repo: str):
    amd = mm_images.push_image(reg, repo, "amd64", fmt="oci", arch="amd64")
    arm = mm_images.push_image(reg, repo, "arm64", fmt="oci", arch="arm64", variant="v8")
    s390 = mm_images.push_image(reg, repo, "s390x", fmt="oci", arch="s390x")
    return amd, arm, s390


def test_append_keeps_annotations_and_media_type_and_reports_each_change(registry, repo_name):
    reg = registry
    amd, arm, s390 = seed(reg, repo_name)
    run = matrix(reg, repo_name, [amd, arm], "--append", "--annotation", "org.example.a=1",
                 "--annotation", "org.example.b=old", "--format", "oci")
    succeeded(run)
    assert f"{reg.host}/{repo_name}:v1 does not exist yet; creating the index" in run.err, run.err
    new_arm = mm_images.push_image(reg, repo_name, "arm64-2", fmt="oci", arch="arm64", variant="v8", salt="2")
    run = matrix(reg, repo_name, [s390, new_arm], "--append", "--annotation", "org.example.b=new", "--json")
    succeeded(run)
    _, index, _ = stored_index(reg, repo_name, "v1")
    assert index["mediaType"] == OCI_INDEX       # kept although auto alone would choose it anyway for OCI children
    assert index["annotations"] == {"org.example.a": "1", "org.example.b": "new"}
    assert [e["digest"] for e in index["manifests"]] == [amd["digest"], new_arm["digest"], s390["digest"]]
    assert f"linux/arm64/v8 replaced ({arm['digest']} -> {new_arm['digest']})" in run.err, run.err
    assert f"linux/s390x added ({s390['digest']})" in run.err
    assert run.json()["changes"] == [
        {"platform": "linux/s390x", "old": None, "new": s390["digest"]},
        {"platform": "linux/arm64/v8", "old": arm["digest"], "new": new_arm["digest"]}]


def test_append_keeps_a_docker_list_a_docker_list(registry, repo_name):
    reg = registry
    amd = mm_images.push_image(reg, repo_name, "amd64", arch="amd64")
    arm = mm_images.push_image(reg, repo_name, "arm64", arch="arm64", variant="v8")
    succeeded(matrix(reg, repo_name, [amd]))
    succeeded(matrix(reg, repo_name, [arm], "--append"))
    _, index, _ = stored_index(reg, repo_name, "v1")
    assert index["mediaType"] == DOCKER_LIST
    assert [e["digest"] for e in index["manifests"]] == [amd["digest"], arm["digest"]]


def test_remove_drops_platforms_and_names_what_is_there(registry, repo_name):
    reg = registry
    amd, arm, s390 = seed(reg, repo_name)
    succeeded(matrix(reg, repo_name, [amd, arm, s390]))
    _, _, before = stored_index(reg, repo_name, "v1")
    line = one_error(matrix(reg, repo_name, [], "--remove", "linux/riscv64"), 2)
    assert "--remove linux/riscv64: the index does not hold that platform (it holds linux/amd64, " \
           "linux/arm64/v8, linux/s390x)" in line, line
    assert stored_index(reg, repo_name, "v1")[2] == before
    run = matrix(reg, repo_name, [], "--remove", "linux/arm64", "--json")
    succeeded(run)
    _, index, _ = stored_index(reg, repo_name, "v1")
    assert [e["digest"] for e in index["manifests"]] == [amd["digest"], s390["digest"]]
    assert run.json()["changes"] == [{"platform": "linux/arm64/v8", "old": arm["digest"], "new": None}]
    assert f"linux/arm64/v8 removed ({arm['digest']})" in run.err, run.err
    line = one_error(matrix(reg, repo_name, [], "--remove", "linux/amd64", tag="nope"), 1)
    assert "nothing to remove from" in line


def test_dry_run_shows_the_difference_and_pushes_nothing(registry, repo_name):
    reg = registry
    amd, arm, s390 = seed(reg, repo_name)
    succeeded(matrix(reg, repo_name, [amd, arm], "--annotation", "org.example=1"))
    _, _, before = stored_index(reg, repo_name, "v1")
    new_amd = mm_images.push_image(reg, repo_name, "amd64-2", fmt="oci", arch="amd64", salt="2")
    run = matrix(reg, repo_name, [new_amd, s390], "--dry-run", "--json", "--annotation", "org.example=2")
    succeeded(run)
    assert stored_index(reg, repo_name, "v1")[2] == before
    diff = run.json()["diff"]
    assert diff["exists"] is True
    assert diff["added"] == [{"platform": "linux/s390x", "old": None, "new": s390["digest"]}]
    assert diff["removed"] == [{"platform": "linux/arm64/v8", "old": arm["digest"], "new": None}]
    assert diff["changed"] == [{"platform": "linux/amd64", "old": amd["digest"], "new": new_amd["digest"]}]
    assert diff["annotations"] == [{"key": "org.example", "old": "1", "new": "2"}]
    assert "dry run: tags that would move: v1" in run.err
    run = matrix(reg, repo_name, [amd], "--dry-run", tag="fresh")
    succeeded(run)
    assert "dry run: the tag does not exist yet: the index would be created" in run.err
    assert not mm_images.manifest_exists(reg, repo_name, "fresh")
