"""OCI layouts as per-arch sources, in every input form, pushed to the real loopback registry.

Layouts are written by skopeo (from images seeded in the registry) and by buildah (built from scratch);
what the registry then holds is read back with an independent client and with skopeo.
"""
from __future__ import annotations

import json
import subprocess

import pytest
import yaml

import mm_images
from mm_cli import run_cli
from mm_images import OCI_INDEX, stored_index
from mm_layouts import Buildah, skopeo, to_layout
from mm_runner import log_mark, requests_since, run_action, writes_since


def platforms_of(doc: dict) -> list[str]:
    return ["/".join(filter(None, (d["platform"]["os"], d["platform"]["architecture"], d["platform"].get("variant"))))
            for d in doc["manifests"]]


def assert_complete(registry, repo: str, tag: str, tmp_path) -> None:
    """skopeo can copy every child and blob of the pushed index out of the registry (nothing missing)."""
    out = tmp_path / f"check-{tag}"
    to_layout(registry, repo, tag, out)


@pytest.fixture
def arch_layouts(registry, repo_name, tmp_path):
    """Two per-arch OCI images seeded in a scratch repository, each copied by skopeo into its own layout."""
    seed = f"{repo_name}-build"
    images = {arch: mm_images.push_image(registry, seed, arch, fmt="oci", arch=arch, salt=arch, layers=2)
              for arch in ("amd64", "arm64")}
    dirs = {}
    for arch in images:
        dirs[arch] = tmp_path / f"layout-{arch}"
        to_layout(registry, seed, arch, dirs[arch])
    return images, dirs


def test_spec_sources_are_uploaded_blob_by_blob_and_the_index_pushed(registry, repo_name, arch_layouts, tmp_path):
    images, dirs = arch_layouts
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"image": f"{registry.host}/{repo_name}:v1", "manifests": [
        {"image": f"oci-layout://{dirs['amd64']}:amd64", "digest": images["amd64"]["digest"]},
        {"image": f"oci-layout://{dirs['arm64']}:arm64"}]}))
    mark = log_mark(registry)
    r = run_cli("push", "from-spec", str(spec), "--json")
    assert r.code == 0, r.err
    seen = registry.request_log()[mark:log_mark(registry)]
    # HEAD first, then upload: nothing was mounted from the scratch repository, which was never read
    assert not [e for e in seen if "mount=" in e[1] or "-build/" in e[1]], seen
    heads = [e for e in seen if e[0] == "HEAD" and "/blobs/" in e[1]]
    assert len(heads) == 6 and {e[2] for e in heads} == {404}   # 2 layers + 1 config per image, all absent
    _body, doc, digest = stored_index(registry, repo_name, "v1")
    assert r.json()["digest"] == digest and doc["mediaType"] == OCI_INDEX
    assert [d["digest"] for d in doc["manifests"]] == [images["amd64"]["digest"], images["arm64"]["digest"]]
    for image in images.values():
        for blob in image["layer_digests"] + [image["config_digest"]]:
            assert mm_images.blob_exists(registry, repo_name, blob)
    assert_complete(registry, repo_name, "v1", tmp_path)


def test_a_second_run_finds_every_blob_present_and_uploads_none(registry, repo_name, arch_layouts):
    images, dirs = arch_layouts
    args = ["push", "from-args", "--platforms", "linux/amd64,linux/arm64", "--template",
            f"oci-layout://{dirs['amd64'].parent}/layout-ARCH:ARCH", "--target", f"{registry.host}/{repo_name}:v1"]
    assert run_cli(*args).code == 0
    mark = log_mark(registry)
    r = run_cli(*args)
    assert r.code == 0, r.err
    writes = writes_since(registry, mark, repo_name)
    assert [w for w in writes if "/blobs/" in w[1]] == [], writes
    assert stored_index(registry, repo_name, "v1")[1]["manifests"][1]["digest"] == images["arm64"]["digest"]


