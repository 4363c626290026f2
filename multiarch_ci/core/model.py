"""Manifests and descriptors as frozen values; `ImageIndex.to_bytes()` is deterministic.

Specs: https://github.com/opencontainers/image-spec/blob/main/image-index.md and
https://github.com/distribution/distribution/blob/main/docs/content/spec/manifest-v2-2.md
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import CompositionError, InputError
from multiarch_ci.core.platform import Platform

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:
    from typing import Any


class MediaType:
    OCI_INDEX = "application/vnd.oci.image.index.v1+json"
    OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
    DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
    DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
    INDEXES = (OCI_INDEX, DOCKER_LIST)
    IMAGES = (OCI_MANIFEST, DOCKER_MANIFEST)
    ALL = (OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST)
    ACCEPT = ", ".join(ALL)


FORMATS = ("auto", "docker", "oci")   # what --format may ask for (compose.choose_media_type decides)

# RFC 6838 type/subtype, as the OCI descriptor schema has it (whole string).
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")
REF_TYPE = "vnd.docker.reference.type"
REF_DIGEST = "vnd.docker.reference.digest"
ATTESTATION = "attestation-manifest"


@dataclass(frozen=True, slots=True)
class Descriptor:
    """A content descriptor; platform and annotations only where an index entry has them."""

    media_type: str
    digest: Digest
    size: int
    platform: Platform | None = None
    annotations: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "descriptor") -> Descriptor:
        try:
            size = d["size"]
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise ValueError(f"size {size!r}")
            if not isinstance(d["mediaType"], str) or not _MEDIA_TYPE.fullmatch(d["mediaType"]):
                raise ValueError(f"mediaType {d['mediaType']!r}")
            platform = Platform.from_dict(d["platform"], f"{where} platform") if d.get("platform") else None
            annotations = string_map(d.get("annotations"))
            desc = cls(d["mediaType"], Digest.parse(d["digest"]), size, platform, annotations)
            attested = desc.annotation(REF_DIGEST)
            if desc.is_attestation and attested is not None:
                Digest.parse(attested)  # the image it attests must be a digest
            return desc
        except (KeyError, TypeError, ValueError, AttributeError, InputError) as e:
            raise CompositionError(f"malformed {where}: {e}") from None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest), "size": self.size}
        if self.platform:
            out["platform"] = self.platform.to_dict()
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    def annotation(self, key: str) -> str | None:
        return dict(self.annotations).get(key)

    @property
    def is_attestation(self) -> bool:
        return self.annotation(REF_TYPE) == ATTESTATION

    @property
    def attests(self) -> Digest | None:
        """The image digest an attestation entry points at."""
        target = self.annotation(REF_DIGEST)
        return Digest.parse(target) if self.is_attestation and target else None


def string_map(value: object) -> tuple[tuple[str, str], ...]:
    """Annotations: a JSON object of strings to strings (OCI), else ValueError."""
    if value is None:
        return ()
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError("annotations must map strings to strings")
    return tuple(value.items())


@dataclass(frozen=True, slots=True)
class ImageManifest:
    """A single-platform image manifest (Docker v2 schema 2 or OCI)."""

    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]

    @property
    def blobs(self) -> tuple[Descriptor, ...]:
        return (self.config, *self.layers)

    @property
    def is_docker(self) -> bool:
        return self.media_type == MediaType.DOCKER_MANIFEST


@dataclass(frozen=True, slots=True)
class ImageIndex:
    """An OCI image index or Docker manifest list."""

    media_type: str
    manifests: tuple[Descriptor, ...]
    annotations: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schemaVersion": 2, "mediaType": self.media_type,
                     "manifests": [m.to_dict() for m in self.manifests]}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    def to_bytes(self) -> bytes:
        """The one serialisation that is hashed and pushed."""
        return json.dumps(self.to_dict(), indent=2).encode() + b"\n"

    @property
    def images(self) -> tuple[Descriptor, ...]:
        return tuple(m for m in self.manifests if not m.is_attestation)

    @property
    def blobs(self) -> tuple[Descriptor, ...]:
        """An index names no blobs of its own (its entries are manifests): copied, it is one PUT."""
        return ()

    @property
    def kind(self) -> str:
        """For people: 'OCI image index' or 'Docker manifest list'."""
        return "OCI image index" if self.media_type == MediaType.OCI_INDEX else "Docker manifest list"


def parse_manifest(body: bytes, content_type: str | None, where: str) -> ImageManifest | ImageIndex:
    """Parse a manifest body; the body's mediaType wins over the Content-Type header."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise CompositionError(f"{where}: manifest is not JSON ({e})") from None
    except RecursionError:
        raise CompositionError(f"{where}: manifest JSON is nested too deeply") from None
    if not isinstance(doc, dict):
        raise CompositionError(f"{where}: manifest is not a JSON object")
    if doc.get("schemaVersion") == 1:
        raise CompositionError(f"{where}: is a schema 1 manifest", "re-push it with a current builder")
    media_type = doc.get("mediaType") or (content_type or "").split(";")[0].strip()
    if not media_type:
        media_type = MediaType.OCI_INDEX if "manifests" in doc else MediaType.OCI_MANIFEST
    if media_type in MediaType.INDEXES:
        entries = doc.get("manifests")
        if not isinstance(entries, list):
            raise CompositionError(f"{where}: index has no manifests list")
        try:
            annotations = string_map(doc.get("annotations"))
        except ValueError as e:
            raise CompositionError(f"{where}: malformed index: {e}") from None
        return ImageIndex(media_type,
                          tuple(Descriptor.from_dict(e, f"{where} entry {i}") for i, e in enumerate(entries)),
                          annotations)
    if media_type in MediaType.IMAGES:
        if not isinstance(doc.get("config"), dict) or not isinstance(doc.get("layers", []), list):
            raise CompositionError(f"{where}: image manifest lacks config or layers")
        return ImageManifest(media_type, Descriptor.from_dict(doc["config"], f"{where} config"),
                             tuple(Descriptor.from_dict(layer, f"{where} layer {i}")
                                   for i, layer in enumerate(doc.get("layers") or [])))
    raise CompositionError(f"{where}: unsupported manifest media type {media_type!r}",
                           "expected an image manifest or index (Docker v2 schema 2 or OCI)")
