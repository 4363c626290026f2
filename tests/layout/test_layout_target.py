"""An OCI layout as the target: every blob, child and the index written into a directory, then tagged;
skopeo reads it and pushes it to the real loopback registry unchanged (same digest)."""
from __future__ import annotations

import json

import pytest

import mm_images
from mm_cli import run_cli
from mm_images import OCI_INDEX, stored_index
from mm_layouts import layout_tags, raw_manifest, skopeo, to_layout, to_registry
from mm_runner import log_mark, run_action
from multiarch_ci.core.digest import Digest

REF_NAME = "org.opencontainers.image.ref.name"


def blobs_in(out) -> set[str]:
    return {f"sha256:{p.name}" for p in (out / "blobs" / "sha256").iterdir()}


@pytest.fixture
def sources(registry, repo_name):
    """An attested index (amd64, arm64/v8) and a single riscv64 image in the registry, all OCI."""
    attested = mm_images.push_attested_index(registry, repo_name, "multi",
                                             platforms=(("linux", "amd64"), ("linux", "arm64", "v8")))
    riscv = mm_images.push_image(registry, repo_name, "riscv", fmt="oci", arch="riscv64", layers=2)
    return attested, riscv


def test_a_layout_target_then_skopeo_pushes_it_unchanged(registry, repo_name, sources, tmp_path):
    attested, riscv = sources
    out = tmp_path / "release"
    r = run_cli("push", "from-matrix", "-", "--target", f"oci-layout://{out}:v1", "--tags", "stable", "--json",
                stdin=json.dumps([{"image": attested["ref"]}, {"image": riscv["ref"]}]))
    assert r.code == 0, r.err
    doc = r.json()
    digest = doc["digest"]
    assert doc["ref"] == f"oci-layout://{out}@{digest}" and doc["pushed"] is True
    assert doc["tags"] == [f"oci-layout://{out}:v1", f"oci-layout://{out}:stable"]
    assert doc["mediaType"] == OCI_INDEX
    assert layout_tags(out) == {"v1": digest, "stable": digest}
    raw = raw_manifest(out, "v1")
    assert mm_images.sha256_digest(raw) == digest and json.loads(raw)["mediaType"] == OCI_INDEX
    wanted = {d["digest"] for d in json.loads(raw)["manifests"]}
    for image in [*attested["images"], riscv]:
        wanted |= {image["digest"], image["config_digest"], *image["layer_digests"]}
    assert wanted | {digest} <= blobs_in(out)
    for blob in blobs_in(out):   # every file is the content its name says
        assert Digest.of((out / "blobs" / "sha256" / blob.split(":")[1]).read_bytes()) == Digest.parse(blob)
    assert not list(out.rglob(".*")), "no temp file left behind"
    to_registry(out, "v1", registry, f"{repo_name}-released", "v1")
    body, stored, stored_digest = stored_index(registry, f"{repo_name}-released", "v1")
    assert stored_digest == digest and body == raw
    assert len(stored["manifests"]) == 5   # 3 images, 2 attestations


def test_a_layout_target_is_added_to_when_present(registry, repo_name, sources, tmp_path):
    attested, riscv = sources
    out = tmp_path / "oci"
    to_layout(registry, repo_name, "riscv", out, "base")          # a layout skopeo wrote, with its own tag
    before = blobs_in(out)
    r1 = run_cli("push", "from-matrix", "-", "--target", f"oci-layout://{out}:v1", "--json",
                 stdin=json.dumps([{"image": attested["ref"]}]))
    assert r1.code == 0, r1.err
    r2 = run_cli("push", "from-matrix", "-", "--target", f"oci-layout://{out}:v2", "--json",
                 stdin=json.dumps([{"image": attested["ref"]}, {"image": riscv["ref"]}]))
    assert r2.code == 0, r2.err
    tags = layout_tags(out)
    assert tags == {"base": riscv["digest"], "v1": r1.json()["digest"], "v2": r2.json()["digest"]}
    assert before <= blobs_in(out)
    for tag, digest in tags.items():
        assert mm_images.sha256_digest(raw_manifest(out, tag)) == digest
    again = run_cli("push", "from-matrix", "-", "--target", f"oci-layout://{out}:v1", "--json",
                    stdin=json.dumps([{"image": attested["ref"]}]))
    assert again.json()["digest"] == r1.json()["digest"] and layout_tags(out) == tags   # a rerun converges