def test_buildah_layouts_in_a_matrix(registry, repo_name, tmp_path):
    build = Buildah(tmp_path)
    out = tmp_path / "oci"
    build.image_layout("amd64", out, "amd64")
    build.image_layout("arm64", out, "arm64", variant="v8")   # one layout, two tags
    matrix = json.dumps([{"image": f"oci-layout://{out}:{arch}"} for arch in ("arm64", "amd64")])
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1", stdin=matrix)
    assert r.code == 0, r.err
    _, doc, _ = stored_index(registry, repo_name, "v1")
    assert platforms_of(doc) == ["linux/arm64/v8", "linux/amd64"]   # platforms read from the buildah configs
    inspected = json.loads(skopeo("inspect", "--tls-verify=false", "--override-arch", "arm64",
                                  f"docker://{registry.host}/{repo_name}:v1").stdout)
    assert inspected["Architecture"] == "arm64"
    assert_complete(registry, repo_name, "v1", tmp_path)


@pytest.mark.parametrize("compress", [False, True], ids=["tar", "tar.gz"])
def test_a_layout_tar_as_a_template_source(registry, repo_name, arch_layouts, tmp_path, compress):
    images, dirs = arch_layouts
    for arch, folder in dirs.items():
        subprocess.run(["tar", "-C", str(folder), "-czf" if compress else "-cf", str(tmp_path / f"{arch}.tar"), "."],
                       check=True)
    r = run_cli("push", "from-args", "--platforms", "linux/amd64,linux/arm64", "--template",
                f"oci-layout://{tmp_path}/ARCH.tar", "--target", f"{registry.host}/{repo_name}:v1")
    assert r.code == 0, r.err
    _, doc, _ = stored_index(registry, repo_name, "v1")
    assert [d["digest"] for d in doc["manifests"]] == [images["amd64"]["digest"], images["arm64"]["digest"]]
    assert_complete(registry, repo_name, "v1", tmp_path)


def test_an_attested_index_in_a_layout_is_flattened_via_the_action(registry, repo_name, tmp_path):
    seed = f"{repo_name}-build"
    attested = mm_images.push_attested_index(registry, seed, "multi",
                                             platforms=(("linux", "amd64"), ("linux", "arm64", "v8")))
    riscv = mm_images.push_image(registry, seed, "riscv", fmt="oci", arch="riscv64")
    out = tmp_path / "merged"
    to_layout(registry, seed, "multi", out, "app")
    to_layout(registry, seed, "riscv", out, "riscv")
    run = run_action({"target": f"{registry.host}/{repo_name}:v1",
                      "sources": f"oci-layout://{out}:app\nlinux/riscv64=oci-layout://{out}:riscv\n"})
    assert run.code == 0, run.all_text
    _, doc, digest = stored_index(registry, repo_name, "v1")
    assert run.outputs["digest"] == digest and run.outputs["ref"] == f"{registry.host}/{repo_name}@{digest}"
    entries = [(d["digest"], (d.get("annotations") or {}).get("vnd.docker.reference.digest")) for d in doc["manifests"]]
    want = []
    for image, att in zip(attested["images"], attested["attestations"]):
        want += [(image["digest"], None), (att["digest"], image["digest"])]
    assert sorted(entries, key=str) == sorted(want + [(riscv["digest"], None)], key=str)
    assert json.loads(run.outputs["platforms"]) == {"linux/amd64": attested["images"][0]["digest"],
                                                    "linux/arm64/v8": attested["images"][1]["digest"],
                                                    "linux/riscv64": riscv["digest"]}
    assert_complete(registry, repo_name, "v1", tmp_path)


def test_layout_and_registry_sources_mix(registry, repo_name, arch_layouts):
    images, dirs = arch_layouts
    remote = mm_images.push_image(registry, repo_name, "s390x", fmt="oci", arch="s390x")
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1", stdin=json.dumps([
        {"image": f"oci-layout://{dirs['amd64']}"}, {"image": remote["ref"]}]))
    assert r.code == 0, r.err
    _, doc, _ = stored_index(registry, repo_name, "v1")
    assert [d["digest"] for d in doc["manifests"]] == [images["amd64"]["digest"], remote["digest"]]


