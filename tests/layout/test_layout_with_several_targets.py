"""OCI layouts and several targets together (issue 13's parts on one chain): a layout source pushed to two
registries at once with one digest; a layout target beside registry targets is refused (not supported yet)."""
from __future__ import annotations

import json

import pytest

import mm_images
from mm_cli import one_error, run_cli
from mm_layouts import to_layout
from mm_images import stored_index
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


@pytest.mark.bad_input
@pytest.mark.parametrize("layout_first", [True, False], ids=["layout-first", "layout-second"])
def test_a_layout_target_goes_alone(registry, repo_name, tmp_path, layout_first):
    """Not yet supported beside registry targets: refused before any request, naming the layout."""
    mm_images.push_image(registry, repo_name, "amd", fmt="oci", arch="amd64")
    out = tmp_path / "release"
    targets = [f"oci-layout://{out}:v1", f"{registry.host}/{repo_name}-x:v1"]
    if not layout_first:
        targets.reverse()
    mark = log_mark(registry)
    r = run_cli("push", "from-args", "--platforms", "linux/amd64", "--template", f"{registry.host}/{repo_name}:ARCH",
                "--target", targets[0], "--target", targets[1])
    line = one_error(r, 2)
    assert "an OCI layout target goes alone" in line and str(out) in line
    assert registry.request_log()[mark:log_mark(registry)] == [] and not out.exists()
