"""End to end: each `push from-*` form against a real registry, read back with an independent client.

Every test pushes its per-arch images with ``mm_images`` (not the tool), runs the real CLI as a
subprocess and verifies what the registry then holds: the index bytes, its digest, its tags, its
children and blobs, and what skopeo / docker make of it.
"""
from __future__ import annotations

import hashlib
import json
import re

import pytest
import yaml

import mm_clients
import mm_images
from mm_cli import run_cli
from mm_images import DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, stored_index

# anything looking like a timestamp (RFC 3339 / ISO 8601 date-time)
TIMESTAMP = re.compile(rb"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


# -- helpers ------------------------------------------------------------------------------------

def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def platform_str(p: dict) -> str:
    head = f"{p['os']}({p['os.version']})" if p.get("os.version") else p["os"]
    return "/".join([head, p["architecture"]] + ([p["variant"]] if p.get("variant") else []))


def platform_key(p: dict) -> tuple:
    return (p["os"], p["architecture"], p.get("variant") or "", p.get("os.version") or "")


def ok(run) -> None:
    assert run.code == 0, f"exit {run.code}\nstdout:\n{run.out}\nstderr:\n{run.err}"



def printed_ref(run) -> str:
    """The last stdout line of a plain (non --json) push: REGISTRY/REPO@sha256:..."""
    return run.out.strip().splitlines()[-1].strip()


def write_spec(path, target: str, entries: list[dict], tags=None, annotations=None):
    doc = {"image": target}
    if tags is not None:
        doc["tags"] = tags
    doc["manifests"] = entries
    if annotations:
        doc["annotations"] = annotations
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def spec_platform(img: dict) -> dict:
    p = img["platform"]
    out = {"architecture": p["architecture"], "os": p["os"]}
    if p.get("variant"):
        out["variant"] = p["variant"]
    return out


def assert_children(doc: dict, images: list[dict]) -> None:
    """Index entries are exactly `images` (descriptor fields + platform); their order is the input's."""
    entries = doc["manifests"]
    by_digest = {i["digest"]: i for i in images}
    assert sorted(e["digest"] for e in entries) == sorted(by_digest)
    for e in entries:
        img = by_digest[e["digest"]]
        assert e["mediaType"] == img["media_type"]
        assert e["size"] == img["size"]
        assert platform_key(e["platform"]) == platform_key(img["platform"])


def assert_tags_point_at(reg, repo: str, tags: list[str], body: bytes) -> None:
    for tag in tags:
        got, _, header = mm_images.get_manifest(reg, repo, tag)
        assert got == body, f"tag {tag} holds other bytes"
        assert header == sha256(body)


def writes_to(reg, repo: str, since: int) -> list[tuple[str, str, int]]:
    """Write requests (PUT/POST/PATCH/DELETE) to `repo` in the registry log after entry `since`."""
    return [r for r in reg.request_log()[since:]
            if r[0] in ("PUT", "POST", "PATCH", "DELETE") and r[1].startswith(f"/v2/{repo}/")]


ARCHES = {  # id -> push_image kwargs
    "amd64": dict(arch="amd64"),
    "arm64v8": dict(arch="arm64", variant="v8"),
    "s390x": dict(arch="s390x"),
}


# -- from-spec ----------------------------------------------------------------------------------

@pytest.mark.parametrize("formats, expected_type", [
    pytest.param(("docker", "docker", "docker"), DOCKER_LIST, id="docker"),
    pytest.param(("oci", "oci", "oci"), OCI_INDEX, id="oci"),
    pytest.param(("docker", "oci", "docker"), OCI_INDEX, id="mixed"),
])
def test_from_spec(registry, repo_name, tmp_path, formats, expected_type):
    reg = registry
    images = [mm_images.push_image(reg, repo_name, f"src-{name}", fmt=fmt, **kw)
              for (name, kw), fmt in zip(ARCHES.items(), formats)]
    # declared out of order on purpose: s390x, amd64, arm64/v8
    entries = [{"image": images[i]["ref"], "platform": spec_platform(images[i])} for i in (2, 0, 1)]
    spec = write_spec(tmp_path / "spec.yaml", f"{reg.host}/{repo_name}:v1", entries,
                      tags=["latest", "1.0"])

    run = run_cli("push", "from-spec", str(spec))
    ok(run)

    body, doc, digest = stored_index(reg, repo_name, "v1")
    assert printed_ref(run) == f"{reg.host}/{repo_name}@{digest}"
    assert doc["schemaVersion"] == 2
    assert doc["mediaType"] == expected_type
    assert [platform_str(e["platform"]) for e in doc["manifests"]] == \
        ["linux/s390x", "linux/amd64", "linux/arm64/v8"]  # the order declared (issue 10)
    assert_children(doc, images)
    if expected_type == DOCKER_LIST:
        assert "annotations" not in doc
    assert_tags_point_at(reg, repo_name, ["v1", "latest", "1.0"], body)
    assert mm_images.get_manifest(reg, repo_name, digest)[0] == body
    assert set(mm_images.list_tags(reg, repo_name)) == \
        {"v1", "latest", "1.0", "src-amd64", "src-arm64v8", "src-s390x"}


# -- from-args ----------------------------------------------------------------------------------

def test_from_args_template_and_tags(registry, repo_name):
    reg = registry
    amd = mm_images.push_image(reg, repo_name, "v1-amd64", arch="amd64")
    arm = mm_images.push_image(reg, repo_name, "v1-arm64v8", arch="arm64", variant="v8")

    run = run_cli("push", "from-args", "--platforms", "linux/arm64/v8,linux/amd64",
                  "--template", f"{reg.host}/{repo_name}:v1-ARCHVARIANT",
                  "--target", f"{reg.host}/{repo_name}:v1", "--tags", "a,b", "--tags", "c")
    ok(run)

    body, doc, digest = stored_index(reg, repo_name, "v1")
    assert printed_ref(run) == f"{reg.host}/{repo_name}@{digest}"
    assert doc["mediaType"] == DOCKER_LIST
    assert [e["digest"] for e in doc["manifests"]] == [arm["digest"], amd["digest"]]  # --platforms order
    assert_children(doc, [amd, arm])
    assert_tags_point_at(reg, repo_name, ["v1", "a", "b", "c"], body)
    assert mm_images.list_tags(reg, repo_name) == sorted(["v1", "a", "b", "c", "v1-amd64", "v1-arm64v8"])


# -- from-matrix --------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["file-json", "file-yaml", "stdin-json", "stdin-yaml"])
def test_from_matrix_digest_pinning(registry, repo_name, tmp_path, how):
    reg = registry
    pinned = mm_images.push_image(reg, repo_name, "amd64", arch="amd64", salt="first")
    moved = mm_images.push_image(reg, repo_name, "amd64", arch="amd64", salt="second")  # tag moved
    assert pinned["digest"] != moved["digest"]
    assert mm_images.get_manifest(reg, repo_name, "amd64")[2] == moved["digest"]
    arm = mm_images.push_image(reg, repo_name, "arm64", arch="arm64", variant="v8")
    matrix = [
        {"image": f"{reg.host}/{repo_name}:arm64", "platform": "linux/arm64/v8"},
        {"image": f"{reg.host}/{repo_name}:amd64", "digest": pinned["digest"],
         "platform": "linux/amd64"},
    ]
    text = json.dumps(matrix, indent=1) if how.endswith("json") else yaml.safe_dump(matrix)
    if how.startswith("file"):
        path = tmp_path / ("matrix.json" if how.endswith("json") else "matrix.yaml")
        path.write_text(text)
        run = run_cli("push", "from-matrix", str(path), "--target", f"{reg.host}/{repo_name}:multi")
    else:
        run = run_cli("push", "from-matrix", "-", "--target", f"{reg.host}/{repo_name}:multi",
                      stdin=text)
    ok(run)

    body, doc, digest = stored_index(reg, repo_name, "multi")
    assert printed_ref(run) == f"{reg.host}/{repo_name}@{digest}"
    assert [e["digest"] for e in doc["manifests"]] == [arm["digest"], pinned["digest"]]  # the matrix order
    assert moved["digest"] not in body.decode()
    assert_children(doc, [pinned, arm])


# -- from-digests -------------------------------------------------------------------------------

def test_from_digests_folder(registry, repo_name, tmp_path):
    """Docker docs' merge pattern: each leg pushes by digest and touches digests/<hex>."""
    reg = registry
    images = [mm_images.push_image(reg, repo_name, None, fmt=fmt, **kw)
              for (_, kw), fmt in zip(ARCHES.items(), ("oci", "oci", "oci"))]
    folder = tmp_path / "digests"
    folder.mkdir()
    for img in images:
        (folder / img["digest"].removeprefix("sha256:")).touch()

    run = run_cli("push", "from-digests", str(folder), "--target", f"{reg.host}/{repo_name}:1.2.3",
                  "--tags", "latest")
    ok(run)

    body, doc, digest = stored_index(reg, repo_name, "1.2.3")
    assert printed_ref(run) == f"{reg.host}/{repo_name}@{digest}"
    assert doc["mediaType"] == OCI_INDEX
    assert [platform_str(e["platform"]) for e in doc["manifests"]] == \
        ["linux/amd64", "linux/arm64/v8", "linux/s390x"]
    assert_children(doc, images)
    assert_tags_point_at(reg, repo_name, ["1.2.3", "latest"], body)
    assert mm_images.list_tags(reg, repo_name) == ["1.2.3", "latest"]


# -- from-sources -------------------------------------------------------------------------------

def test_from_sources_the_images_themselves(registry, repo_name):
    """The action's `sources` input as a CLI form: each image on the command line, [PLATFORM=]REF."""
    reg = registry
    amd = mm_images.push_image(reg, repo_name, "v1-amd64", arch="amd64")
    arm = mm_images.push_image(reg, repo_name, "v1-arm64", arch="arm64", variant="v8")

    run = run_cli("push", "from-sources", f"linux/arm64/v8={arm['ref']}", amd["ref"],
                  "--target", f"{reg.host}/{repo_name}:v1", "--tags", "latest")
    ok(run)

    body, doc, digest = stored_index(reg, repo_name, "v1")
    assert printed_ref(run) == f"{reg.host}/{repo_name}@{digest}"
    assert [e["digest"] for e in doc["manifests"]] == [arm["digest"], amd["digest"]]  # the order given
    assert_children(doc, [amd, arm])
    assert_tags_point_at(reg, repo_name, ["v1", "latest"], body)


# -- output: --json, --dry-run, inspect ---------------------------------------------------------

def _two_arch_spec(reg, repo, tmp_path, *, tags=("extra",), order=(0, 1), name="spec.yaml",
                   src_repo=None):
    src_repo = src_repo or repo
    imgs = [mm_images.push_image(reg, src_repo, "src-amd64", arch="amd64"),
            mm_images.push_image(reg, src_repo, "src-arm64", fmt="oci", arch="arm64", variant="v8")]
    entries = [{"image": imgs[i]["ref"], "platform": spec_platform(imgs[i])} for i in order]
    spec = write_spec(tmp_path / name, f"{reg.host}/{repo}:v1", entries, tags=list(tags))
    return spec, imgs


def test_json_output(registry, repo_name, tmp_path):
    reg = registry
    spec, (amd, arm) = _two_arch_spec(reg, repo_name, tmp_path, tags=["extra", "latest"])
    run = run_cli("push", "from-spec", str(spec), "--json")
    ok(run)
    out = run.json()   # the whole stdout is one JSON object

    body, doc, digest = stored_index(reg, repo_name, "v1")
    assert out["digest"] == digest
    assert re.fullmatch(r"127\.0\.0\.1:\d+/" + re.escape(repo_name) + r"@sha256:[0-9a-f]{64}", out["ref"])
    assert out["ref"] == f"{reg.host}/{repo_name}@{digest}"
    assert out["mediaType"] == OCI_INDEX == doc["mediaType"]
    assert out["tags"] == [f"{reg.host}/{repo_name}:{t}" for t in ("v1", "extra", "latest")]
    assert out["manifests"] == [
        {"platform": "linux/amd64", "digest": amd["digest"], "mediaType": DOCKER_MANIFEST,
         "size": amd["size"]},
        {"platform": "linux/arm64/v8", "digest": arm["digest"], "mediaType": OCI_MANIFEST,
         "size": arm["size"]},
    ]
    assert_tags_point_at(reg, repo_name, ["v1", "extra", "latest"], body)


def test_dry_run_pushes_nothing(registry, repo_name, tmp_path):
    reg = registry
    # sources in another repository: a real push would also mount blobs and put child manifests
    spec, (amd, arm) = _two_arch_spec(reg, repo_name, tmp_path, src_repo=f"{repo_name}-src")
    mark = len(reg.request_log())

    run = run_cli("push", "from-spec", str(spec), "--dry-run")
    ok(run)
    printed = json.loads(run.out)
    assert printed["mediaType"] == OCI_INDEX
    assert [e["digest"] for e in printed["manifests"]] == [amd["digest"], arm["digest"]]
    assert not mm_images.manifest_exists(reg, repo_name, "v1")
    assert not mm_images.manifest_exists(reg, repo_name, "extra")
    assert writes_to(reg, repo_name, mark) == []
    assert mm_images.list_tags(reg, repo_name) == []
    assert not mm_images.manifest_exists(reg, repo_name, amd["digest"])
    assert not mm_images.blob_exists(reg, repo_name, amd["config_digest"])

    assert "dry run: nothing pushed" in run.err
    dry_json = run_cli("push", "from-spec", str(spec), "--dry-run", "--json")
    ok(dry_json)
    planned = dry_json.json()
    # nothing exists under a ref or a tag yet: null, and pushed false; planned* say what a push writes
    assert planned["pushed"] is False and planned["ref"] is None and planned["tags"] is None
    assert planned["plannedRef"] == f"{reg.host}/{repo_name}@{planned['digest']}"
    assert planned["plannedTags"] == [f"{reg.host}/{repo_name}:v1", f"{reg.host}/{repo_name}:extra"]
    assert not mm_images.manifest_exists(reg, repo_name, "v1")
    assert writes_to(reg, repo_name, mark) == []

    # the real push stores exactly what the dry run showed
    ok(run_cli("push", "from-spec", str(spec)))
    _body, doc, digest = stored_index(reg, repo_name, "v1")
    assert doc == printed
    assert mm_images.manifest_exists(reg, repo_name, amd["digest"])
    assert dry_json.json()["digest"] == digest
    assert sha256(run.out.encode()) == digest


@pytest.mark.parametrize("what", ["index", "image"])
@pytest.mark.parametrize("mode", ["table", "json", "raw"])
def test_inspect(registry, repo_name, tmp_path, mode, what):
    reg = registry
    spec, (amd, arm) = _two_arch_spec(reg, repo_name, tmp_path)
    ok(run_cli("push", "from-spec", str(spec)))
    if what == "index":
        ref, (body, doc, digest) = f"{reg.host}/{repo_name}:v1", stored_index(reg, repo_name, "v1")
        rows = [("linux/amd64", amd), ("linux/arm64/v8", arm)]
    else:
        ref, (body, doc, digest) = amd["ref"], stored_index(reg, repo_name, "src-amd64")
        rows = [("linux/amd64", amd)]

    flag = {"table": [], "json": ["--json"], "raw": ["--raw"]}[mode]
    run = run_cli("inspect", ref, *flag)
    ok(run)
    if mode == "raw":
        assert run.out.encode() == body
    elif mode == "json":
        out = run.json()
        assert out["digest"] == digest
        assert out["ref"] == f"{reg.host}/{repo_name}@{digest}"
        assert out["mediaType"] == doc["mediaType"]
        assert out["manifests"] == [{"platform": p, "digest": i["digest"], "mediaType": i["media_type"],
                                     "size": i["size"]} for p, i in rows]
    else:
        lines = run.out.splitlines()
        assert f"{reg.host}/{repo_name}@{digest}" in lines[0]
        assert lines[1].split() == ["PLATFORM", "DIGEST", "SIZE", "MEDIA", "TYPE"]
        assert [line.split() for line in lines[2:]] == \
            [[p, i["digest"], str(i["size"]), i["media_type"]] for p, i in rows]


# -- determinism --------------------------------------------------------------------------------

def test_same_inputs_same_digest_no_timestamps(registry, repo_name, tmp_path):
    reg = registry
    spec, _ = _two_arch_spec(reg, repo_name, tmp_path)
    first = run_cli("push", "from-spec", str(spec), "--json")
    ok(first)
    body1, doc, digest1 = stored_index(reg, repo_name, "v1")
    second = run_cli("push", "from-spec", str(spec), "--json")
    ok(second)
    body2, _, digest2 = stored_index(reg, repo_name, "v1")
    # the same sources listed in the other order: the other order, so another digest (issue 10)
    reordered, _ = _two_arch_spec(reg, repo_name, tmp_path, order=(1, 0), name="reordered.yaml")
    third = run_cli("push", "from-spec", str(reordered), "--json")
    ok(third)

    # ... and another input form naming the same images in that order gives that digest again
    amd_ref, arm_ref = (f"{reg.host}/{repo_name}:src-amd64", f"{reg.host}/{repo_name}:src-arm64")
    fourth = run_cli("push", "from-matrix", "-", "--target", f"{reg.host}/{repo_name}:other", "--json",
                     stdin=json.dumps([{"image": arm_ref}, {"image": amd_ref}]))
    ok(fourth)

    assert first.json()["digest"] == second.json()["digest"] == digest1
    assert third.json()["digest"] != digest1 and fourth.json()["digest"] == third.json()["digest"]
    assert [r["platform"] for r in third.json()["manifests"]] == ["linux/arm64/v8", "linux/amd64"]
    assert body1 == body2 and digest1 == digest2
    assert not TIMESTAMP.search(body1)
    assert set(doc) == {"schemaVersion", "mediaType", "manifests"}
    for entry in doc["manifests"]:
        assert set(entry) == {"mediaType", "digest", "size", "platform"}


# -- interop ------------------------------------------------------------------------------------

@pytest.mark.parametrize("arm_fmt, expected_type", [("docker", DOCKER_LIST), ("oci", OCI_INDEX)],
                         ids=["docker-list", "oci-index"])
def test_interop_skopeo_and_docker(registry, repo_name, tmp_path, arm_fmt, expected_type):
    reg = registry
    amd = mm_images.push_image(reg, repo_name, "src-amd64", arch="amd64", layers=2)
    arm = mm_images.push_image(reg, repo_name, "src-arm64", fmt=arm_fmt, arch="arm64", variant="v8",
                               layers=2)
    s390 = mm_images.push_image(reg, repo_name, "src-s390x", arch="s390x", layers=1)
    spec = write_spec(tmp_path / "spec.yaml", f"{reg.host}/{repo_name}:v1",
                      [{"image": i["ref"], "platform": spec_platform(i)} for i in (s390, arm, amd)])
    run = run_cli("push", "from-spec", str(spec), "--json")
    ok(run)
    reported = {r["platform"]: r["digest"] for r in run.json()["manifests"]}
    assert reported == {"linux/amd64": amd["digest"], "linux/arm64/v8": arm["digest"],
                        "linux/s390x": s390["digest"]}
    _body, doc, _digest = stored_index(reg, repo_name, "v1")
    assert doc["mediaType"] == expected_type
    ref = f"{reg.host}/{repo_name}:v1"

    assert mm_clients.skopeo_inspect(reg, ref, raw=True) == doc
    shown = mm_clients.docker_manifest_inspect(reg, ref)
    assert [m["digest"] for m in shown["manifests"]] == [m["digest"] for m in doc["manifests"]]
    assert [m["platform"]["architecture"] for m in shown["manifests"]] == ["s390x", "arm64", "amd64"]

    for os_, arch, variant, img in (("linux", "amd64", None, amd), ("linux", "arm64", "v8", arm)):
        picked = mm_clients.skopeo_inspect(reg, ref, raw=False, override_os=os_, override_arch=arch,
                                           override_variant=variant)
        assert picked["Layers"] == img["layer_digests"]
        assert picked["Architecture"] == arch
        assert reported[platform_str(img["platform"])] == img["digest"]


# -- cross-repo / cross-registry ----------------------------------------------------------------

def _all_blobs(img: dict) -> list[str]:
    return [img["config_digest"], *img["layer_digests"]]


def test_cross_repo_mounts_blobs(registry, repo_name):
    reg = registry
    amd = mm_images.push_image(reg, f"{repo_name}-amd64", "v1", arch="amd64", layers=2)
    arm = mm_images.push_image(reg, f"{repo_name}-arm64", "v1", fmt="oci", arch="arm64",
                               variant="v8", layers=2)
    mark = len(reg.request_log())

    run = run_cli("push", "from-args", "--platforms", "linux/amd64,linux/arm64/v8",
                  "--template", f"{reg.host}/{repo_name}-ARCH:v1",
                  "--target", f"{reg.host}/{repo_name}:v1", "--tags", "latest")
    ok(run)

    body, doc, _digest = stored_index(reg, repo_name, "v1")
    assert_children(doc, [amd, arm])
    for img in (amd, arm):
        assert mm_images.manifest_exists(reg, repo_name, img["digest"])
        got = mm_images.get_manifest(reg, repo_name, img["digest"])[0]
        assert sha256(got) == img["digest"]
        for blob in _all_blobs(img):
            assert mm_images.blob_exists(reg, repo_name, blob), blob
    assert mm_images.list_tags(reg, repo_name) == ["latest", "v1"]
    assert_tags_point_at(reg, repo_name, ["v1", "latest"], body)
    # sources untouched
    assert mm_images.list_tags(reg, f"{repo_name}-amd64") == ["v1"]

    writes = writes_to(reg, repo_name, mark)
    mounts = [w for w in writes if w[0] == "POST" and "mount=" in w[1]]
    mounted = {re.search(r"mount=([^&]+)", w[1])[1].replace("%3A", ":") for w in mounts
               if w[2] == 201}
    assert mounted == set(_all_blobs(amd) + _all_blobs(arm))
    uploads = [w for w in writes if "/blobs/uploads/" in w[1] and "mount=" not in w[1]]
    assert uploads == [], f"blobs uploaded instead of mounted: {uploads}"


def test_cross_registry_copies_blobs(registry, registry2, repo_name):
    src, dst = registry2, registry
    amd = mm_images.push_image(src, repo_name, "amd64", arch="amd64", layers=2)
    arm = mm_images.push_image(src, repo_name, "arm64", fmt="oci", arch="arm64", variant="v8")
    matrix = json.dumps([{"image": amd["ref"]}, {"image": arm["ref"]}])
    src_mark, dst_mark = len(src.request_log()), len(dst.request_log())

    run = run_cli("push", "from-matrix", "-", "--target", f"{dst.host}/{repo_name}:v1", "--json",
                  stdin=matrix)
    ok(run)

    _body, doc, digest = stored_index(dst, repo_name, "v1")
    assert run.json()["digest"] == digest
    assert run.json()["ref"] == f"{dst.host}/{repo_name}@{digest}"
    assert doc["mediaType"] == OCI_INDEX
    assert_children(doc, [amd, arm])
    for img in (amd, arm):
        got = mm_images.get_manifest(dst, repo_name, img["digest"])[0]
        assert got == mm_images.get_manifest(src, repo_name, img["digest"])[0]
        for blob in _all_blobs(img):
            assert mm_images.blob_exists(dst, repo_name, blob), blob
    assert mm_images.list_tags(dst, repo_name) == ["v1"]
    # nothing was written to the source registry
    assert writes_to(src, repo_name, src_mark) == []
    # every blob was uploaded into the target repository (no mount is possible across registries)
    finished = {re.search(r"digest=([^&]+)", w[1])[1].replace("%3A", ":")
                for w in writes_to(dst, repo_name, dst_mark)
                if "/blobs/uploads/" in w[1] and "digest=" in w[1] and w[2] == 201}
    assert finished == set(_all_blobs(amd) + _all_blobs(arm))
