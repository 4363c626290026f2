"""OCI layouts made by the real tools: skopeo copies from and to the loopback registry, buildah builds."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

REF_NAME = "org.opencontainers.image.ref.name"


def skopeo(*args: str) -> subprocess.CompletedProcess:
    r = subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r


def to_layout(registry, repo: str, tag: str, out: Path, layout_tag: str | None = None) -> None:
    """`skopeo copy --all docker://REG/REPO:TAG oci:OUT:LAYOUT_TAG` (digests kept)."""
    skopeo("copy", "--all", "--preserve-digests", "--src-tls-verify=false",
           f"docker://{registry.host}/{repo}:{tag}", f"oci:{out}:{layout_tag or tag}")


def to_registry(out: Path, tag: str, registry, repo: str, dest_tag: str) -> None:
    """`skopeo copy --all oci:OUT:TAG docker://REG/REPO:DEST_TAG` (digests kept)."""
    skopeo("copy", "--all", "--preserve-digests", "--dest-tls-verify=false",
           f"oci:{out}:{tag}", f"docker://{registry.host}/{repo}:{dest_tag}")


def raw_manifest(out: Path, tag: str) -> bytes:
    """What skopeo reads under a layout tag, exactly."""
    return subprocess.run(["skopeo", "--insecure-policy", "inspect", "--raw", f"oci:{out}:{tag}"],
                          capture_output=True, check=True, timeout=60).stdout


def layout_tags(out: Path) -> dict[str, str]:
    """tag -> digest, from index.json as written."""
    doc = json.loads((out / "index.json").read_text())
    return {e["annotations"][REF_NAME]: e["digest"] for e in doc["manifests"]
            if REF_NAME in (e.get("annotations") or {})}


class Buildah:
    """buildah on vfs with a private root: builds tiny images from scratch and pushes them into layouts."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.base = ["buildah", "--storage-driver", "vfs", "--root", str(tmp / "root"), "--runroot", str(tmp / "run")]

    def __call__(self, *args: str) -> str:
        r = subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "BUILDAH_ISOLATION": "chroot", "STORAGE_DRIVER": "vfs"})
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def image_layout(self, arch: str, out: Path, tag: str, variant: str | None = None) -> None:
        """Build a one-file image for linux/ARCH[/VARIANT] and `buildah push` it to oci:OUT:TAG."""
        content = self.tmp / f"hello-{arch}.txt"
        content.write_text(f"hello from buildah on {arch}\n")
        ctr = self("from", "--arch", arch, "scratch")
        self("copy", ctr, str(content), "/hello.txt")
        self("config", "--arch", arch, "--os", "linux", *(["--variant", variant] if variant else []), ctr)
        name = f"mm-test-{arch}"
        self("commit", "--format", "oci", ctr, name)
        self("push", name, f"oci:{out}:{tag}")
