"""The layout's own files, pure: `oci-layout`, `index.json` entries, tags, and a tag written into the index.

Spec: https://github.com/opencontainers/image-spec/blob/main/image-layout.md (tags are the
`org.opencontainers.image.ref.name` annotation; buildx also writes `io.containerd.image.name`).
"""
from __future__ import annotations

import json
from dataclasses import replace

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import InputError
from multiarch_ci.core.model import Descriptor, MediaType

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
LAYOUT_VERSION = "1.0.0"
LAYOUT_FILE = b'{"imageLayoutVersion":"1.0.0"}'
_REBUILD = "rebuild it with skopeo, buildah or buildx --output type=oci"


def blob_path(digest: Digest) -> str:
    return f"blobs/{digest.algorithm}/{digest.hex}"


def check_layout_file(body: bytes, where: str) -> None:
    """`oci-layout` must say imageLayoutVersion 1.0.0."""
    try:
        version = json.loads(body).get("imageLayoutVersion")
    except (ValueError, AttributeError, UnicodeDecodeError, RecursionError):
        version = None
    if version != LAYOUT_VERSION:
        raise InputError(f"{where}: oci-layout does not declare imageLayoutVersion {LAYOUT_VERSION}", _REBUILD)


def parse_index(body: bytes, where: str) -> list[dict]:
    """The entries of index.json as dicts (kept whole so a rewrite loses no field), each a valid descriptor."""
    try:
        doc = json.loads(body)
        entries = doc["manifests"] if isinstance(doc, dict) and doc.get("schemaVersion") == 2 else None
    except RecursionError:   # a hostile file: bad input, not an internal error
        raise InputError(f"{where}: index.json is nested too deeply to be an OCI image index", _REBUILD) from None
    except (ValueError, KeyError, UnicodeDecodeError):
        entries = None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InputError(f"{where}: index.json is not an OCI image index", _REBUILD)
    for i, e in enumerate(entries):
        try:
            Descriptor.from_dict(e, f"{where} index.json entry {i}")
        except Exception as err:  # noqa: BLE001 - CompositionError, or any failure on a hostile file: bad input
            raise InputError(str(err), _REBUILD) from None
    return entries


def entry_tags(entry: dict) -> set[str]:
    """The tags an index.json entry carries: ref.name as written, and the tag of a containerd image name."""
    notes = entry.get("annotations") or {}
    tags = set()
    for key in (REF_NAME, CONTAINERD_NAME):
        name = notes.get(key)
        if isinstance(name, str) and name:
            tail = name.rsplit("/", 1)[-1].split("@")[0]
            if key == REF_NAME and "/" not in name and ":" not in name:
                tags.add(name)
            elif ":" in tail:
                tags.add(tail.rsplit(":", 1)[1])
    return tags


def descriptor(entry: dict) -> Descriptor:
    """The entry as a descriptor of the image, without the layout's own naming annotations."""
    d = Descriptor.from_dict(entry)
    return replace(d, annotations=tuple((k, v) for k, v in d.annotations if k not in (REF_NAME, CONTAINERD_NAME)))


def find(entries: list[dict], tag: str | None, digest: Digest | None, where: str) -> dict | None:
    """The entry for a tag or digest (None when the digest is not an entry); no tag, no digest: the only one."""
    if digest is not None:
        return next((e for e in entries if e.get("digest") == str(digest)), None)
    known = sorted({t for e in entries for t in entry_tags(e)})
    if tag is None:   # artifacts listed beside the image (its signatures, SBOMs) are not candidates
        images = [e for e in entries if not e.get("artifactType")]
        if len({e.get("digest") for e in images}) == 1:
            return images[0]
        what = "no image" if not images else f"{len(images)} images"
        raise InputError(f"{where}: the layout holds {what}; say which",
                         f"add :TAG (tags here: {', '.join(known) or 'none'}) or @DIGEST")
    hits = [e for e in entries if tag in entry_tags(e)]
    if not hits:
        raise InputError(f"{where}: no tag {tag!r} in the layout", f"tags here: {', '.join(known) or 'none'}")
    if len({e.get("digest") for e in hits}) > 1:
        raise InputError(f"{where}: tag {tag!r} names {len(hits)} different images in index.json", "use @DIGEST")
    return hits[0]


def with_tag(entries: list[dict], desc: Descriptor, tag: str) -> bytes:
    """index.json bytes with `tag` naming `desc` (an earlier entry with that tag is replaced)."""
    kept = [e for e in entries if (e.get("annotations") or {}).get(REF_NAME) != tag]
    entry = desc.to_dict()
    entry.pop("platform", None)
    entry["annotations"] = {REF_NAME: tag}
    doc = {"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX, "manifests": [*kept, entry]}
    return json.dumps(doc, indent=2).encode() + b"\n"


def with_listed(entries: list[dict], listed: list[dict]) -> bytes | None:
    """index.json bytes with an untagged entry for each `listed` descriptor not yet an entry (a layout's
    referrers: layout/referrers.py); None when every one is there already."""
    have = {e.get("digest") for e in entries}
    new = [d for d in listed if d["digest"] not in have]
    new = list({d["digest"]: d for d in new}.values())
    if not new:
        return None
    doc = {"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX, "manifests": [*entries, *new]}
    return json.dumps(doc, indent=2).encode() + b"\n"


EMPTY_INDEX = json.dumps({"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX, "manifests": []}).encode()
