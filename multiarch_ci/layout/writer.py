"""Write into an OCI image layout directory like pushing to a repository: blobs, manifests, tags, referrers.

Created if absent, added to if present. Every write goes through handles on the layout's folders opened
once (handles.py): a symlink swapped in during the run cannot lead a byte outside the layout. A blob lands
under its name only after its content hashed right (temp file beside it, fsync, rename); a blob already
there is used only if it hashes to its name, else (empty, altered, a symlink) it is written again the same
way. index.json is replaced whole (temp + rename) under a lock on the layout, a tag as
`org.opencontainers.image.ref.name`, a referrer as an untagged entry (layout/referrers.py says why).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterable

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import CompositionError, DigestMismatch, InputError
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.model import Descriptor, MediaType, parse_manifest
from multiarch_ci.core.reference import check_tag
from multiarch_ci.layout import index as ix
from multiarch_ci.layout.handles import FdFiles, LayoutDir
from multiarch_ci.layout.reader import OciLayout


class WritableLayout(OciLayout):
    """A layout directory that publish can push into (put_blob, put_manifest) and read back.

    `where` names it in messages when it stands for something else (a `.tar` target staged in a folder,
    whose `handle` archive.py opened)."""

    def __init__(self, path: str, where: str | None = None, handle: LayoutDir | None = None):
        shown = where or path
        if handle is None:
            if os.path.exists(path) and not os.path.isdir(path):
                raise InputError(f"target layout {shown!r} exists and is not a directory",
                                 "a layout target is a directory, or an OCI archive named .tar")
            os.makedirs(path, exist_ok=True)
        self.dir = handle or LayoutDir(path, shown)
        with self.dir.locked():
            if not self.dir.exists("oci-layout"):
                if self.dir.names(""):
                    raise InputError(f"target layout {shown!r} is a non-empty directory without an oci-layout file",
                                     "give an empty or new directory, or an existing OCI layout")
                self.dir.write("oci-layout", [ix.LAYOUT_FILE])
                self.dir.write("index.json", [ix.EMPTY_INDEX])
        self.dir.folder("blobs", create=True)   # the spec: blobs/ MUST exist, even empty
        self.changed = False                    # index.json written by this run (archive.py packs only then)
        self._verified: set[Digest] = set()     # blobs hashed right in this run
        self._lock = threading.Lock()
        super().__init__(shown, FdFiles(self.dir))

    def entries(self) -> list[dict]:
        """Read afresh each time: another writer may have added to the target meanwhile."""
        return self.read_entries()

    # -- blobs ------------------------------------------------------------------------------
    def blob_exists(self, ref: LayoutRef, digest: Digest) -> bool:
        """Present AND hashing to its name: a blob file left empty or altered counts as absent, so the
        copy writes it again (once verified, not hashed again in this run)."""
        with self._lock:
            if digest in self._verified:
                return True
        if not self.dir.hashes_to(ix.blob_path(digest), digest.algorithm, digest.hex):
            return False
        with self._lock:
            self._verified.add(digest)
        return True

    def put_blob(self, ref: LayoutRef, digest: Digest, chunks: Iterable[bytes]) -> None:
        """Store a blob from chunks; refused (and nothing left behind) if it does not hash to `digest`.
        A file already under that name that does not hash to it is replaced (atomically), never kept."""
        if self.blob_exists(ref, digest):
            for _ in chunks:  # a stream handed to several targets must still be drained
                pass
            return
        hasher = digest.hasher()

        def hashed() -> Iterable[bytes]:
            for chunk in chunks:
                hasher.update(chunk)
                yield chunk

        def check() -> None:
            if hasher.hexdigest() != digest.hex:
                raise DigestMismatch(f"write blob {ref.with_digest(digest)}: content does not hash to its digest",
                                     "the source altered it; nothing was written", ref=str(ref.with_digest(digest)))
        self.dir.write(ix.blob_path(digest), hashed(), check)
        with self._lock:
            self._verified.add(digest)

    # -- manifests, tags, referrers ------------------------------------------------------------
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
        with self.dir.locked():
            self.dir.write("index.json", [ix.with_tag(self.entries(), desc, tag)])
            self.changed = True

    def list_entries(self, listed: list[dict]) -> int:
        """Add untagged index.json entries for `listed` descriptors not yet there; how many were added."""
        with self.dir.locked():
            entries = self.entries()
            body = ix.with_listed(entries, listed)
            if body is None:
                return 0
            self.dir.write("index.json", [body])
            self.changed = True
            return len(ix.parse_index(body, self.path)) - len(entries)