def test_layout_to_layout_with_no_registry_at_all_and_dotenv(registry, repo_name, sources, tmp_path):
    _attested, _riscv = sources
    src = tmp_path / "built"
    to_layout(registry, repo_name, "multi", src, "app")
    to_layout(registry, repo_name, "riscv", src, "riscv")
    out, env = tmp_path / "out", tmp_path / "merge.env"
    mark = log_mark(registry)
    r = run_cli("push", "from-matrix", "-", "--target", f"oci-layout://{out}:1.0", "--dotenv", str(env),
                stdin=json.dumps([{"image": f"oci-layout://{src}:app"}, {"image": f"oci-layout://{src}:riscv"}]))
    assert r.code == 0, r.err
    assert registry.request_log()[mark:log_mark(registry)] == []   # nothing reached any registry
    digest = layout_tags(out)["1.0"]
    assert r.out.strip().splitlines()[-1] == f"oci-layout://{out}@{digest}"
    assert env.read_text().splitlines() == ["MULTIARCH_PUSHED=true", f"MULTIARCH_DIGEST={digest}",
                                            f"MULTIARCH_REF=oci-layout://{out}@{digest}",
                                            f"MULTIARCH_TAGS=oci-layout://{out}:1.0",
                                            f"MULTIARCH_REFS=oci-layout://{out}@{digest}"]
    assert len(json.loads(raw_manifest(out, "1.0"))["manifests"]) == 5


def test_semver_floating_tags_read_the_layouts_own_tags(registry, repo_name, sources, tmp_path):
    attested, riscv = sources
    out = tmp_path / "oci"
    first = run_cli("push", "from-matrix", "-", "--target", f"oci-layout://{out}", "--semver", "1.2.0", "--json",
                    stdin=json.dumps([{"image": attested["ref"]}]))
    assert first.code == 0, first.err
    assert sorted(layout_tags(out)) == ["1", "1.2", "1.2.0", "latest"]
    older = run_cli("push", "from-matrix", "-", "--target", f"oci-layout://{out}", "--semver", "1.1.9", "--json",
                    stdin=json.dumps([{"image": riscv["ref"]}]))
    assert older.code == 0, older.err
    tags = layout_tags(out)
    assert tags["1.1.9"] == tags["1.1"] == older.json()["digest"]
    assert tags["1"] == tags["latest"] == tags["1.2.0"] == first.json()["digest"]   # held: 1.2.0 is newer
    assert {h["tag"] for h in older.json()["held"]} == {"1", "latest"}


def test_the_action_writes_a_layout_and_says_so_in_its_outputs(registry, repo_name, sources, tmp_path):
    attested, _ = sources
    out = tmp_path / "action-out"
    run = run_action({"target": f"oci-layout://{out}:v1", "sources": attested["ref"]})
    assert run.code == 0, run.all_text
    digest = layout_tags(out)["v1"]
    assert run.outputs["ref"] == f"oci-layout://{out}@{digest}" and run.outputs["digest"] == digest
    assert run.outputs["tags"] == f"oci-layout://{out}:v1" and run.outputs["media-type"] == OCI_INDEX
    assert f"oci-layout://{out}@{digest}" in run.summary


def test_a_dry_run_against_a_layout_creates_nothing(registry, repo_name, sources, tmp_path):
    attested, _ = sources
    out = tmp_path / "not-yet"
    r = run_cli("push", "from-matrix", "-", "--target", f"oci-layout://{out}:v1", "--dry-run", "--json",
                stdin=json.dumps([{"image": attested["ref"]}]))
    assert r.code == 0, r.err
    assert r.json()["plannedRef"].startswith(f"oci-layout://{out}@sha256:") and r.json()["ref"] is None
    assert not out.exists()


