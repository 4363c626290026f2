"""One settings builder (frontends/settings.py) under both front ends: the CLI and the action read their
settings their own way, then build the same plans and options from them. The same settings give the same
index bytes, and a bad value gives the same message, named as each front end names that setting."""
from __future__ import annotations

import json

import pytest

import mm_images
from mm_cli import ERROR, one_error, run_cli
from mm_runner import log_mark, run_action


@pytest.fixture(scope="module")
def images(registry):
    return [mm_images.push_image(registry, "t/one-builder-src", arch, arch=arch) for arch in ("amd64", "s390x")]


def test_the_same_settings_give_the_same_index_through_the_cli_and_the_action(registry, images):
    refs = [i["ref"] for i in images]
    target = f"{registry.host}/t/one-builder:v1"
    cli = run_cli("push", "from-sources", *refs, "--target", target, "--tags", "a,b", "--format", "oci",
                  "--annotation", "org.opencontainers.image.title=x", "--dry-run")
    action = run_action({"sources": "\n".join(refs), "target": target, "tags": "a,b", "format": "oci",
                         "annotations": "org.opencontainers.image.title=x", "dry-run": "true"})
    assert cli.code == 0 and action.code == 0, cli.err + action.out
    body = cli.out.rstrip("\n")
    assert action.outputs["manifest"] == body
    assert [e["digest"] for e in json.loads(body)["manifests"]] == [i["digest"] for i in images]


# (CLI words, action inputs, the CLI's name for the setting, the action's)
BAD = {
    "required-platforms": (["--require", "linux/"], {"required-platforms": "linux/"}, "--require",
                           "input required-platforms"),
    "insecure-registries": (["--insecure-registry", "http://10.0.0.5:5000"],
                            {"insecure-registries": "http://10.0.0.5:5000"}, "--insecure-registry",
                            "input insecure-registries"),
    "tags": (["--tags", "not a tag"], {"tags": "not a tag"}, "--tags", "input tags"),
    "annotations": (["--annotation", "no-equals-sign"], {"annotations": "no-equals-sign"}, "--annotation",
                    "input annotations"),
    "semver": (["--semver", "not-a-version"], {"semver": "not-a-version"}, "--semver", "input semver"),
    "target": (["--target", "127.0.0.1:5000/T/App:v1"], {"target": "127.0.0.1:5000/T/App:v1"}, "--target",
               "input target"),
    "format-docker-into-a-layout": (["--format", "docker"], {"format": "docker"}, "--format", "input format"),
}


@pytest.mark.bad_input
@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_a_bad_value_reads_the_same_in_both_front_ends_but_for_the_setting_s_name(registry, images, case,
                                                                                  tmp_path):
    words, inputs, flag, name = BAD[case]
    target = f"{registry.host}/t/one-builder-bad:v1"
    if case.endswith("into-a-layout"):   # a layout target holds OCI indexes only
        target = f"oci-layout://{tmp_path / 'out'}:v1"
    mark = log_mark(registry)
    cli = one_error(run_cli("push", "from-sources", images[0]["ref"], "--target", target, *words), 2)
    action = run_action({"sources": images[0]["ref"], "target": target} | inputs)
    assert action.code == 2 and len(action.errors) == 1, action.out
    said = cli[len(ERROR):]
    assert flag in said and name in action.errors[0], (said, action.errors)
    assert said.replace(flag, "SETTING", 1) == action.errors[0].replace(name, "SETTING", 1)
    assert registry.request_log()[mark:log_mark(registry)] == []   # nothing sent
