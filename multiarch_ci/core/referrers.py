"""Artifacts that refer to an image (signatures, SBOMs, attestations), pure: tag names, parsing, merging.

OCI 1.1 referrers (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-referrers),
the referrers tag schema registries without the API rely on (`<alg>-<hex>` holding an OCI index), and
cosign's tags (`sha256-<hex>.sig`, `.att`, `.sbom`). The HTTP half is `registry/referrers.py`.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import (
    CompositionError,
    InputError,
    RegistryError,
    setting,
)
from multiarch_ci.core.limits import MANIFEST_CAP
from multiarch_ci.core.model import MediaType

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:
    from typing import Any

COSIGN_SUFFIXES = (".sig", ".att", ".sbom")
_NOT_IN_TAG = re.compile(r"[^a-zA-Z0-9_.-]")
MIB = 1024 * 1024

# Caps on ONE image's referrers (docs/layouts-referrers-targets.md, docs/reliability.md). Over a cap the run
# fails naming the image: copying some and dropping the rest would leave signatures behind without a word.
MAX_REFERRERS = 256                 # listed by the API, the tag schema and cosign's tags together
MAX_LISTING_BYTES = 1 * MIB         # the API's pages (or the tag-schema index), summed over the pages
MAX_REFERRER_BYTES = 64 * MIB       # the referrer manifests' listed sizes, summed
MAX_REFERRER_MANIFEST = MANIFEST_CAP   # one referrer manifest: as any manifest
VALUES_PER_REFERRER = 64            # JSON values a listed descriptor may take (its fields and annotations)


@dataclass(frozen=True, slots=True)
class Referrer:
    """A descriptor of a referring manifest; `tag` is set when found under a cosign tag (recreate it)."""

    media_type: str
    digest: Digest
    size: int
    artifact_type: str | None = None
    annotations: tuple[tuple[str, str], ...] = ()
    tag: str | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str) -> Referrer:
        try:
            size = d["size"]
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise ValueError(f"size {size!r}")
            notes = d.get("annotations") or {}
            art = d.get("artifactType")
            return cls(str(d["mediaType"]), Digest.parse(d["digest"]), size, str(art) if art else None,
                       tuple(sorted((str(k), str(v)) for k, v in notes.items())))
        except (KeyError, TypeError, ValueError, AttributeError, InputError) as e:
            raise CompositionError(f"malformed referrer in {where}: {e}") from None

    def to_dict(self) -> dict[str, Any]:
        """The descriptor as the referrers API and the tag-schema index list it (no cosign tag)."""
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest), "size": self.size}
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


class ReferrersOverCap(RegistryError):
    """One image's referrers exceed a cap: the run stops rather than copy some and leave the rest."""


def over_cap(where: str, what: str) -> ReferrersOverCap:
    """The error for `where` (`referrers of REPO@DIGEST`) exceeding a cap; `what` says which and by how much."""
    return ReferrersOverCap(f"{where}: {what}; none copied, nothing tagged",
                            f"{setting('referrers')} none pushes without copying referrers (then copy them "
                            "yourself, e.g. with oras cp -r or cosign copy)", ref=where.removeprefix("referrers of "))


def within_caps(found: list[Referrer], where: str) -> list[Referrer]:
    """`found`, if it is within the per-image caps (count, each manifest's size, their sum); else
    ReferrersOverCap."""
    if len(found) > MAX_REFERRERS:
        raise over_cap(where, f"{len(found)} referrers, over the cap of {MAX_REFERRERS} per image")
    big = next((r for r in found if r.size > MAX_REFERRER_MANIFEST), None)
    if big is not None:
        raise over_cap(where, f"referrer {big.digest} is listed as {big.size} bytes, over the cap of "
                              f"{MAX_REFERRER_MANIFEST // MIB} MiB for a manifest")
    total = sum(r.size for r in found)
    if total > MAX_REFERRER_BYTES:
        raise over_cap(where, f"its referrers' manifests are listed as {total} bytes together, over the cap of "
                              f"{MAX_REFERRER_BYTES // MIB} MiB per image")
    return found


def referrers_tag(subject: Digest) -> str:
    """The referrers tag schema: algorithm (first 32 chars) '-' encoded (first 64), other chars '-'."""
    return _NOT_IN_TAG.sub("-", f"{subject.algorithm[:32]}-{subject.hex[:64]}")


def cosign_tags(subject: Digest) -> tuple[str, ...]:
    """cosign's tags for a subject: sha256-<hex>.sig, .att, .sbom."""
    return tuple(f"{subject.algorithm}-{subject.hex}{suffix}" for suffix in COSIGN_SUFFIXES)


