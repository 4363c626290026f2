"""A layout target named `.tar` is an OCI archive (issue 19 §1): skopeo's `oci-archive:` reads it and pushes
it to the real loopback registry with the same digest; an archive already there is read, added to and
replaced atomically; a run that tags nothing leaves it as it was."""
from __future__ import annotations

import json
import tarfile

import pytest

import mm_images
from mm_cli import one_error, run_cli
from mm_images import OCI_INDEX, stored_index
from mm_layouts import skopeo, to_layout
from mm_runner import log_mark


def archive_tags(path) -> dict[str, str]:
    """tag -> digest, from the archive's index.json as written."""
    with tarfile.open(path) as tar:
        doc = json.load(tar.extractfile("index.json"))
    return {e["annotations"]["org.opencontainers.image.ref.name"]: e["digest"] for e in doc["manifests"]
            if "org.opencontainers.image.ref.name" in (e.get("annotations") or {})}


@pytest.fixture
def images(registry, repo_name):
    return {a: mm_images.push_image(registry, repo_name, a, fmt="oci", arch=a, salt=a, layers=2)
            for a in ("amd64", "arm64", "riscv64")}


def push(target: str, *refs: str, extra: tuple[str, ...] = ()):
    return run_cli("push", "from-matrix", "-", "--target", target, "--json", *extra,
                   stdin=json.dumps([{"image": r} for r in refs]))


def test_a_tar_target_is_an_oci_archive_skopeo_reads_and_pushes_unchanged(registry, repo_name, images, tmp_path):
    out = tmp_path / "new.tar"
    r = push(f"oci-layout://{out}:v1", images["amd64"]["ref"], images["arm64"]["ref"])
    assert r.code == 0, r.err
    digest = r.json()["digest"]
    assert out.is_file() and tarfile.is_tarfile(out)
    assert [p.name for p in tmp_path.iterdir()] == ["new.tar"]   # no staging folder or temp file left
    with tarfile.open(out) as tar:
        names = tar.getnames()
    assert {"oci-layout", "index.json", "blobs", "blobs/sha256"} <= set(names)
    raw = skopeo("inspect", "--raw", f"oci-archive:{out}:v1").stdout.encode()
    assert mm_images.sha256_digest(raw) == digest and json.loads(raw)["mediaType"] == OCI_INDEX
    seen = json.loads(skopeo("inspect", "--override-arch", "arm64", f"oci-archive:{out}:v1").stdout)
    assert seen["Layers"] == images["arm64"]["layer_digests"]
    skopeo("copy", "--all", "--preserve-digests", "--dest-tls-verify=false", f"oci-archive:{out}:v1",
           f"docker://{registry.host}/{repo_name}-released:v1")
    assert stored_index(registry, f"{repo_name}-released", "v1")[2] == digest
    back = run_cli("inspect", f"oci-layout://{out}:v1", "--json")   # and we read what we wrote
    assert back.code == 0 and back.json()["digest"] == digest, back.err


def test_an_archive_already_there_is_added_to_and_replaced_whole(registry, repo_name, images, tmp_path):
    out = tmp_path / "release.tar"
    skopeo("copy", "--src-tls-verify=false", f"docker://{registry.host}/{repo_name}:riscv64",
           f"oci-archive:{out}:base")                                  # an archive skopeo wrote, its own tag
    first = push(f"oci-layout://{out}:v1", images["amd64"]["ref"])
    assert first.code == 0, first.err
    inode = out.stat().st_ino
    second = push(f"oci-layout://{out}:v2", images["amd64"]["ref"], images["arm64"]["ref"])
    assert second.code == 0, second.err
    assert out.stat().st_ino != inode                                  # a new file renamed over the old
    assert archive_tags(out) == {"base": images["riscv64"]["digest"], "v1": first.json()["digest"],
                                 "v2": second.json()["digest"]}
    for tag, digest in archive_tags(out).items():
        raw = skopeo("inspect", "--raw", f"oci-archive:{out}:{tag}").stdout.encode()
        assert mm_images.sha256_digest(raw) == digest, tag
    assert sorted(p.name for p in tmp_path.iterdir()) == ["release.tar"]


def test_a_run_that_tags_nothing_leaves_the_archive_as_it_was(registry, repo_name, images, tmp_path):
    out = tmp_path / "keep.tar"
    assert push(f"oci-layout://{out}:v1", images["amd64"]["ref"]).code == 0
    before, tags = out.read_bytes(), archive_tags(out)
    dry = push(f"oci-layout://{out}:v2", images["arm64"]["ref"], extra=("--dry-run",))
    assert dry.code == 0, dry.err
    src = tmp_path / "src"   # a layout source whose layer was altered: the copy fails after other blobs
    to_layout(registry, repo_name, "arm64", src)
    layer = src / "blobs" / "sha256" / images["arm64"]["layer_digests"][1].split(":")[1]
    raw = bytearray(layer.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    layer.write_bytes(bytes(raw))
    failed = push(f"oci-layout://{out}:v2", images["riscv64"]["ref"], f"oci-layout://{src}")
    assert "does not hash to its digest" in one_error(failed)
    assert out.read_bytes() == before and archive_tags(out) == tags
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.tar", "src"]


@pytest.mark.bad_input
@pytest.mark.parametrize("case,fragment", [
    ("compressed", "a compressed archive cannot be written"),
    ("not-a-layout-tar", "not an OCI image layout"),
    ("a-folder-inside", "non-empty directory without an oci-layout file"),   # a folder named .tar stays one
], ids=["tar.gz", "foreign-tar", "dir-named-tar-holding-junk"])
def test_a_tar_target_that_cannot_be_written_is_bad_input(registry, repo_name, images, tmp_path, case, fragment):
    if case == "compressed":
        out = tmp_path / "new.tar.gz"
    elif case == "not-a-layout-tar":
        out = tmp_path / "foreign.tar"
        (tmp_path / "notes.txt").write_text("mine")
        with tarfile.open(out, "w") as tar:
            tar.add(tmp_path / "notes.txt", "notes.txt")
    else:
        out = tmp_path / "odd.tar"
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    before = {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in tmp_path.iterdir()}
    mark = log_mark(registry)
    line = one_error(push(f"oci-layout://{out}:v1", images["amd64"]["ref"]), code=2)
    assert fragment in line and "hint:" in line, line
    assert registry.request_log()[mark:log_mark(registry)] == []
    assert {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in tmp_path.iterdir()} == before
