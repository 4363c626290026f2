"""Several targets, one read: a 20 MiB layer goes to a second registry and a layout from a single GET."""
import hashlib

import pytest

import mm_images
from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import DigestMismatch
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.flow.fanout import fan_out
from multiarch_ci.layout.writer import WritableLayout
from multiarch_ci.registry.connect import connect


def noise(size: int, seed: str) -> bytes:
    block = hashlib.sha512(seed.encode()).digest() * 16384
    return (block * (size // len(block) + 1))[:size]


def test_one_source_read_feeds_a_registry_and_a_layout(registry, registry2, repo_name, tmp_path):
    data = noise(20 * 1024 * 1024 + 7, repo_name)
    digest = Digest.parse(mm_images.client(registry).push_blob(repo_name, data))
    client = connect(environ={})
    source = ImageRef.parse(f"{registry.host}/{repo_name}")
    target = ImageRef.parse(f"{registry2.host}/{repo_name}")
    out = tmp_path / "oci"
    layout = WritableLayout(str(out))
    before = len(registry.request_log())
    errors = fan_out(client.stream_blob(source, digest), [
        lambda chunks: client.upload_blob(target, client.start_upload(target), digest, chunks),
        lambda chunks: layout.put_blob(LayoutRef(str(out)), digest, chunks),
    ])
    assert errors == [None, None]
    gets = [p for m, p, s in registry.request_log()[before:] if m == "GET" and "/blobs/" in p]
    assert gets == [f"/v2/{repo_name}/blobs/{digest}"]                     # read once
    assert mm_images.blob_exists(registry2, repo_name, str(digest))
    assert (out / "blobs" / "sha256" / digest.hex).read_bytes() == data


def test_a_bad_source_commits_nowhere_and_a_failing_sink_stops_only_itself(registry2, repo_name, tmp_path):
    data = noise(3 * 1024 * 1024, repo_name)
    digest = Digest.of(data)
    client = connect(environ={})
    target = ImageRef.parse(f"{registry2.host}/{repo_name}")
    out = tmp_path / "oci"
    layout = WritableLayout(str(out))
    tampered = [data[:1024 * 1024], bytes(1024 * 1024), data[2 * 1024 * 1024:]]
    errors = fan_out(iter(tampered), [
        lambda chunks: client.upload_blob(target, client.start_upload(target), digest, chunks),
        lambda chunks: layout.put_blob(LayoutRef(str(out)), digest, chunks),
    ])
    assert all(isinstance(e, DigestMismatch) for e in errors)
    assert not mm_images.blob_exists(registry2, repo_name, str(digest))
    assert not layout.blob_exists(LayoutRef(str(out)), digest)

    def broken():
        yield data[:1024]
        raise OSError("source connection reset")

    with pytest.raises(OSError, match="reset"):
        fan_out(broken(), [lambda c: layout.put_blob(LayoutRef(str(out)), digest, c), lambda c: list(c)])
    assert not layout.blob_exists(LayoutRef(str(out)), digest)

    def refuses(chunks):
        next(chunks)
        raise RuntimeError("this target is full")

    errors = fan_out(iter([data[:1024 * 1024], data[1024 * 1024:]]),
                     [refuses, lambda c: layout.put_blob(LayoutRef(str(out)), digest, c)])
    assert isinstance(errors[0], RuntimeError) and errors[1] is None
    assert layout.blob_exists(LayoutRef(str(out)), digest)
