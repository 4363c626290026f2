"""OCI layouts and several targets together (issue 13's parts on one chain): a layout source pushed to two
registries at once with one digest; a layout target first, then a registry target, one digest in both."""
from __future__ import annotations

import json

import pytest

import mm_images
from mm_cli import one_error, run_cli
from mm_images import stored_index
from mm_layouts import layout_tags, raw_manifest, to_layout
from mm_runner import log_mark


def test_a_layout_source_goes_to_two_registries_with_one_digest(registry, registry2, repo_name, tmp_path):
    img = mm_images.push_image(registry, repo_name, "arm", fmt="oci", arch="arm64", variant="v8", layers=2)
    mm_images.push_image(registry, repo_name, "amd", fmt="oci", arch="amd64")
    src = tmp_path / "arm-layout"
    to_layout(registry, repo_name, "arm", src, "arm")
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}-a:v1",
                "--target", f"{registry2.host}/{repo_name}-b:v1", "--json",
                stdin=json.dumps([{"image": f"oci-layout://{src}:arm"},
                                  {"image": f"{registry.host}/{repo_name}:amd"}]))
    assert r.code == 0, r.err
    doc = r.json()
    digests = {stored_index(registry, f"{repo_name}-a", "v1")[2], stored_index(registry2, f"{repo_name}-b", "v1")[2]}
    assert digests == {doc["digest"]}
    _, index, _ = stored_index(registry2, f"{repo_name}-b", "v1")
    assert index["manifests"][0]["digest"] == img["digest"]       # the layout's image, in the order given
    for blob in [img["config_digest"], *img["layer_digests"]]:    # its blobs reached the other registry too
        assert mm_images.blob_exists(registry2, f"{repo_name}-b", blob)


def test_a_layout_target_then_a_registry_target_hold_one_digest(registry, repo_name, tmp_path):
    mm_images.push_image(registry, repo_name, "amd64", fmt="oci", arch="amd64")
    mm_images.push_image(registry, repo_name, "arm64", fmt="oci", arch="arm64", variant="v8")
    out = tmp_path / "release"
    r = run_cli("push", "from-args", "--platforms", "linux/amd64,linux/arm64/v8",
                "--template", f"{registry.host}/{repo_name}:ARCH", "--target", f"oci-layout://{out}:v1",
                "--target", f"{registry.host}/{repo_name}-x:v1", "--json", "--wait-timeout", "0")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["mediaType"] == mm_images.OCI_INDEX            # a layout target holds an OCI index
    assert doc["refs"] == [f"oci-layout://{out}@{doc['digest']}", f"{registry.host}/{repo_name}-x@{doc['digest']}"]
    assert stored_index(registry, f"{repo_name}-x", "v1")[2] == doc["digest"]
    assert layout_tags(out)["v1"] == doc["digest"] == mm_images.sha256_digest(raw_manifest(out, "v1"))


@pytest.mark.bad_input
def test_a_layout_target_after_a_registry_target_is_refused(registry, repo_name, tmp_path):
    """The layout must come first (its format rules the index): said before any request."""
    mm_images.push_image(registry, repo_name, "amd64", fmt="oci", arch="amd64")
    out = tmp_path / "release"
    mark = log_mark(registry)
    r = run_cli("push", "from-args", "--platforms", "linux/amd64", "--template", f"{registry.host}/{repo_name}:ARCH",
                "--target", f"{registry.host}/{repo_name}-x:v1", "--target", f"oci-layout://{out}:v1")
    line = one_error(r, 2)
    assert "an OCI layout target goes first" in line and str(out) in line
    assert registry.request_log()[mark:log_mark(registry)] == [] and not out.exists()