@pytest.mark.bad_input
@pytest.mark.parametrize("case", ["no-layout", "no-tag", "wrong-digest", "not-a-layout", "two-images"])
def test_a_missing_layout_or_tag_is_bad_input_and_nothing_is_sent(registry, repo_name, arch_layouts, tmp_path,
                                                                  case):
    images, dirs = arch_layouts
    good = {"image": f"oci-layout://{dirs['arm64']}:arm64"}
    bad, fragment = {
        "no-layout": ({"image": f"oci-layout://{tmp_path}/nowhere:amd64"}, "does not exist"),
        "no-tag": ({"image": f"oci-layout://{dirs['amd64']}:riscv64"}, "no tag 'riscv64' in the layout"),
        "wrong-digest": ({"image": f"oci-layout://{dirs['amd64']}:amd64", "digest": images["arm64"]["digest"]},
                         "not the expected"),
        "not-a-layout": ({"image": f"oci-layout://{tmp_path}"}, "not an OCI image layout"),
        "two-images": ({"image": f"oci-layout://{tmp_path}/both"}, "holds 2 images"),
    }[case]
    if case == "two-images":
        to_layout(registry, f"{repo_name}-build", "amd64", tmp_path / "both")
        to_layout(registry, f"{repo_name}-build", "arm64", tmp_path / "both")
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(yaml.safe_dump([good, bad]))
    mark = log_mark(registry)
    r = run_cli("push", "from-matrix", str(matrix), "--target", f"{registry.host}/{repo_name}:v1")
    assert r.code == 2, r.err
    assert len(r.err_lines) == 1 and fragment in r.err and f"{matrix}:" in r.err and "hint:" in r.err, r.err
    assert requests_since(registry, mark) == []   # refused before any request: no tag, no blob, no ping
    assert mm_images.list_tags(registry, repo_name) == []


@pytest.mark.bad_input
@pytest.mark.parametrize("damage", ["layer-missing", "layer-truncated", "child-missing"])
def test_an_incomplete_layout_is_bad_input_found_before_any_request(registry, repo_name, tmp_path, damage):
    seed = f"{repo_name}-build"
    attested = mm_images.push_attested_index(registry, seed, "multi",
                                             platforms=(("linux", "amd64"), ("linux", "arm64")))
    out = tmp_path / "oci"
    to_layout(registry, seed, "multi", out, "app")
    image = attested["images"][1]
    victim = image["digest"] if damage == "child-missing" else image["layer_digests"][0]
    path = out / "blobs" / "sha256" / victim.split(":")[1]
    if damage == "layer-truncated":
        path.write_bytes(path.read_bytes()[:-1])
    else:
        path.unlink()
    mark = log_mark(registry)
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1",
                stdin=json.dumps([{"image": f"oci-layout://{out}:app"}]))
    assert r.code == 2 and len(r.err_lines) == 1 and victim in r.err and "hint:" in r.err, r.err
    assert requests_since(registry, mark) == []


@pytest.mark.hostile("altered layout blob")
def test_a_layer_altered_in_the_layout_stops_the_run_untagged(registry, repo_name, arch_layouts):
    images, dirs = arch_layouts
    layer = dirs["arm64"] / "blobs" / "sha256" / images["arm64"]["layer_digests"][1].split(":")[1]
    raw = bytearray(layer.read_bytes())
    raw[len(raw) // 2] ^= 0xFF   # same size: only hashing while streaming can tell
    layer.write_bytes(bytes(raw))
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1", stdin=json.dumps([
        {"image": f"oci-layout://{dirs['amd64']}"}, {"image": f"oci-layout://{dirs['arm64']}"}]))
    assert r.code == 1 and "does not hash to its digest" in r.err_lines[-1], r.err
    assert images["arm64"]["layer_digests"][1] in r.err_lines[-1]
    assert mm_images.list_tags(registry, repo_name) == []
    assert not mm_images.blob_exists(registry, repo_name, images["arm64"]["layer_digests"][1])
