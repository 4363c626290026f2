"""Push small sample per-arch images (one per platform, each in its own repository) for the Quick start.

Uses multiarch_ci's own registry client to upload blobs and manifests, the same code the tool runs.
Usage: seed_demo.py [--insecure] REGISTRY_HOST [PLATFORM ...]
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import sys
import tarfile

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.model import MediaType
from multiarch_ci.core.platform import Platform
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.registry.connect import connect

DEFAULT = ["linux/amd64", "linux/arm64/v8", "linux/ppc64le", "linux/s390x"]


def layer_for(platform: Platform) -> tuple[bytes, bytes]:
    """(gzip layer, uncompressed tar) holding /etc/platform; deterministic."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        data = f"{platform}\n".encode()
        info = tarfile.TarInfo("etc/platform")
        info.size, info.mtime = len(data), 0
        tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0), raw.getvalue()


def push_sample(client, ref: ImageRef, platform: Platform) -> Digest:
    layer, tar = layer_for(platform)
    config = json.dumps({**platform.to_dict(), "config": {"Cmd": ["cat", "/etc/platform"]},
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]}},
                        sort_keys=True).encode()
    blobs = []
    for body, media_type in ((config, "application/vnd.docker.container.image.v1+json"),
                             (layer, "application/vnd.docker.image.rootfs.diff.tar.gzip")):
        digest = Digest.of(body)
        if not client.blob_exists(ref, digest):
            client.upload_blob(ref, client.start_upload(ref), digest, iter([body]))
        blobs.append({"mediaType": media_type, "digest": str(digest), "size": len(body)})
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MediaType.DOCKER_MANIFEST, "config": blobs[0],
                           "layers": blobs[1:]}, indent=3).encode()
    return client.put_manifest(ref, ref.tag, manifest, MediaType.DOCKER_MANIFEST)


def slug(p: Platform) -> str:
    """The repository suffix of a platform: ARCHVARIANT for linux (what the Quick start's template
    app-ARCHVARIANT names), OS[-OSVERSION]-ARCHVARIANT otherwise, so windows/amd64 never takes
    linux/amd64's repository."""
    head = "" if p.os == "linux" and not p.os_version else f"{p.os}-" + (f"{p.os_version}-" if p.os_version else "")
    return head + p.architecture + (p.variant or "")


def main(argv: list[str]) -> int:
    insecure = "--insecure" in argv  # a plain-HTTP registry that is not on loopback (a CI service)
    argv = [a for a in argv if a != "--insecure"]
    host, platforms = argv[0], [Platform.parse(p) for p in (argv[1:] or DEFAULT)]
    slugs = [slug(p) for p in platforms]
    if len(set(slugs)) != len(slugs):
        print(f"seed_demo: a platform is given twice: {', '.join(map(str, platforms))}", file=sys.stderr)
        return 2
    client = connect(insecure_registries=[host] if insecure else [])
    for p, name in zip(platforms, slugs):
        ref = ImageRef.parse(f"{host}/demo/app-{name}:v1")
        print(f"seeded {ref}  {p}  {push_sample(client, ref, p)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
