"""OCI layouts written by skopeo and buildah read back digest for digest; layouts we write satisfy skopeo.

Real tools against the real loopback registry; hostile tars and symlinks are refused before any byte is used.
"""
import io
import json
import os
import subprocess
import tarfile

import pytest

import mm_images
from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import CompositionError, DigestMismatch, InputError
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.model import Descriptor, ImageIndex, MediaType
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.layout.reader import OciLayout
from multiarch_ci.layout.writer import WritableLayout
from multiarch_ci.registry.connect import connect


def skopeo(*args: str) -> subprocess.CompletedProcess:
    r = subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r


def skopeo_to_layout(registry, repo: str, tag: str, out) -> None:
    skopeo("copy", "--all", "--preserve-digests", "--src-tls-verify=false",
           f"docker://{registry.host}/{repo}:{tag}", f"oci:{out}:{tag}")


def ref(path, tag=None, digest=None) -> LayoutRef:
    return LayoutRef(str(path), tag, Digest.parse(digest) if isinstance(digest, str) else digest)


def read_everything(layout: OciLayout, top: LayoutRef) -> dict:
    """Walk a layout image like the publish chain does; returns digest -> bytes of every blob read."""
    seen = {}
    fetched = layout.get_manifest(top)
    seen[str(fetched.digest)] = fetched.body
    children = fetched.manifest.manifests if isinstance(fetched.manifest, ImageIndex) else ()
    manifests = [layout.get_manifest(top.with_digest(d.digest)) for d in children] or [fetched]
    for m in manifests:
        seen[str(m.digest)] = m.body
        for blob in m.manifest.blobs:
            seen[str(blob.digest)] = b"".join(layout.stream_blob(top, blob.digest))
        seen["config:" + str(m.digest)] = layout.get_blob(top, m.manifest.config)
    return seen


@pytest.fixture
def attested(registry, repo_name):
    return mm_images.push_attested_index(registry, repo_name, "v1", platforms=(("linux", "amd64"), ("linux", "arm64")))


def test_skopeo_layout_reads_back_the_registry_digests(registry, repo_name, attested, tmp_path):
    out = tmp_path / "oci"
    skopeo_to_layout(registry, repo_name, "v1", out)
    layout = OciLayout(str(out))
    assert layout.list_tags() == ["v1"]
    top = ref(out, "v1")
    fetched = layout.get_manifest(top)
    assert str(fetched.digest) == attested["digest"] and fetched.media_type == MediaType.OCI_INDEX
    assert str(fetched.ref) == f"oci-layout://{out}@{attested['digest']}"
    assert layout.resolve(top) == fetched.descriptor
    seen = read_everything(layout, top)
    for image, att in zip(attested["images"], attested["attestations"]):
        assert image["digest"] in seen and att["digest"] in seen
        for d in image["layer_digests"] + [image["config_digest"]]:
            assert mm_images.sha256_digest(seen[d]) == d
    assert layout.get_manifest(ref(out, digest=attested["images"][1]["digest"])).manifest.config.digest == \
        Digest.parse(attested["images"][1]["config_digest"])
    assert layout.get_manifest(ref(out)).digest == fetched.digest  # one image: no tag needed


@pytest.mark.parametrize("mode", ["tar", "tar.gz"])
def test_a_layout_tar_reads_like_its_directory(registry, repo_name, attested, tmp_path, mode):
    out = tmp_path / "oci"
    skopeo_to_layout(registry, repo_name, "v1", out)
    archive = tmp_path / f"layout.{mode}"
    subprocess.run(["tar", "-C", str(out), "-czf" if mode == "tar.gz" else "-cf", str(archive), "."], check=True)
    from_dir = read_everything(OciLayout(str(out)), ref(out, "v1"))
    from_tar = read_everything(OciLayout(str(archive)), ref(archive, "v1"))
    assert from_tar == from_dir and len(from_tar) >= 9


def test_buildah_layout_is_read_with_its_platform(tmp_path):
    root, run = tmp_path / "root", tmp_path / "run"
    base = ["buildah", "--storage-driver", "vfs", "--root", str(root), "--runroot", str(run)]

    def buildah(*args):
        r = subprocess.run([*base, *args], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "BUILDAH_ISOLATION": "chroot", "STORAGE_DRIVER": "vfs"})
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    (tmp_path / "hello.txt").write_text("hello from buildah\n")
    ctr = buildah("from", "--arch", "arm64", "scratch")
    buildah("copy", ctr, str(tmp_path / "hello.txt"), "/hello.txt")
    buildah("config", "--arch", "arm64", "--os", "linux", "--variant", "v8", ctr)
    buildah("commit", "--format", "oci", ctr, "mm-test-arm64")
    out = tmp_path / "oci"
    buildah("push", "mm-test-arm64", f"oci:{out}:arm64")
    layout = OciLayout(str(out))
    fetched = layout.get_manifest(ref(out, "arm64"))
    assert fetched.media_type == MediaType.OCI_MANIFEST
    config = json.loads(layout.get_blob(ref(out, "arm64"), fetched.manifest.config))
    assert (config["os"], config["architecture"], config.get("variant")) == ("linux", "arm64", "v8")
    layer = b"".join(layout.stream_blob(ref(out), fetched.manifest.layers[0].digest))
    assert Digest.of(layer) == fetched.manifest.layers[0].digest and len(layer) == fetched.manifest.layers[0].size


