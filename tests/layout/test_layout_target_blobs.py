"""A layout target never ends with a wrong blob (issue 19 §1): a blob file already there whose bytes do not
match its name, or that is empty, is written again (atomically) instead of kept; skopeo then copies every
tag out of the layout to the real loopback registry with the same digests."""
from __future__ import annotations

import json

import pytest

import mm_images
from mm_cli import run_cli
from mm_images import stored_index
from mm_layouts import layout_tags, to_registry
from multiarch_ci.core.digest import Digest


def every_blob_hashes_to_its_name(out) -> list[str]:
    """The names of blob files whose bytes do not hash to them (none, in a good layout)."""
    return [p.name for p in (out / "blobs" / "sha256").iterdir()
            if Digest.of(p.read_bytes()) != Digest("sha256", p.name)]


@pytest.mark.hostile("layout target blob damaged")
@pytest.mark.parametrize("damage", ["corrupt", "empty"])
@pytest.mark.parametrize("which", ["layer", "config", "child-manifest"])
def test_a_damaged_blob_in_the_target_is_written_again(registry, repo_name, tmp_path, which, damage):
    image = mm_images.push_image(registry, repo_name, "arm", fmt="oci", arch="arm64", layers=2)
    other = mm_images.push_image(registry, repo_name, "amd", fmt="oci", arch="amd64")
    out = tmp_path / "oci"
    first = run_cli("push", "from-matrix", "-", "--target", f"oci-layout://{out}:v1",
                    stdin=json.dumps([{"image": other["ref"]}]))
    assert first.code == 0, first.err
    victim = {"layer": image["layer_digests"][1], "config": image["config_digest"],
              "child-manifest": image["digest"]}[which]
    path = out / "blobs" / "sha256" / victim.split(":")[1]
    if damage == "corrupt":   # the right bytes with one flipped: the same size, only hashing tells
        raw = bytearray(mm_images.client(registry).request(
            "GET", repo_name, f"/v2/{repo_name}/{'manifests' if which == 'child-manifest' else 'blobs'}/{victim}",
            headers={"Accept": image["media_type"]}).content)
        raw[len(raw) // 2] ^= 0xFF
        path.write_bytes(bytes(raw))
    else:
        path.write_bytes(b"")
    r = run_cli("push", "from-matrix", "-", "--target", f"oci-layout://{out}:v2", "--json",
                stdin=json.dumps([{"image": other["ref"]}, {"image": image["ref"]}]))
    assert r.code == 0, r.err
    assert every_blob_hashes_to_its_name(out) == []
    assert path.stat().st_size > 0 and Digest.of(path.read_bytes()) == Digest.parse(victim)
    assert not [p for p in out.rglob(".*")], "no temp file left behind"
    assert layout_tags(out)["v2"] == r.json()["digest"]
    to_registry(out, "v2", registry, f"{repo_name}-released", "v2")   # skopeo reads every blob back
    assert stored_index(registry, f"{repo_name}-released", "v2")[2] == r.json()["digest"]
