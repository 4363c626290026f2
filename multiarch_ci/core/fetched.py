"""A manifest as read from a store (a registry or a layout): its exact bytes, media type and verified digest."""
from __future__ import annotations

from dataclasses import dataclass

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.model import Descriptor, ImageIndex, ImageManifest
from multiarch_ci.core.reference import ImageRef


@dataclass(frozen=True, slots=True)
class Fetched:
    """A manifest as read: its exact bytes, media type and verified digest."""

    ref: ImageRef | LayoutRef
    body: bytes
    media_type: str
    digest: Digest
    manifest: ImageManifest | ImageIndex

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, len(self.body))
