"""Write into an OCI image layout directory like pushing to a repository: blobs, manifests, a tag.

Created if absent, added to if present. A blob lands under its name only after its content hashed right
(temp file in the same directory, fsync, rename); index.json is replaced whole (temp + rename) under an
flock on the layout directory, the tag as `org.opencontainers.image.ref.name`.
"""
from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterable

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import CompositionError, DigestMismatch, InputError
from multiarch_ci.layout import index as ix
from multiarch_ci.layout.files import DirFiles
from multiarch_ci.layout.reader import OciLayout
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.model import Descriptor, MediaType, parse_manifest
from multiarch_ci.core.reference import check_tag


class WritableLayout(OciLayout):
    """A layout directory that publish can push into (put_blob, put_manifest) and read back."""

    def __init__(self, path: str):
        if os.path.exists(path) and not os.path.isdir(path):
            raise InputError(f"target layout {path!r} exists and is not a directory",
                             "a layout target is written as a directory; tar it afterwards if needed")
        os.makedirs(path, exist_ok=True)
        with _locked(path):
            if not os.path.exists(os.path.join(path, "oci-layout")):
                if os.listdir(path):
                    raise InputError(f"target layout {path!r} is a non-empty directory without an oci-layout file",
                                     "give an empty or new directory, or an existing OCI layout")
                _atomic_write(path, "oci-layout", ix.LAYOUT_FILE)
                _atomic_write(path, "index.json", ix.EMPTY_INDEX)
        super().__init__(path, DirFiles(path))

    def put_blob(self, ref: LayoutRef, digest: Digest, chunks: Iterable[bytes]) -> None:
        """Store a blob from chunks; refused (and nothing left behind) if it does not hash to `digest`."""
        if self.blob_exists(ref, digest):
            for _ in chunks:  # a stream handed to several targets must still be drained
                pass
            return
        folder = os.path.join(self.files.root, "blobs", digest.algorithm)
        os.makedirs(folder, exist_ok=True)
        hasher = digest.hasher()
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    hasher.update(chunk)
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            if hasher.hexdigest() != digest.hex:
                raise DigestMismatch(f"write blob {ref.with_digest(digest)}: content does not hash to its digest",
                                     "the source altered it; nothing was written", ref=str(ref.with_digest(digest)))
            os.chmod(tmp, 0o644)
            os.replace(tmp, os.path.join(folder, digest.hex))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def put_manifest(self, ref: LayoutRef, reference: str, body: bytes, media_type: str) -> Digest:
        """Store exactly `body`; under a tag, index.json names it (replacing that tag's earlier entry)."""
        ours = Digest.of(body)
        if reference.startswith(f"{ours.algorithm}:") and reference != str(ours):
            raise DigestMismatch(f"put manifest {ref}: body hashes to {ours}, not {reference}", ref=str(ref))
        manifest = parse_manifest(body, media_type, str(ref.with_digest(ours)))
        self.put_blob(ref, ours, [body])
        if not reference.startswith(f"{ours.algorithm}:"):
            check_tag(reference)
            if manifest.media_type not in (MediaType.OCI_INDEX, MediaType.OCI_MANIFEST):
                raise CompositionError(f"tag {reference} in {ref.name}: a layout tags only OCI manifests and "
                                       f"indexes, this is {manifest.media_type}",
                                       "skopeo and containers/image find nothing else by tag; use --format oci")
            self.tag(ref, Descriptor(manifest.media_type, ours, len(body)), reference)
        return ours

    def tag(self, ref: LayoutRef, desc: Descriptor, tag: str) -> None:
        with _locked(self.files.root):
            _atomic_write(self.files.root, "index.json", ix.with_tag(self.entries(), desc, tag))


class _locked:
    """flock on the layout directory: two writers never lose each other's index.json entries."""

    def __init__(self, path: str):
        self.path = path

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDONLY)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _atomic_write(root: str, name: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=root)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, os.path.join(root, name))
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
