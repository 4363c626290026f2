"""The client publish talks to: a registry ref goes to the RegistryClient, a layout ref to its layout.

Each layout path is opened once per run and shared by every chain. A layout source is read like a
repository (manifests by digest, configs, blobs streamed and verified); a layout target is written like
one (`start_upload` opens nothing, `upload_blob` stores the verified stream, `put_manifest` stores bytes
and tags them in index.json). Before any request, `check_plan` opens every layout a plan names and
resolves each layout source: a missing layout, tag or digest is bad input (exit 2) and nothing is sent.
Anything else (auth, transport, mounts) is the RegistryClient's.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import InputError, MultiarchError, RegistryError
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.model import Descriptor
from multiarch_ci.core.plan import PushPlan, SourceSpec
from multiarch_ci.layout.index import blob_path
from multiarch_ci.registry.client import CONFIG_CAP, Fetched, RegistryClient

if TYPE_CHECKING:   # imported when a layout is first opened: a registry-only run never loads tarfile
    from multiarch_ci.core.referrers import Referrer
    from multiarch_ci.layout.archive import ArchiveTarget
    from multiarch_ci.layout.reader import OciLayout
    from multiarch_ci.layout.referrers import LayoutReferrers
    from multiarch_ci.layout.writer import WritableLayout

_NOT_YET = "MANIFEST_UNKNOWN"


def for_target(options, target):
    """A layout target holds an OCI index (skopeo finds nothing else by tag): --format auto means oci."""
    if isinstance(target, LayoutRef) and options.fmt == "auto":
        return replace(options, fmt="oci")
    return options


class Stores:
    """A RegistryClient that also reads and writes OCI layouts, chosen by the type of each ref."""

    def __init__(self, client: RegistryClient):
        self.client = client
        self._layouts: dict[str, OciLayout] = {}
        self._targets: set[str] = set()       # layout paths this run writes (absent is empty, not an error)
        self._archives: dict[str, ArchiveTarget] = {}    # .tar targets, staged until close()
        self._referrers: dict[str, tuple[OciLayout, LayoutReferrers]] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str):   # auth, transport, ...: the registry client's
        if name == "client":
            raise AttributeError(name)
        return getattr(self.client, name)

    # -- before any request ------------------------------------------------------------------
    def check_plan(self, plan: PushPlan) -> None:
        """Open every layout the plan names and resolve each layout source, or raise InputError."""
        if isinstance(plan.target, LayoutRef):
            self._check_target(plan.target)
        for spec in plan.sources:
            if isinstance(spec.ref, LayoutRef):
                self._check_source(spec)

    def _check_source(self, spec: SourceSpec) -> None:
        where = f"{spec.origin}: " if spec.origin else ""
        try:
            layout = self.layout(spec.ref)
            desc = layout.resolve(spec.ref)
            if spec.digest and desc.digest != spec.digest:
                raise InputError(f"{spec.ref} holds {desc.digest}, not the expected {spec.digest}",
                                 "the layout was rebuilt after the digest was recorded: hand over the matching "
                                 "layout or drop the digest")
            _check_complete(layout, spec.ref.with_digest(desc.digest))
        except InputError as e:
            raise InputError(f"{where}{e.message}", e.hint) from None

    def _check_target(self, ref: LayoutRef) -> None:
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
            self._targets.add(_key(path))
        if _is_layout(path):
            self.layout(ref).list_tags()   # an existing layout must read as one before anything is written

    # -- layouts, each opened once -----------------------------------------------------------
    def layout(self, ref: LayoutRef) -> OciLayout:
        from multiarch_ci.layout.reader import OciLayout
        with self._lock:
            found = self._layouts.get(_key(ref.path))
            if found is None:
                found = self._layouts[_key(ref.path)] = OciLayout(ref.path)
            return found

    def writable(self, ref: LayoutRef) -> WritableLayout:
        """The target layout, created on the first write (a dry run or a failed source creates nothing);
        a `.tar` target is staged in a folder beside it and packed by close() (layout/archive.py)."""
        from multiarch_ci.layout.archive import ArchiveTarget, is_archive
        from multiarch_ci.layout.writer import WritableLayout
        key = _key(ref.path)
        with self._lock:
            found = self._layouts.get(key)
            if not isinstance(found, WritableLayout):
                if key in self._archives or is_archive(ref.path):
                    archive = self._archives[key] = ArchiveTarget(ref.path)
                    found = archive.layout
                else:
                    found = WritableLayout(ref.path)
                self._layouts[key] = found
            return found

    def close(self) -> None:
        """The run is over: each `.tar` target it wrote a tag into is packed and renamed over the archive."""
        with self._lock:
            archives, self._archives = list(self._archives.values()), {}
        failed = None
        for archive in archives:
            try:
                archive.finish()
            except OSError as e:
                failed = failed or MultiarchError(f"target layout {archive.path!r}: cannot write the archive "
                                                  f"({e.strerror or e})", "check the folder is writable and has room")
        if failed is not None:
            raise failed

    def _target(self, ref: LayoutRef) -> OciLayout | None:
        """A target layout to read: None while it does not exist yet."""
        key = _key(ref.path)
        if key in self._targets and key not in self._layouts and not _is_layout(ref.path):
            return None
        return self.layout(ref)

    # -- reads -------------------------------------------------------------------------------
    def get_manifest(self, ref, expect: Digest | None = None) -> Fetched:
        if not isinstance(ref, LayoutRef):
            return self.client.get_manifest(ref, expect)
        if _key(ref.path) in self._targets:   # the target's tag may not exist yet: a 404, as a registry says
            layout = self._target(ref)
            if layout is None or (ref.tag and ref.tag not in layout.list_tags()):
                raise RegistryError(f"get manifest {ref}: not in the layout", status=404, code=_NOT_YET,
                                    ref=str(ref))
        return self.layout(ref).get_manifest(ref, expect)

    def layout_referrers(self, ref: LayoutRef, subject: Digest) -> list:
        """What refers to `subject` inside a layout source (layout/referrers.py): its listing is read once
        for all the children asking."""
        from multiarch_ci.layout.referrers import LayoutReferrers
        layout = self.layout(ref)
        with self._lock:
            known = self._referrers.get(_key(ref.path))
            if known is None or known[0] is not layout:
                known = self._referrers[_key(ref.path)] = (layout, LayoutReferrers(layout, ref))
        return known[1].of(subject)

    def add_referrers(self, target: LayoutRef, subject: Digest, copied: list[Referrer]) -> int:
        """List referrers copied into a layout target in its index.json, as a registry target's
        `sha256-<hex>` index lists them (layout/referrers.py says why entries, not that tag)."""
        from multiarch_ci.layout.referrers import write_listed
        return write_listed(self.writable(target), target, subject, copied)

    def head_manifest(self, ref) -> Descriptor | None:
        if not isinstance(ref, LayoutRef):
            return self.client.head_manifest(ref)
        layout = self._target(ref)
        return layout.head_manifest(ref) if layout else None

    def list_tags(self, ref, page_size: int | None = None, **kw) -> list[str]:
        if not isinstance(ref, LayoutRef):
            return self.client.list_tags(ref, page_size, **kw)
        layout = self._target(ref)
        return layout.list_tags() if layout else []

    def get_blob(self, ref, desc: Descriptor, cap: int = CONFIG_CAP) -> bytes:
        if not isinstance(ref, LayoutRef):
            return self.client.get_blob(ref, desc, cap)
        return self.layout(ref).get_blob(ref, desc, cap)

    def stream_blob(self, ref, digest: Digest, size: int | None = None) -> Iterator[bytes]:
        if not isinstance(ref, LayoutRef):
            return self.client.stream_blob(ref, digest, size)
        return self.layout(ref).stream_blob(ref, digest)

    def blob_exists(self, ref, digest: Digest) -> bool:
        if not isinstance(ref, LayoutRef):
            return self.client.blob_exists(ref, digest)
        if _key(ref.path) in self._targets:   # a target's blob counts only if it hashes to its name (writer.py)
            return self._target(ref) is not None and self.writable(ref).blob_exists(ref, digest)
        return self.layout(ref).blob_exists(ref, digest)

    # -- writes (a layout target) ------------------------------------------------------------
    def start_upload(self, target) -> str:
        if not isinstance(target, LayoutRef):
            return self.client.start_upload(target)
        return ""   # a layout needs no upload session: upload_blob writes the file

    def upload_blob(self, target, location: str, digest: Digest, chunks: Iterable[bytes],
                    source: str = "the source") -> None:
        if not isinstance(target, LayoutRef):
            return self.client.upload_blob(target, location, digest, chunks, source)
        self.writable(target).put_blob(target, digest, chunks)

    def mount_blob(self, target, digest: Digest, source):
        if isinstance(target, LayoutRef) or isinstance(source, LayoutRef):
            raise TypeError("a layout is never mounted from or into: blobs are copied")
        return self.client.mount_blob(target, digest, source)

    def put_manifest(self, repo, reference: str, body: bytes, media_type: str) -> Digest:
        if not isinstance(repo, LayoutRef):
            return self.client.put_manifest(repo, reference, body, media_type)
        return self.writable(repo).put_manifest(repo, reference, body, media_type)


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


def _key(path: str) -> str:
    return os.path.realpath(path)


def _is_layout(path: str) -> bool:
    """Something is there to read as a layout: a folder holding oci-layout, or an archive file."""
    return os.path.isfile(path) or os.path.exists(os.path.join(path, "oci-layout"))