def parse_referrers(body: bytes, where: str, room: int = MAX_REFERRERS) -> list[Referrer]:
    """The descriptors of a referrers response or tag-schema index (an OCI image index); more than `room`
    (what is left of MAX_REFERRERS) is ReferrersOverCap, checked before any is built. So is a body with
    more JSON values than `room` descriptors could hold (counted, over-counting, from its `,[{` bytes):
    parsing `[[],[],…]` would take 25 times its size in memory."""
    values = body.count(b",") + body.count(b"[") + body.count(b"{")
    if values > VALUES_PER_REFERRER * (room + 1):
        raise over_cap(where, f"its listing holds {values} JSON values, more than {MAX_REFERRERS} referrers could "
                              "(the cap per image)")
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise CompositionError(f"{where}: referrers list is not JSON ({e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("manifests"), list) or \
            doc.get("mediaType", MediaType.OCI_INDEX) != MediaType.OCI_INDEX:
        raise CompositionError(f"{where}: referrers list is not an OCI image index")
    if len(doc["manifests"]) > room:
        raise over_cap(where, f"more than {MAX_REFERRERS} referrers listed, the cap per image")
    if not all(isinstance(e, dict) for e in doc["manifests"]):
        raise CompositionError(f"{where}: referrers list holds a non-object entry")
    return [Referrer.from_dict(e, where) for e in doc["manifests"]]


def merge(*found: Iterable[Referrer]) -> list[Referrer]:
    """One entry per digest, first seen first; a cosign tag seen for a digest is kept on that entry."""
    out: dict[Digest, Referrer] = {}
    for group in found:
        for r in group:
            have = out.get(r.digest)
            if have is None:
                out[r.digest] = r
            elif have.tag is None and r.tag is not None:
                out[r.digest] = replace(have, tag=r.tag)
            elif have.artifact_type is None and r.artifact_type is not None:
                out[r.digest] = replace(have, artifact_type=r.artifact_type, annotations=r.annotations)
    return list(out.values())


def only_type(found: Iterable[Referrer], artifact_type: str | None) -> list[Referrer]:
    """Filter by artifactType client-side (a registry may ignore the filter: OCI-Filters-Applied)."""
    return [r for r in found if artifact_type is None or r.artifact_type == artifact_type]


def subject_of(body: bytes) -> Digest | None:
    """The digest a manifest's `subject` names, or None."""
    try:
        subject = json.loads(body).get("subject")
        return Digest.parse(subject["digest"]) if isinstance(subject, dict) else None
    except (ValueError, AttributeError, KeyError, TypeError, UnicodeDecodeError, InputError):
        return None


def describe_manifest(body: bytes, media_type: str) -> Referrer:
    """A referrer entry for a manifest as the spec lists it: artifactType (else the config's mediaType for
    an image manifest), and all the manifest's annotations."""
    doc = json.loads(body)
    art = doc.get("artifactType")
    if not art and media_type not in MediaType.INDEXES:
        art = (doc.get("config") or {}).get("mediaType")
    notes = doc.get("annotations") or {}
    return Referrer(media_type, Digest.of(body), len(body), art or None,
                    tuple(sorted((str(k), str(v)) for k, v in notes.items())))


def fallback_index(existing: bytes | None, added: Iterable[Referrer]) -> bytes | None:
    """The `<alg>-<hex>` tag's new index: what it held (verbatim, in order) plus the added referrers not yet
    listed, sorted by digest; None when nothing is new (no PUT needed). Same inputs, same bytes."""
    entries: list[dict[str, Any]] = []
    if existing is not None:
        try:
            doc = json.loads(existing)
            entries = [e for e in doc.get("manifests") or [] if isinstance(e, dict)]
        except (ValueError, AttributeError, UnicodeDecodeError):
            entries = []  # not an index: the spec treats it as no referrers, and we replace it
    listed = {e.get("digest") for e in entries}
    new = sorted((r for r in added if str(r.digest) not in listed), key=lambda r: str(r.digest))
    new = list({str(r.digest): r for r in new}.values())
    if not new and existing is not None:
        return None
    doc = {"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX, "manifests": [*entries, *(r.to_dict() for r in new)]}
    return json.dumps(doc, indent=2).encode() + b"\n"


def next_link(header: str | None) -> str | None:
    """The target of an RFC 5988 `Link: <url>; rel="next"` header, or None."""
    for part in (header or "").split(","):
        url, _, params = part.partition(";")
        if re.search(r'rel="?next"?', params):
            return url.strip().strip("<>") or None
    return None
