#!/usr/bin/env python3
"""Push synthetic per-arch images to a loopback registry for the benchmark (self-contained).

Independent of `multiarch_ci` and of the test suite: a few dozen lines of registry API v2 over
`requests`, so the images the tools compose were not made by the tool under test.

Per platform: one small gzip layer (a tar holding /platform.txt), a config whose JSON carries the
platform (architecture, os, variant, os.version), and an image manifest (Docker v2 schema 2 or OCI).
Layouts:
  same   one repository, a tag per platform:  NS/app:v1-<slug>
  cross  a repository per platform:           NS/app-<slug>:v1
With `attest` the tag holds a buildx-style per-arch OCI index instead: the image manifest plus an
attestation manifest (platform unknown/unknown, vnd.docker.reference.type=attestation-manifest,
vnd.docker.reference.digest=<image digest>, one in-toto layer).
Content is deterministic: the same arguments give the same digests; `salt` changes them.

Also `seed_big`: one image whose single layer is SIZE bytes of deterministic pseudo-random data,
generated and uploaded in chunks (PATCH ... PUT ?digest=), never held whole in memory.

CLI:  seed.py --registry 127.0.0.1:PORT -n 8 [--layout same|cross] [--format docker|oci] [--attest]
      seed.py --registry 127.0.0.1:PORT --big-mb 200
prints JSON (refs and digests).
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import ipaddress
import json
import random
import sys
import tarfile
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import requests

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))
FORMATS = {
    "docker": {"manifest": DOCKER_MANIFEST, "config": "application/vnd.docker.container.image.v1+json",
               "layer": "application/vnd.docker.image.rootfs.diff.tar.gzip"},
    "oci": {"manifest": OCI_MANIFEST, "config": "application/vnd.oci.image.config.v1+json",
            "layer": "application/vnd.oci.image.layer.v1.tar+gzip"},
}
INTOTO = "application/vnd.in-toto+json"
SLSA = "https://slsa.dev/provenance/v0.2"

# Real platforms first (what multi-arch images on public registries carry), then synthetic Windows
# os.version variants (10.0.17763.N) until there are as many distinct platforms as asked for.
REAL_PLATFORMS = [
    ("linux", "amd64", None, None),
    ("linux", "arm64", "v8", None),
    ("linux", "arm", "v7", None),
    ("linux", "ppc64le", None, None),
    ("linux", "s390x", None, None),
    ("linux", "386", None, None),
    ("linux", "arm", "v6", None),
    ("linux", "riscv64", None, None),
    ("linux", "mips64le", None, None),
    ("linux", "arm", "v5", None),
    ("linux", "mips64", None, None),
    ("linux", "loong64", None, None),
    ("windows", "amd64", None, "10.0.14393.7259"),   # ltsc2016
    ("windows", "amd64", None, "10.0.17763.6054"),   # ltsc2019
    ("windows", "amd64", None, "10.0.20348.2582"),   # ltsc2022
    ("windows", "amd64", None, "10.0.26100.1742"),   # ltsc2025
    ("windows", "arm64", None, "10.0.26100.1742"),
]


def platforms(n: int) -> list[dict]:
    """n distinct platforms as OCI platform objects."""
    out = []
    for os_, arch, variant, osv in REAL_PLATFORMS[:n]:
        p = {"architecture": arch, "os": os_}
        if variant:
            p["variant"] = variant
        if osv:
            p["os.version"] = osv
        out.append(p)
    build = 1
    taken = {p.get("os.version") for p in out}
    while len(out) < n:
        osv = f"10.0.17763.{build}"
        build += 1
        if osv not in taken:
            out.append({"architecture": "amd64", "os": "windows", "os.version": osv})
    return out


def platform_str(p: dict) -> str:
    s = "/".join(x for x in (p["os"], p["architecture"], p.get("variant")) if x)
    return s + (f"@{p['os.version']}" if p.get("os.version") else "")


def slug(p: dict) -> str:
    """A tag/repository-safe name: arm64v8, windows-amd64-17763-6054."""
    s = p["architecture"] + (p.get("variant") or "")
    if p["os"] != "linux":
        s = f"{p['os']}-{s}"
    if p.get("os.version"):
        s += "-" + "-".join(p["os.version"].split(".")[2:])
    return s.lower()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canon(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _layer(text: str) -> tuple[bytes, str]:
    payload = (text + "\n").encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        info = tarfile.TarInfo("platform.txt")
        info.size, info.mtime, info.mode = len(payload), 0, 0o644
        tf.addfile(info, io.BytesIO(payload))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0), sha256(raw)


class Pusher:
    """Registry API v2 over plain HTTP on loopback, no auth; one requests session per thread."""

    def __init__(self, registry: str):
        host = registry.rsplit(":", 1)[0].strip("[]")
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise SystemExit(f"seed: refusing non-loopback registry {registry}")
        self.base = f"http://{registry}"
        self._local = threading.local()

    @property
    def s(self) -> requests.Session:
        if not hasattr(self._local, "s"):
            s = requests.Session()
            s.trust_env = False
            self._local.s = s
        return self._local.s

    def _check(self, r: requests.Response, want: tuple[int, ...], what: str) -> requests.Response:
        if r.status_code not in want:
            raise RuntimeError(f"seed: {what}: HTTP {r.status_code} {r.text[:300]}")
        return r

    def push_blob(self, repo: str, data: bytes) -> str:
        digest = sha256(data)
        if self.s.head(f"{self.base}/v2/{repo}/blobs/{digest}").status_code == 200:
            return digest
        r = self._check(self.s.post(f"{self.base}/v2/{repo}/blobs/uploads/"), (202,), f"start upload {repo}")
        loc = urllib.parse.urljoin(self.base + "/", r.headers["Location"])
        loc += ("&" if "?" in loc else "?") + "digest=" + urllib.parse.quote(digest)
        self._check(self.s.put(loc, data=data, headers={"Content-Type": "application/octet-stream"}), (201,),
                    f"put blob {repo}@{digest}")
        return digest

    def push_blob_chunks(self, repo: str, chunks) -> tuple[str, int]:
        """Upload a blob from an iterator of chunks (PATCH each, then PUT ?digest=); returns (digest, size)."""
        r = self._check(self.s.post(f"{self.base}/v2/{repo}/blobs/uploads/"), (202,), f"start upload {repo}")
        loc = urllib.parse.urljoin(self.base + "/", r.headers["Location"])
        h, offset = hashlib.sha256(), 0
        for chunk in chunks:
            h.update(chunk)
            r = self._check(self.s.patch(loc, data=chunk, headers={
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{offset}-{offset + len(chunk) - 1}"}), (202,), f"patch upload {repo}")
            offset += len(chunk)
            loc = urllib.parse.urljoin(self.base + "/", r.headers["Location"])
        digest = "sha256:" + h.hexdigest()
        loc += ("&" if "?" in loc else "?") + "digest=" + urllib.parse.quote(digest)
        self._check(self.s.put(loc, headers={"Content-Type": "application/octet-stream"}), (201,),
                    f"finish upload {repo}@{digest}")
        return digest, offset

    def put_manifest(self, repo: str, ref: str, body: bytes, media_type: str) -> str:
        r = self._check(self.s.put(f"{self.base}/v2/{repo}/manifests/{ref}", data=body,
                                   headers={"Content-Type": media_type}), (201,), f"put manifest {repo}:{ref}")
        digest = sha256(body)
        if r.headers.get("Docker-Content-Digest", digest) != digest:
            raise RuntimeError(f"seed: registry digest {r.headers['Docker-Content-Digest']} != {digest}")
        return digest

    def get_manifest(self, repo: str, ref: str) -> tuple[int, bytes, str]:
        r = self.s.get(f"{self.base}/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT})
        return r.status_code, r.content, r.headers.get("Content-Type", "")

    def manifest_exists(self, repo: str, ref: str) -> bool:
        return self.s.head(f"{self.base}/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT}).status_code == 200


def _image(pusher: Pusher, repo: str, fmt: str, platform: dict, salt: str) -> tuple[bytes, str]:
    types = FORMATS[fmt]
    layer, diff_id = _layer(f"{platform_str(platform)} {fmt} {repo} salt={salt}")
    config = canon({**platform, "created": "1970-01-01T00:00:00Z",
                    "config": {"Env": ["PATH=/usr/bin:/bin"], "Labels": {"bench.platform": slug(platform)}},
                    "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                    "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "bench seed"}]})
    manifest = {"schemaVersion": 2, "mediaType": types["manifest"],
                "config": {"mediaType": types["config"], "digest": pusher.push_blob(repo, config),
                           "size": len(config)},
                "layers": [{"mediaType": types["layer"], "digest": pusher.push_blob(repo, layer),
                            "size": len(layer)}]}
    return canon(manifest), types["manifest"]


def _attestation(pusher: Pusher, repo: str, image_digest: str, platform: dict, salt: str) -> bytes:
    statement = canon({"_type": "https://in-toto.io/Statement/v0.1", "predicateType": SLSA,
                       "subject": [{"name": f"pkg:docker/{repo}?platform={urllib.parse.quote(platform_str(platform))}",
                                    "digest": {"sha256": image_digest.split(":", 1)[1]}}],
                       "predicate": {"builder": {"id": "bench-seed"}, "metadata": {"salt": salt}}})
    stmt_digest = pusher.push_blob(repo, statement)
    config = canon({"architecture": "unknown", "os": "unknown", "config": {},
                    "rootfs": {"type": "layers", "diff_ids": [stmt_digest]}})
    return canon({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                  "config": {"mediaType": FORMATS["oci"]["config"], "digest": pusher.push_blob(repo, config),
                             "size": len(config)},
                  "layers": [{"mediaType": INTOTO, "digest": stmt_digest, "size": len(statement),
                              "annotations": {"in-toto.io/predicate-type": SLSA}}]})


def seed_one(pusher: Pusher, host: str, repo: str, tag: str, fmt: str, platform: dict, attest: bool,
             salt: str = "") -> dict:
    """Push one per-arch image (or a buildx-style per-arch index with an attestation) under repo:tag."""
    body, mt = _image(pusher, repo, fmt, platform, salt)
    item = {"ref": f"{host}/{repo}:{tag}", "repository": repo, "tag": tag, "platform": platform,
            "slug": slug(platform), "format": fmt, "manifest_media_type": mt}
    if not attest:
        item["manifest_digest"] = item["tag_digest"] = pusher.put_manifest(repo, tag, body, mt)
        return item
    mdig = pusher.put_manifest(repo, sha256(body), body, mt)
    att = _attestation(pusher, repo, mdig, platform, salt)
    adig = pusher.put_manifest(repo, sha256(att), att, OCI_MANIFEST)
    index = canon({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": mt, "digest": mdig, "size": len(body), "platform": platform},
        {"mediaType": OCI_MANIFEST, "digest": adig, "size": len(att),
         "annotations": {"vnd.docker.reference.digest": mdig, "vnd.docker.reference.type": "attestation-manifest"},
         "platform": {"architecture": "unknown", "os": "unknown"}}]})
    item.update(manifest_digest=mdig, attestation_digest=adig,
                tag_digest=pusher.put_manifest(repo, tag, index, OCI_INDEX))
    return item


def seed_set(pusher: Pusher, host: str, namespace: str, layout: str, fmt: str, attest: bool, n: int,
             salt: str = "", workers: int = 8) -> list[dict]:
    """n images with distinct platforms; `host` is the address the refs should name (e.g. a proxy)."""
    def one(p: dict) -> dict:
        s = slug(p)
        repo, tag = (f"{namespace}/app", f"v1-{s}") if layout == "same" else (f"{namespace}/app-{s}", "v1")
        return seed_one(pusher, host, repo, tag, fmt, p, attest, salt or namespace)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, platforms(n)))


def random_chunks(size: int, seed: int = 0, chunk: int = 4 * 1024 * 1024):
    """`size` deterministic pseudo-random bytes in chunks (Mersenne Twister seeded with `seed`)."""
    rng = random.Random(seed)
    left = size
    while left:
        n = min(chunk, left)
        yield rng.randbytes(n)
        left -= n


def seed_big(pusher: Pusher, host: str, repo: str, tag: str, size: int, seed: int = 200) -> dict:
    """One linux/amd64 Docker image whose only layer is `size` pseudo-random bytes, streamed up in chunks."""
    layer_digest, layer_size = pusher.push_blob_chunks(repo, random_chunks(size, seed))
    platform = {"architecture": "amd64", "os": "linux"}
    config = canon({**platform, "config": {}, "rootfs": {"type": "layers", "diff_ids": [layer_digest]}})
    manifest = canon({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                      "config": {"mediaType": FORMATS["docker"]["config"], "digest": pusher.push_blob(repo, config),
                                 "size": len(config)},
                      "layers": [{"mediaType": FORMATS["docker"]["layer"], "digest": layer_digest,
                                  "size": layer_size}]})
    return {"ref": f"{host}/{repo}:{tag}", "repository": repo, "tag": tag, "platform": platform,
            "manifest_digest": pusher.put_manifest(repo, tag, manifest, DOCKER_MANIFEST),
            "layer_digest": layer_digest, "layer_size": layer_size, "config_digest": sha256(config)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--registry", required=True, help="HOST:PORT (loopback, plain HTTP, no auth)")
    ap.add_argument("--namespace", default="bench")
    ap.add_argument("-n", type=int, default=2)
    ap.add_argument("--layout", choices=["same", "cross"], default="cross")
    ap.add_argument("--format", choices=["docker", "oci"], default="docker")
    ap.add_argument("--attest", action="store_true")
    ap.add_argument("--big-mb", type=int, help="push one image with a layer of this many MB instead")
    ap.add_argument("--list-platforms", action="store_true")
    a = ap.parse_args(argv)
    if a.list_platforms:
        for p in platforms(a.n):
            print(slug(p), platform_str(p))
        return 0
    pusher = Pusher(a.registry)
    if a.big_mb:
        out = seed_big(pusher, a.registry, f"{a.namespace}/big", "v1", a.big_mb * 1024 * 1024)
    else:
        out = seed_set(pusher, a.registry, a.namespace, a.layout, a.format, a.attest, a.n)
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
