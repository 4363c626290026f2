"""Referrers follow their images out of an OCI layout too (issue 13: "cross-repo, cross-registry, from a
layout"). The layout is written by skopeo, an independent client: the signed image, its signature and SBOM
artifacts (copied by digest; skopeo lists them in index.json) and cosign's `sha256-<hex>.sig` tag."""
from __future__ import annotations

import json

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
    body, _, header = mm_images.get_manifest(registry2, target, s["cosign"]["tag"])
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
