"""One OCI layout as a store (flow/store.py): read like a repository, written like one when it is the target.

Each layout path is opened once per run (frontends/stores.py keeps one LayoutStore per path) and shared by
every chain. A layout source is read like a repository (manifests by digest, configs, blobs streamed and
verified); a layout target is written like one (`start_upload` opens nothing, `upload_blob` stores the
verified stream, `put_manifest` stores bytes and tags them in index.json). Before any request,
`check_target` / `check_source` open the layout and resolve each layout source: a missing layout, tag or
digest is bad input (exit 2) and nothing is sent.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, cast

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import InputError, Kind, MultiarchError, RegistryError
from multiarch_ci.core.fetched import Fetched
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.model import Descriptor, ImageIndex
from multiarch_ci.core.plan import SourceSpec
from multiarch_ci.core.referrers import Referrer
from multiarch_ci.layout.index import blob_path

if TYPE_CHECKING:   # imported when a layout is first opened: a registry-only run never loads tarfile
    from multiarch_ci.layout.archive import ArchiveTarget
    from multiarch_ci.layout.reader import OciLayout
    from multiarch_ci.layout.referrers import LayoutReferrers
    from multiarch_ci.layout.writer import WritableLayout

_NOT_YET = "MANIFEST_UNKNOWN"


class LayoutStore:
    """One layout (a directory or a tar); opened on first use, created on the first write as a target."""

    takes_referrers = True   # listed in its index.json (layout/referrers.py says why entries, not a tag)

    def __init__(self, path: str):
        self.path = path
        self.where = LayoutRef(path).name
        self._layout: OciLayout | None = None
        self._target = False   # this run writes it: absent is empty, not an error
        self._archive: ArchiveTarget | None = None        # a .tar target, staged until close()
        self._referrers: tuple[OciLayout, LayoutReferrers] | None = None
        self._lock = threading.Lock()

    def index_format(self, fmt: str) -> str:
        """A layout target holds an OCI index (skopeo finds nothing else by tag): --format auto means oci."""
        return "oci" if fmt == "auto" else fmt

    # -- before any request ------------------------------------------------------------------
    def check_source(self, spec: SourceSpec) -> None:
        """Open the layout and resolve the source in it (every blob there at its size), or raise InputError."""
        where = f"{spec.origin}: " if spec.origin else ""
        # known by construction: frontends/stores.py hands a layout store its own layout's sources only (and
        # no module but that one asks whether a ref is a layout: tests/unit/test_boundaries.py)
        ref = cast(LayoutRef, spec.ref)
        try:
            layout = self.layout()
            desc = layout.resolve(ref)
            if spec.digest and desc.digest != spec.digest:
                raise InputError(f"{spec.ref} holds {desc.digest}, not the expected {spec.digest}",
                                 "the layout was rebuilt after the digest was recorded: hand over the matching "
                                 "layout or drop the digest")
            _check_complete(layout, ref.with_digest(desc.digest))
        except InputError as e:
            raise InputError(f"{where}{e.message}", e.hint) from None

    def check_target(self, ref: LayoutRef) -> None:
        """A target must be absent, empty or a layout already; marks this layout as written by the run."""
        from multiarch_ci.layout.archive import is_archive, refuse_compressed
        path = ref.path
        refuse_compressed(path)
        if is_archive(path):
            if os.path.exists(path) and not os.path.isfile(path):
                raise InputError(f"target layout {path!r} exists and is not a file",
                                 "a .tar target is an OCI archive; give another name")
        elif os.path.exists(path) and not os.path.isdir(path):
            raise InputError(f"target layout {path!r} exists and is not a directory",
                             "a layout target is a directory, or an OCI archive named .tar")
        elif os.path.isdir(path) and os.listdir(path) and not os.path.exists(os.path.join(path, "oci-layout")):
            raise InputError(f"target layout {path!r} is a non-empty directory without an oci-layout file",
                             "give an empty or new directory, or an existing OCI layout")
        for rel in ("blobs", "blobs/sha256"):   # checked again, unswappably, by every write (handles.py)
            if os.path.isdir(path) and os.path.islink(os.path.join(path, rel)):
                raise InputError(f"target layout {path!r}: refusing {rel}: a symlink",
                                 "a layout target holds only its own folders and files; remove the link")
        with self._lock:
            self._target = True
        if _is_layout(path):
            self.layout().list_tags()   # an existing layout must read as one before anything is written

    # -- the layout, opened once -------------------------------------------------------------
    def layout(self) -> OciLayout:
        from multiarch_ci.layout.reader import OciLayout
        with self._lock:
            if self._layout is None:
                self._layout = OciLayout(self.path)
            return self._layout

    def writable(self) -> WritableLayout:
        """The target layout, created on the first write (a dry run or a failed source creates nothing);
        a `.tar` target is staged in a folder beside it and packed by close() (layout/archive.py)."""
        from multiarch_ci.layout.archive import ArchiveTarget, is_archive
        from multiarch_ci.layout.writer import WritableLayout
        with self._lock:
            if not isinstance(self._layout, WritableLayout):
                if self._archive is not None or is_archive(self.path):
                    self._archive = self._archive or ArchiveTarget(self.path)
                    self._layout = self._archive.layout
                else:
                    self._layout = WritableLayout(self.path)
            return self._layout

    def close(self) -> None:
        """The run is over: a `.tar` target it wrote a tag into is packed and renamed over the archive."""
        with self._lock:
            archive, self._archive = self._archive, None
        if archive is None:
            return
        try:
            archive.finish()
        except OSError as e:
            raise MultiarchError(f"target layout {archive.path!r}: cannot write the archive ({e.strerror or e})",
                                 "check the folder is writable and has room") from None

    def _readable(self) -> OciLayout | None:
        """The layout to read: None while a target does not exist yet."""
        if self._target and self._layout is None and not _is_layout(self.path):
            return None
        return self.layout()

    # -- reads -------------------------------------------------------------------------------
    def get_manifest(self, ref: LayoutRef, expect: Digest | None = None, cap: int | None = None) -> Fetched:
        """A manifest; `cap` bounds a registry's answer (a layout's reader has its own caps)."""
        if self._target:   # the target's tag may not exist yet: a 404, as a registry says
            layout = self._readable()
            if layout is None or (ref.tag and ref.tag not in layout.list_tags()):
                raise RegistryError(f"get manifest {ref}: not in the layout", status=404, code=_NOT_YET,
                                    ref=str(ref), kind=Kind.NOT_FOUND)
        return self.layout().get_manifest(ref, expect)

    def head_manifest(self, ref: LayoutRef) -> Descriptor | None:
        layout = self._readable()
        return layout.head_manifest(ref) if layout else None

    def list_tags(self, ref: LayoutRef, page_size: int | None = None) -> list[str]:
        layout = self._readable()
        return layout.list_tags() if layout else []

    def get_blob(self, ref: LayoutRef, desc: Descriptor) -> bytes:
        return self.layout().get_blob(ref, desc)

    def stream_blob(self, ref: LayoutRef, digest: Digest, size: int | None = None) -> Iterator[bytes]:
        return self.layout().stream_blob(ref, digest)

    def blob_exists(self, ref: LayoutRef, digest: Digest) -> bool:
        if self._target:   # a target's blob counts only if it hashes to its name (writer.py)
            return self._readable() is not None and self.writable().blob_exists(ref, digest)
        return self.layout().blob_exists(ref, digest)

    # -- writes (a layout target) ------------------------------------------------------------
    def mount_blob(self, target: LayoutRef, digest: Digest, source) -> str | None:
        raise TypeError("a layout is never mounted from or into: blobs are copied")

    def start_upload(self, target: LayoutRef) -> str:
        return ""   # a layout needs no upload session: upload_blob writes the file

    def upload_blob(self, target: LayoutRef, location: str, digest: Digest, chunks: Iterable[bytes],
                    source: str = "the source") -> None:
        self.writable().put_blob(target, digest, chunks)

    def put_manifest(self, ref: LayoutRef, reference: str, body: bytes, media_type: str) -> Digest:
        return self.writable().put_manifest(ref, reference, body, media_type)

    def put_index(self, target: LayoutRef, index: ImageIndex, fmt: str, log: Callable[[str], None]) -> ImageIndex:
        """Rule 1: serialise once, store those bytes under the digest of those same bytes."""
        body = index.to_bytes()
        self.put_manifest(target, str(Digest.of(body)), body, index.media_type)
        return index

    # -- referrers ---------------------------------------------------------------------------
    def referrers_api(self, ref: LayoutRef, subject: Digest) -> list[Referrer] | None:
        """A layout's listing is its index.json (layout/referrers.py), read once for all the children asking."""
        from multiarch_ci.layout.referrers import LayoutReferrers
        layout = self.layout()
        with self._lock:
            if self._referrers is None or self._referrers[0] is not layout:
                self._referrers = (layout, LayoutReferrers(layout, ref))
            known = self._referrers[1]
        return known.of(subject)

    def few_tags(self, ref: LayoutRef) -> frozenset[str] | None:
        return None   # the listing above reads the layout's tags itself

    def list_referrers(self, ref: LayoutRef, subject: Digest, *, api: bool, tags: frozenset[str] | None,
                       listed: list[Referrer] | None) -> tuple[Referrer, ...]:
        return tuple(listed if listed is not None else self.referrers_api(ref, subject) or ())

    def update_referrers_tag(self, target: LayoutRef, subject: Digest, copied: list[Referrer]) -> Digest | None:
        """List referrers copied into a layout target in its index.json, as a registry target's `sha256-<hex>`
        index lists them (layout/referrers.py says why entries, not that tag)."""
        from multiarch_ci.layout.referrers import write_listed
        write_listed(self.writable(), target, subject, copied)
        return None


def _check_complete(layout: OciLayout, ref: LayoutRef) -> None:
    """Every manifest and blob the image (or each image of the index) names is in the layout at its size:
    an incomplete layout is bad input found before the first request, not half way through the copy.
    Contents are hashed when they are read (resolve, copy), where a mismatch stops the run untagged."""
    top = layout.get_manifest(ref)
    children = getattr(top.manifest, "manifests", None)
    fetched = [top] if children is None else [layout.get_manifest(ref.with_digest(d.digest)) for d in children]
    for f in fetched:
        for blob in getattr(f.manifest, "blobs", ()):
            path = blob_path(blob.digest)
            there = layout.files.exists(path)
            if not there or layout.files.size(path) != blob.size:
                raise InputError(f"{f.ref}: blob {blob.digest} is {'the wrong size' if there else 'missing'} in "
                                 "the layout", "the layout is incomplete; rebuild or re-copy it (skopeo copy --all)")


def _is_layout(path: str) -> bool:
    """Something is there to read as a layout: a folder holding oci-layout, or an archive file."""
    return os.path.isfile(path) or os.path.exists(os.path.join(path, "oci-layout"))
