"""Referrers follow their images out of an OCI layout too (issue 13: "cross-repo, cross-registry, from a
layout"). The layout is written by skopeo, an independent client: the signed image, its signature and SBOM
artifacts (copied by digest; skopeo lists them in index.json) and cosign's `sha256-<hex>.sig` tag."""
from __future__ import annotations

import json
import tarfile

import pytest

import mm_artifacts
import mm_images
from mm_cli import run_cli
from mm_clients import skopeo_inspect
from mm_layouts import skopeo


def signed_layout(registry, repo: str, out) -> dict:
    image = mm_images.push_image(registry, repo, "v1", fmt="oci", arch="arm64", variant="v8")
    signed = {"image": image, **mm_artifacts.sign(registry, repo, image)}
    src = f"docker://{registry.host}/{repo}"
    for what, layout_tag in ((":v1", "v1"), (f"@{signed['sig']['digest']}", "sig"),
                             (f"@{signed['sbom']['digest']}", "sbom"),
                             (f":{signed['cosign']['tag']}", signed["cosign"]["tag"])):
        skopeo("copy", "--preserve-digests", "--src-tls-verify=false", src + what, f"oci:{out}:{layout_tag}")
    return signed


def test_signatures_in_a_layout_follow_the_image_to_the_registry(registry, registry2, repo_name, tmp_path):
    out = tmp_path / "arm-layout"
    s = signed_layout(registry, repo_name, out)
    amd = mm_images.push_image(registry2, f"{repo_name}-amd", "v1", fmt="oci", arch="amd64")
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry2.host}/{repo_name}-app:v1", "--json",
                stdin=json.dumps([{"image": f"oci-layout://{out}:v1"},
                                  {"image": f"{registry2.host}/{repo_name}-amd:v1"}]))
    assert r.code == 0, r.err
    target = f"{repo_name}-app"
    subject = s["image"]["digest"]
    for art in (s["sig"], s["sbom"]):
        raw = skopeo_inspect(registry2, f"{registry2.host}/{target}@{art['digest']}")
        assert raw["subject"]["digest"] == subject and mm_images.blob_exists(registry2, target, art["payload"])
    listed = skopeo_inspect(registry2, f"{registry2.host}/{target}:{subject.replace(':', '-')}")
    assert sorted(e["digest"] for e in listed["manifests"]) == sorted([s["sig"]["digest"], s["sbom"]["digest"]])
    _body, _, header = mm_images.get_manifest(registry2, target, s["cosign"]["tag"])
    assert header == s["cosign"]["digest"]
    rows = r.json()["referrers"]
    assert sorted(row["digest"] for row in rows) == sorted(
        a["digest"] for a in (s["sig"], s["sbom"], s["cosign"]))
    assert all(row["subject"] == subject for row in rows)   # none for the registry image nobody signed
    assert amd["digest"] in {m["digest"] for m in mm_images.stored_index(registry2, target, "v1")[1]["manifests"]}


def test_referrers_none_takes_nothing_from_the_layout(registry, registry2, repo_name, tmp_path):
    out = tmp_path / "arm-layout"
    s = signed_layout(registry, repo_name, out)
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry2.host}/{repo_name}-app:v1", "--json",
                "--referrers", "none", stdin=json.dumps([{"image": f"oci-layout://{out}:v1"}]))
    assert r.code == 0, r.err
    assert r.json()["referrers"] == []
    assert not mm_images.manifest_exists(registry2, f"{repo_name}-app", s["sig"]["digest"])
    assert s["cosign"]["tag"] not in mm_images.list_tags(registry2, f"{repo_name}-app")


def listed_entries(index: dict) -> dict[str, dict]:
    """digest -> entry, for the untagged entries of a layout's index.json (its listed referrers)."""
    return {e["digest"]: e for e in index["manifests"]
            if "org.opencontainers.image.ref.name" not in (e.get("annotations") or {})}


def index_of(out) -> dict:
    if out.suffix == ".tar":
        with tarfile.open(out) as tar:
            return json.load(tar.extractfile("index.json"))
    return json.loads((out / "index.json").read_text())