def test_several_images_need_a_tag_and_unknown_tags_are_named(registry, repo_name, tmp_path):
    out = tmp_path / "oci"
    for arch in ("amd64", "arm64"):
        mm_images.push_image(registry, repo_name, arch, fmt="oci", arch=arch)
        skopeo_to_layout(registry, repo_name, arch, out)
    layout = OciLayout(str(out))
    assert layout.list_tags() == ["amd64", "arm64"]
    with pytest.raises(InputError, match="holds 2 images") as e:
        layout.get_manifest(ref(out))
    assert "amd64, arm64" in e.value.hint
    with pytest.raises(InputError, match="no tag 'riscv64'"):
        layout.get_manifest(ref(out, "riscv64"))
    with pytest.raises(DigestMismatch):
        layout.get_manifest(ref(out, "amd64"), expect=Digest("sha256", "0" * 64))


def _hostile_tar(path, add) -> None:
    with tarfile.open(path, "w") as tf:
        for name, data in (("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
                           ("index.json", b'{"schemaVersion":2,"manifests":[]}')):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        add(tf)


def _member(name, data=b"x", kind=tarfile.REGTYPE, link=""):
    def add(tf):
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, link
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        tf.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return add


@pytest.mark.hostile("layout tar members")
@pytest.mark.parametrize("add,fragment", [
    (_member("../../etc/evil"), "climbs out"),
    (_member("blobs/../../evil"), "climbs out"),
    (_member("/etc/evil"), "not a relative path"),
    (_member("blobs/sha256/" + "a" * 64, kind=tarfile.SYMTYPE, link="/etc/passwd"), "a link"),
    (_member("blobs/sha256/" + "b" * 64, kind=tarfile.LNKTYPE, link="oci-layout"), "a link"),
    (_member("blobs/fifo", kind=tarfile.FIFOTYPE), "special file"),
    (_member("oci-layout"), "appears twice"),
], ids=["dotdot", "inner-dotdot", "absolute", "symlink", "hardlink", "fifo", "duplicate"])
def test_hostile_tars_are_refused_on_open(tmp_path, add, fragment):
    path = tmp_path / "evil.tar"
    _hostile_tar(path, add)
    with pytest.raises(InputError) as e:
        OciLayout(str(path))
    assert fragment in e.value.message and e.value.exit_code == 2
    assert not (tmp_path.parent / "evil").exists() and not os.path.exists("/etc/evil")


@pytest.mark.hostile("layout symlink out")
def test_a_symlink_leading_out_of_a_layout_directory_is_refused(registry, repo_name, tmp_path):
    image = mm_images.push_image(registry, repo_name, "v1", fmt="oci")
    out = tmp_path / "oci"
    skopeo_to_layout(registry, repo_name, "v1", out)
    secret = tmp_path / "secret"
    secret.write_text("not yours")
    config = out / "blobs" / "sha256" / image["config_digest"].split(":")[1]
    config.unlink()
    config.symlink_to(secret)
    layout = OciLayout(str(out))
    fetched = layout.get_manifest(ref(out, "v1"))
    with pytest.raises(InputError, match="link leading out of the layout"):
        layout.get_blob(ref(out), fetched.manifest.config)
    (out / "index.json").unlink()
    (out / "index.json").symlink_to("/etc/hostname")
    with pytest.raises(InputError, match="link leading out"):
        OciLayout(str(out))


def test_altered_blobs_are_caught(registry, repo_name, tmp_path):
    image = mm_images.push_image(registry, repo_name, "v1", fmt="oci", layers=1)
    out = tmp_path / "oci"
    skopeo_to_layout(registry, repo_name, "v1", out)
    layer = out / "blobs" / "sha256" / image["layer_digests"][0].split(":")[1]
    raw = bytearray(layer.read_bytes())
    raw[-1] ^= 0xFF
    layer.write_bytes(bytes(raw))
    layout = OciLayout(str(out))
    with pytest.raises(DigestMismatch, match="does not hash"):
        list(layout.stream_blob(ref(out), Digest.parse(image["layer_digests"][0])))
    manifest = out / "blobs" / "sha256" / image["digest"].split(":")[1]
    manifest.write_bytes(manifest.read_bytes() + b" ")
    with pytest.raises(DigestMismatch):
        layout.get_manifest(ref(out, "v1"))


def copy_into_layout(client, source: ImageRef, layout: WritableLayout, target: LayoutRef, tag: str) -> str:
    """What the publish chain will do for a layout target: children's blobs, children, the index, the tag."""
    top = client.get_manifest(source)
    for d in top.manifest.manifests:
        child = client.get_manifest(source.with_digest(d.digest))
        for blob in child.manifest.blobs:
            layout.put_blob(target, blob.digest, client.stream_blob(source, blob.digest))
        layout.put_manifest(target, str(child.digest), child.body, child.media_type)
    layout.put_manifest(target, str(top.digest), top.body, top.media_type)
    return str(layout.put_manifest(target, tag, top.body, top.media_type))


def test_a_layout_we_write_is_pushed_unchanged_by_skopeo(registry, repo_name, attested, tmp_path):
    client = connect(environ={})
    out = tmp_path / "written"
    layout = WritableLayout(str(out))
    source = ImageRef.parse(f"{registry.host}/{repo_name}:v1")
    assert copy_into_layout(client, source, layout, ref(out), "v1") == attested["digest"]
    raw = skopeo("inspect", "--raw", f"oci:{out}:v1").stdout.encode()
    assert raw == mm_images.get_manifest(registry, repo_name, "v1")[0]
    skopeo("copy", "--all", "--preserve-digests", "--dest-tls-verify=false",
           f"oci:{out}:v1", f"docker://{registry.host}/{repo_name}-back:v1")
    body, _, header = mm_images.get_manifest(registry, f"{repo_name}-back", "v1")
    assert header == mm_images.sha256_digest(body) == attested["digest"]
    assert not [p for p in out.rglob(".*")], "no temp file left behind"
    assert json.loads((out / "oci-layout").read_bytes()) == {"imageLayoutVersion": "1.0.0"}


def test_writing_adds_to_an_existing_layout_and_moves_a_tag(registry, repo_name, tmp_path):
    one = mm_images.push_image(registry, repo_name, "one", fmt="oci", salt="1")
    two = mm_images.push_image(registry, repo_name, "two", fmt="oci", salt="2")
    out = tmp_path / "oci"
    skopeo_to_layout(registry, repo_name, "one", out)  # a layout skopeo made: we add to it
    layout = WritableLayout(str(out))
    client = connect(environ={})
    src = ImageRef.parse(f"{registry.host}/{repo_name}:two")
    fetched = client.get_manifest(src)
    for blob in fetched.manifest.blobs:
        layout.put_blob(ref(out), blob.digest, client.stream_blob(src, blob.digest))
    layout.put_manifest(ref(out), "two", fetched.body, fetched.media_type)
    layout.put_manifest(ref(out), "latest", fetched.body, fetched.media_type)
    assert layout.list_tags() == ["latest", "one", "two"]
    first = client.get_manifest(ImageRef.parse(f"{registry.host}/{repo_name}:one"))
    layout.put_manifest(ref(out), "latest", first.body, first.media_type)  # the tag moves, not duplicates
    names = [e["annotations"]["org.opencontainers.image.ref.name"] for e in layout.entries()]
    assert sorted(names) == ["latest", "one", "two"]
    for tag, want in (("one", one), ("two", two), ("latest", one)):
        raw = skopeo("inspect", "--raw", f"oci:{out}:{tag}").stdout.encode()
        assert mm_images.sha256_digest(raw) == want["digest"], tag


def test_a_blob_that_does_not_hash_is_not_written(tmp_path):
    out = tmp_path / "oci"
    layout = WritableLayout(str(out))
    good = b"config bytes"
    digest = Digest.of(good)
    with pytest.raises(DigestMismatch, match="nothing was written"):
        layout.put_blob(ref(out), digest, iter([b"config ", b"bytez"]))
    assert not layout.blob_exists(ref(out), digest)
    assert os.listdir(out / "blobs" / "sha256") == []
    layout.put_blob(ref(out), digest, iter([b"config ", b"bytes"]))
    assert layout.get_blob(ref(out), Descriptor("application/octet-stream", digest, len(good))) == good
    with pytest.raises(DigestMismatch):
        layout.put_manifest(ref(out), "sha256:" + "0" * 64, b"{}", MediaType.OCI_MANIFEST)


def test_a_target_that_is_not_a_layout_is_refused(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="non-empty directory"):
        WritableLayout(str(tmp_path / "busy"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        WritableLayout(str(tmp_path / "file"))
    with pytest.raises(InputError, match="does not exist"):
        OciLayout(str(tmp_path / "nowhere"))


@pytest.mark.parametrize("annotations,tags", [
    ({"org.opencontainers.image.ref.name": "v1"}, {"v1"}),                                        # skopeo, buildah
    ({"org.opencontainers.image.ref.name": "v1", "io.containerd.image.name": "docker.io/org/app:v1"}, {"v1"}),
    ({"io.containerd.image.name": "127.0.0.1:5000/app:edge"}, {"edge"}),                          # buildx, containerd
    ({"org.opencontainers.image.ref.name": "docker.io/library/app:1.2"}, {"1.2"}),               # containerd export
    ({"io.containerd.image.name": "127.0.0.1:5000/app"}, set()),
    ({}, set()),
], ids=["ref-name", "buildx-both", "containerd", "full-ref-name", "port-no-tag", "none"])
def test_tags_of_an_index_entry(annotations, tags):
    from multiarch_ci.layout.index import entry_tags
    assert entry_tags({"annotations": annotations}) == tags


def test_docker_children_under_an_oci_index_push_back_unchanged_but_a_docker_list_is_not_tagged(registry, repo_name,
                                                                                                 tmp_path):
    """skopeo (containers/image) finds only OCI types by tag in index.json: a Docker list is refused up front."""
    images = [mm_images.push_image(registry, repo_name, fmt="docker", arch=a) for a in ("amd64", "arm64")]
    entries = [{"mediaType": i["media_type"], "digest": i["digest"], "size": i["size"], "platform": i["platform"]}
               for i in images]
    for media_type, tag in ((mm_images.OCI_INDEX, "oci"), (mm_images.DOCKER_LIST, "docker")):
        body = mm_images.canonical_json({"schemaVersion": 2, "mediaType": media_type, "manifests": entries})
        mm_images.client(registry).push_manifest(repo_name, body, media_type, tag)
    client = connect(environ={})
    out = tmp_path / "oci"
    layout = WritableLayout(str(out))
    oci = copy_into_layout(client, ImageRef.parse(f"{registry.host}/{repo_name}:oci"), layout, ref(out), "oci")
    skopeo("copy", "--all", "--preserve-digests", "--dest-tls-verify=false",
           f"oci:{out}:oci", f"docker://{registry.host}/{repo_name}-back:oci")
    body, _, header = mm_images.get_manifest(registry, f"{repo_name}-back", "oci")
    assert header == oci == mm_images.sha256_digest(body)
    with pytest.raises(CompositionError, match="only OCI manifests and indexes") as e:
        copy_into_layout(client, ImageRef.parse(f"{registry.host}/{repo_name}:docker"), layout, ref(out), "docker")
    assert "--format oci" in e.value.hint and layout.list_tags() == ["oci"]


def test_concurrent_writers_lose_no_tag(registry, repo_name, tmp_path):
    import threading
    image = mm_images.push_image(registry, repo_name, "v1", fmt="oci")
    body, content_type, _ = mm_images.get_manifest(registry, repo_name, "v1")
    out = tmp_path / "oci"
    WritableLayout(str(out))
    errors = []

    def write(n):
        try:
            WritableLayout(str(out)).put_manifest(ref(out), f"t{n}", body, content_type)
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)
    threads = [threading.Thread(target=write, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert OciLayout(str(out)).list_tags() == sorted(f"t{n}" for n in range(16))
    assert OciLayout(str(out)).get_manifest(ref(out, "t7")).digest == Digest.parse(image["digest"])


@pytest.mark.hostile("layout oversized or special files")
def test_oversized_manifests_and_fifos_are_refused_without_reading_them_whole(tmp_path):
    out = tmp_path / "oci"
    layout = WritableLayout(str(out))
    big = b"{" + b" " * (4 * 1024 * 1024) + b"}"
    digest = Digest.of(big)
    layout.put_blob(ref(out), digest, [big])
    index = {"schemaVersion": 2, "manifests": [{"mediaType": MediaType.OCI_MANIFEST, "digest": str(digest),
                                                 "size": len(big), "annotations": {
                                                     "org.opencontainers.image.ref.name": "big"}}]}
    (out / "index.json").write_text(json.dumps(index))
    with pytest.raises(InputError, match="larger than 4 MiB"):
        OciLayout(str(out)).get_manifest(ref(out, "big"))
    fifo_digest = Digest("sha256", "f" * 64)
    os.mkfifo(out / "blobs" / "sha256" / fifo_digest.hex)
    with pytest.raises(InputError, match="not a regular file"):
        list(OciLayout(str(out)).stream_blob(ref(out), fifo_digest))