@pytest.mark.bad_input
@pytest.mark.parametrize("case", ["format-docker", "a-file", "not-a-layout", "digests-dir"])
def test_a_layout_target_that_cannot_be_written_is_bad_input(registry, repo_name, sources, tmp_path, case):
    attested, _ = sources
    out = tmp_path / "out"
    args = ["push", "from-matrix", "-", "--target", f"oci-layout://{out}:v1"]
    if case == "format-docker":
        args += ["--format", "docker"]
        fragment = "--format docker: a Docker manifest list cannot be tagged in the OCI layout"
    elif case == "a-file":
        out.write_text("a file")
        fragment = "exists and is not a directory"
    elif case == "not-a-layout":
        out.mkdir()
        (out / "notes.txt").write_text("mine")
        fragment = "non-empty directory without an oci-layout file"
    else:
        (tmp_path / "digests").mkdir()
        args = ["push", "from-digests", str(tmp_path / "digests"), "--target", f"oci-layout://{out}:v1"]
        fragment = "a digests folder names images in the target repository"
    before = sorted(p.name for p in tmp_path.iterdir())
    mark = log_mark(registry)
    r = run_cli(*args, stdin=json.dumps([{"image": attested["ref"]}]))
    assert r.code == 2 and len(r.err_lines) == 1 and fragment in r.err and "hint:" in r.err, r.err
    assert registry.request_log()[mark:log_mark(registry)] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    if case == "not-a-layout":
        assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_docker_children_go_into_an_oci_index_that_skopeo_pushes_unchanged(registry, repo_name, tmp_path):
    images = [mm_images.push_image(registry, repo_name, arch, fmt="docker", arch=arch) for arch in ("amd64", "arm64")]
    out = tmp_path / "oci"
    r = run_cli("push", "from-matrix", "-", "--target", f"oci-layout://{out}:v1", "--json",
                stdin=json.dumps([{"image": i["ref"]} for i in images]))
    assert r.code == 0, r.err
    assert r.json()["mediaType"] == OCI_INDEX   # auto chose OCI: a layout tags nothing else
    assert [m["mediaType"] for m in r.json()["manifests"]] == [mm_images.DOCKER_MANIFEST] * 2
    to_registry(out, "v1", registry, f"{repo_name}-released", "v1")
    assert stored_index(registry, f"{repo_name}-released", "v1")[2] == r.json()["digest"]


def test_append_adds_a_platform_to_the_index_a_layout_tag_holds(registry, repo_name, sources, tmp_path):
    attested, riscv = sources
    out = tmp_path / "oci"
    base = ["push", "from-matrix", "-", "--target", f"oci-layout://{out}:v1", "--json"]
    assert run_cli(*base, stdin=json.dumps([{"image": attested["ref"]}])).code == 0
    r = run_cli(*base, "--append", stdin=json.dumps([{"image": riscv["ref"]}]))
    assert r.code == 0, r.err
    platforms = [m["platform"] for m in r.json()["manifests"] if "attestationFor" not in m]
    assert platforms == ["linux/amd64", "linux/arm64/v8", "linux/riscv64"]
    assert layout_tags(out)["v1"] == r.json()["digest"]
    seen = json.loads(skopeo("inspect", "--override-arch", "riscv64", f"oci:{out}:v1").stdout)
    assert seen["Architecture"] == "riscv64" and seen["Layers"] == riscv["layer_digests"]


def test_inspect_reviews_a_layout_before_it_goes_out(registry, repo_name, sources, tmp_path):
    attested, riscv = sources
    out = tmp_path / "review"
    pushed = run_cli("push", "from-matrix", "-", "--target", f"oci-layout://{out}:v1", "--json",
                     stdin=json.dumps([{"image": attested["ref"]}, {"image": riscv["ref"]}]))
    assert pushed.code == 0, pushed.err
    r = run_cli("inspect", f"oci-layout://{out}:v1", "--json")
    assert r.code == 0, r.err
    assert r.json()["digest"] == pushed.json()["digest"] and r.json()["ref"] == pushed.json()["ref"]
    assert r.json()["manifests"] == pushed.json()["manifests"]
    raw = run_cli("inspect", f"oci-layout://{out}:v1", "--raw")
    assert raw.out.encode() == raw_manifest(out, "v1")
    single = run_cli("inspect", f"oci-layout://{out}@{riscv['digest']}")
    assert single.code == 0 and "linux/riscv64" in single.out, single.err
    missing = run_cli("inspect", f"oci-layout://{out}:v2")
    assert missing.code == 2 and "no tag 'v2'" in missing.err and "tags here: v1" in missing.err, missing.err


def test_the_index_can_join_its_sources_in_one_layout(registry, repo_name, tmp_path):
    images = {a: mm_images.push_image(registry, repo_name, a, fmt="oci", arch=a) for a in ("amd64", "arm64")}
    out = tmp_path / "oci"
    for arch in images:
        to_layout(registry, repo_name, arch, out)
    before = blobs_in(out)
    mark = log_mark(registry)
    r = run_cli("push", "from-args", "--platforms", "linux/amd64,linux/arm64", "--template",
                f"oci-layout://{out}:ARCH", "--target", f"oci-layout://{out}:v1", "--json")
    assert r.code == 0, r.err
    assert registry.request_log()[mark:log_mark(registry)] == []
    tags = layout_tags(out)
    assert tags == {"amd64": images["amd64"]["digest"], "arm64": images["arm64"]["digest"], "v1": r.json()["digest"]}
    assert blobs_in(out) == before | {r.json()["digest"]}   # only the index was added
    to_registry(out, "v1", registry, f"{repo_name}-released", "v1")
    assert stored_index(registry, f"{repo_name}-released", "v1")[2] == r.json()["digest"]