@pytest.mark.parametrize("kind", ["dir", "tar"])
def test_referrers_follow_their_images_into_a_layout_target_and_on_to_the_next_job(registry, registry2, repo_name,
                                                                                   tmp_path, kind):
    """issue 22 §4: the signature, the SBOM (listed by the tag schema in the registry) and the cosign
    signature of a child land in the layout: untagged index.json entries, the cosign tag as a tag; skopeo
    and our inspect read the layout; the layout handed on as a source carries them to the next registry."""
    image = mm_images.push_image(registry, repo_name, "arm", fmt="oci", arch="arm64", variant="v8")
    other = mm_images.push_image(registry, repo_name, "amd", fmt="oci", arch="amd64")
    s = mm_artifacts.sign(registry, repo_name, image)
    out = tmp_path / ("release.tar" if kind == "tar" else "release")
    r = run_cli("push", "from-matrix", "-", "--target", f"oci-layout://{out}:v1", "--json",
                stdin=json.dumps([{"image": image["ref"]}, {"image": other["ref"]}]))
    assert r.code == 0, r.err
    rows = r.json()["referrers"]
    assert sorted(row["digest"] for row in rows) == sorted(a["digest"] for a in (s["sig"], s["sbom"], s["cosign"]))
    assert all(row["subject"] == image["digest"] and row["targets"] == [f"oci-layout://{out}"] for row in rows)
    index = index_of(out)
    listed = listed_entries(index)
    assert set(listed) == {s["sig"]["digest"], s["sbom"]["digest"]}
    assert listed[s["sig"]["digest"]]["artifactType"] == mm_artifacts.SIG
    assert listed[s["sbom"]["digest"]]["artifactType"] == mm_artifacts.SBOM
    tags = {e["annotations"]["org.opencontainers.image.ref.name"]: e["digest"] for e in index["manifests"]
            if e["digest"] not in listed}
    assert tags == {"v1": r.json()["digest"], s["cosign"]["tag"]: s["cosign"]["digest"]}
    transport = "oci-archive" if kind == "tar" else "oci"
    raw = skopeo("inspect", "--raw", f"{transport}:{out}:v1").stdout.encode()
    assert mm_images.sha256_digest(raw) == r.json()["digest"]
    assert json.loads(skopeo("inspect", "--raw", f"{transport}:{out}:{s['cosign']['tag']}").stdout)["layers"]
    seen = run_cli("inspect", f"oci-layout://{out}:v1", "--json")
    assert seen.code == 0 and seen.json()["digest"] == r.json()["digest"], seen.err
    # the next job: the layout as its source, a registry as its target; the referrers come along
    nxt = run_cli("push", "from-matrix", "-", "--target", f"{registry2.host}/{repo_name}-next:v1", "--json",
                  stdin=json.dumps([{"image": f"oci-layout://{out}:v1"}]))
    assert nxt.code == 0, nxt.err
    assert sorted(row["digest"] for row in nxt.json()["referrers"]) == sorted(row["digest"] for row in rows)
    target = f"{repo_name}-next"
    for art in (s["sig"], s["sbom"]):
        raw = skopeo_inspect(registry2, f"{registry2.host}/{target}@{art['digest']}")
        assert raw["subject"]["digest"] == image["digest"] and mm_images.blob_exists(registry2, target, art["payload"])
    assert mm_images.get_manifest(registry2, target, s["cosign"]["tag"])[2] == s["cosign"]["digest"]


def test_a_rerun_into_the_layout_lists_each_referrer_once(registry, repo_name, tmp_path):
    image = mm_images.push_image(registry, repo_name, "arm", fmt="oci", arch="arm64")
    s = mm_artifacts.sign(registry, repo_name, image)
    out = tmp_path / "oci"
    for tag in ("v1", "v2", "v1"):
        r = run_cli("push", "from-matrix", "-", "--target", f"oci-layout://{out}:{tag}",
                    stdin=json.dumps([{"image": image["ref"]}]))
        assert r.code == 0, r.err
    entries = index_of(out)["manifests"]
    assert sorted(e["digest"] for e in entries if e["digest"] in (s["sig"]["digest"], s["sbom"]["digest"])) == \
        sorted([s["sig"]["digest"], s["sbom"]["digest"]])
    assert len(entries) == 2 + 1 + 2   # v1, v2, the cosign tag, the two listed referrers
