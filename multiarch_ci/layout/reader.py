"""Read an OCI image layout like a repository: resolve, manifests and blobs, every byte verified.

Offers the read half of a store (flow/store.py) (get_manifest -> Fetched, head_manifest, get_blob,
stream_blob, blob_exists, list_tags) so the publish flow can take a layout as a source. File I/O only.
"""
from __future__ import annotations

from collections.abc import Iterator

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import CompositionError, DigestMismatch, InputError
from multiarch_ci.core.fetched import Fetched
from multiarch_ci.core.limits import CHUNK, CONFIG_CAP, MANIFEST_CAP
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.model import Descriptor, parse_manifest
from multiarch_ci.layout import index as ix
from multiarch_ci.layout.files import LayoutFiles, chunks, open_files, read_capped

INDEX_CAP = 16 * 1024 * 1024


class OciLayout:
    """One layout (directory or tar). Refs passed in name images inside it; their path is not re-read."""

    def __init__(self, path: str, files: LayoutFiles | None = None):
        self.path = path
        self.files = files or open_files(path)
        self._entries: list[dict] | None = None
        self._indexed: tuple[list[dict], dict[str, dict]] | None = None
        self._check()

    def _check(self) -> None:
        if not self.files.exists("oci-layout") or not self.files.exists("index.json"):
            raise InputError(f"{self.path}: not an OCI image layout (no oci-layout or index.json)",
                             "give a directory or tar written by skopeo, buildah or buildx --output type=oci")
        ix.check_layout_file(read_capped(self.files.open("oci-layout"), 4096), self.path)

    # -- index.json -------------------------------------------------------------------------
    def entries(self) -> list[dict]:
        """index.json's entries, read and parsed once: a source does not change during the run (a layout
        of 4,000 entries was re-read for each of them; writer.py's target reads afresh)."""
        if self._entries is None:
            self._entries = self.read_entries()
        return self._entries

    def read_entries(self) -> list[dict]:
        body = read_capped(self.files.open("index.json"), INDEX_CAP)
        if len(body) > INDEX_CAP:
            raise InputError(f"{self.path}: index.json is larger than {INDEX_CAP // 2**20} MiB", "is this a layout?")
        return ix.parse_index(body, self.path)

    def list_tags(self, ref: LayoutRef | None = None) -> list[str]:
        return sorted({t for e in self.entries() for t in ix.entry_tags(e)})

    def entry(self, ref: LayoutRef) -> dict | None:
        """The index.json entry a tag or digest names (None: that digest is no entry); by digest in O(1)."""
        entries = self.entries()
        if ref.digest is None:
            return ix.find(entries, ref.tag, None, str(ref))
        if self._indexed is None or self._indexed[0] is not entries:
            by_digest: dict[str, dict] = {}
            for e in entries:
                by_digest.setdefault(e["digest"], e)   # parse_index: every entry is a descriptor
            self._indexed = (entries, by_digest)
        return self._indexed[1].get(str(ref.digest))

    def resolve(self, ref: LayoutRef) -> Descriptor:
        """The descriptor a tag or digest names: an index.json entry, or any manifest blob by digest."""
        entry = self.entry(ref)
        if entry is not None:
            return ix.descriptor(entry)
        assert ref.digest is not None
        if not self.files.exists(ix.blob_path(ref.digest)):
            raise InputError(f"{ref}: no such manifest in the layout", f"tags here: {', '.join(self.list_tags())}")
        fetched = self.read_manifest(ref, ref.digest, None)
        return fetched.descriptor

    # -- manifests --------------------------------------------------------------------------
    def get_manifest(self, ref: LayoutRef, expect: Digest | None = None) -> Fetched:
        """The manifest a tag or digest names, hashed and sized against its descriptor."""
        entry = self.entry(ref)
        desc = ix.descriptor(entry) if entry is not None else None
        if ref.digest is not None:
            digest = ref.digest
        else:
            assert desc is not None   # by tag (or the only image): ix.find returns an entry or raises
            digest = desc.digest
        if expect is not None and digest != expect:
            raise DigestMismatch(f"get manifest {ref}: the layout holds {digest}, expected {expect}",
                                 "the layout was rebuilt after the digest was recorded", ref=str(ref))
        return self.read_manifest(ref, digest, desc)

    def read_manifest(self, ref: LayoutRef, digest: Digest, desc: Descriptor | None) -> Fetched:
        """The manifest blob `digest` (`desc`: the entry naming it, whose size must match), read bounded,
        hashed, parsed."""
        pinned = ref.with_digest(digest)
        if not self.files.exists(ix.blob_path(digest)):
            raise InputError(f"{pinned}: the layout lists it but lacks its blob", "the layout is incomplete")
        body = read_capped(self.files.open(ix.blob_path(digest)), MANIFEST_CAP)
        if len(body) > MANIFEST_CAP:
            raise InputError(f"{pinned}: manifest larger than {MANIFEST_CAP // 2**20} MiB", "is this a manifest?")
        self._verify(body, digest, desc.size if desc else None, pinned)
        hint = desc.media_type if desc else None
        try:
            manifest = parse_manifest(body, hint, f"{self.path}: {ix.blob_path(digest)}")
        except CompositionError as e:   # the layout is input: a malformed (or hostile) manifest is bad input
            raise InputError(e.message, e.hint or "the layout holds something else under this digest") from None
        return Fetched(pinned, body, manifest.media_type, digest, manifest)

    def head_manifest(self, ref: LayoutRef) -> Descriptor | None:
        try:
            return self.get_manifest(ref).descriptor
        except InputError:
            return None

    # -- blobs ------------------------------------------------------------------------------
    def blob_exists(self, ref: LayoutRef, digest: Digest) -> bool:
        return self.files.exists(ix.blob_path(digest))

    def get_blob(self, ref: LayoutRef, desc: Descriptor, cap: int = CONFIG_CAP) -> bytes:
        """A small blob (an image config), read bounded and verified."""
        pinned = ref.with_digest(desc.digest)
        if desc.size > cap:
            raise InputError(f"get blob {pinned}: {desc.size} bytes is over the {cap} byte limit", "is it a config?")
        body = read_capped(self._open_blob(ref, desc.digest), cap)
        self._verify(body, desc.digest, desc.size, pinned)
        return body

    def stream_blob(self, ref: LayoutRef, digest: Digest) -> Iterator[bytes]:
        """The blob in CHUNK pieces; the last piece is only yielded once the whole content hashed right."""
        f = self._open_blob(ref, digest)
        return _verified(chunks(f, CHUNK), digest, str(ref.with_digest(digest)))

    def _open_blob(self, ref: LayoutRef, digest: Digest):
        try:
            return self.files.open(ix.blob_path(digest))
        except FileNotFoundError:
            raise InputError(f"{ref.with_digest(digest)}: blob missing from the layout",
                             "the layout is incomplete; rebuild or re-copy it") from None

    @staticmethod
    def _verify(body: bytes, digest: Digest, size: int | None, where) -> None:
        if not digest.names(body):
            raise DigestMismatch(f"{where}: content does not hash to its digest", "the layout was altered",
                                 ref=str(where))
        if size is not None and len(body) != size:
            raise DigestMismatch(f"{where}: {len(body)} bytes, its descriptor says {size}", "the layout was altered",
                                 ref=str(where))

    def describe(self) -> dict:
        """For --debug and reports: the layout's path and tags."""
        return {"path": self.path, "tags": self.list_tags()}


def _verified(pieces: Iterator[bytes], digest: Digest, where: str) -> Iterator[bytes]:
    hasher = digest.hasher()
    held = None
    for piece in pieces:
        if held is not None:
            yield held
        hasher.update(piece)
        held = piece
    if hasher.hexdigest() != digest.hex:
        raise DigestMismatch(f"{where}: content does not hash to its digest", "the layout was altered", ref=where)
    if held is not None:
        yield held
