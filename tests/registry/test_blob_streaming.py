"""Blobs between registries: big layers stream in chunks, and corrupted content is caught in flight."""
import hashlib
import json
from pathlib import Path

import mm_images
from mm_cli import run_cli


def big_image(reg, repo: str, size: int, seed: str) -> dict:
    """Push an image whose one layer is `size` bytes of deterministic noise."""
    block = hashlib.sha512(seed.encode()).digest() * 16384  # 1 MiB
    layer = (block * (size // len(block) + 1))[:size]
    c = mm_images.client(reg)
    layer_digest = c.push_blob(repo, layer)
    config = mm_images.canonical_json({"architecture": "amd64", "os": "linux",
                                       "rootfs": {"type": "layers", "diff_ids": [layer_digest]}})
    config_digest = c.push_blob(repo, config)
    manifest = mm_images.canonical_json({
        "schemaVersion": 2, "mediaType": mm_images.DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config_digest,
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer_digest,
                    "size": len(layer)}]})
    digest = c.push_manifest(repo, manifest, mm_images.DOCKER_MANIFEST, "v1")
    return {"digest": digest, "layer": layer_digest, "size": len(layer)}


def test_big_layer_streams_in_chunks_across_registries(registry, registry2, repo_name):
    src = big_image(registry2, f"{repo_name}-src", 20 * 1024 * 1024 + 12345, repo_name)
    before = len(registry.request_log())
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1", "--json",
                stdin=json.dumps([{"image": f"{registry2.host}/{repo_name}-src:v1", "digest": src["digest"]}]))
    assert r.code == 0, r.err
    log = registry.request_log()[before:]
    patches = [p for m, p, s in log if m == "PATCH" and s == 202]
    assert len(patches) == 3, patches  # 8 + 8 + 4.0 MiB: never the whole layer in one request
    puts = [p for m, p, s in log if m == "PUT" and "/blobs/uploads/" in p and s == 201]
    assert len(puts) == 2  # the layer's closing PUT, and the config's single monolithic PUT
    assert mm_images.blob_exists(registry, repo_name, src["layer"])
    assert [m["digest"] for m in r.json()["manifests"]] == [src["digest"]]


def test_corrupted_source_blob_is_caught_and_nothing_is_tagged(registry, registry2, repo_name):
    src = big_image(registry2, f"{repo_name}-src", 3 * 1024 * 1024, repo_name + "x")
    hexd = src["layer"].split(":")[1]
    data = Path(registry2.storage).rglob(f"blobs/sha256/{hexd[:2]}/{hexd}/data")
    path = next(data)
    raw = bytearray(path.read_bytes())
    raw[1000] ^= 0xFF  # the source registry now serves bytes that do not hash to the digest
    path.write_bytes(bytes(raw))
    r = run_cli("push", "from-matrix", "-", "--target", f"{registry.host}/{repo_name}:v1",
                stdin=json.dumps([{"image": f"{registry2.host}/{repo_name}-src:v1", "platform": "linux/amd64"}]))
    assert r.code == 1, r.err
    errors = [line for line in r.err_lines if "error:" in line]
    assert len(errors) == 1 and errors == r.err_lines[-1:], r.err
    assert "does not hash" in errors[0] and src["layer"] in errors[0] and f"{registry2.host}/" in errors[0]
    assert not mm_images.blob_exists(registry, repo_name, src["layer"])
    assert mm_images.list_tags(registry, repo_name) == []
