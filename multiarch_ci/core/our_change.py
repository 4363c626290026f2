"""What one --append/--remove run changes in an index, and whether an index another writer left still has it.

Pure: the flow's converging loop (flow/append_race.py) asks `lacking` of what a tag holds after other legs
wrote it, and `still_held` for the removals left to make when it merges again (core/compose.compose_update).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.model import Descriptor, ImageIndex
from multiarch_ci.core.platform import Platform
from multiarch_ci.core.update import holds


@dataclass(frozen=True, slots=True)
class OurChange:
    """This run's entries (images and their attestations) and the platforms it removes."""

    images: tuple[Descriptor, ...] = ()
    attestations: tuple[Descriptor, ...] = ()
    removed: tuple[Platform, ...] = ()

    @classmethod
    def of(cls, index: ImageIndex, brought: Iterable[Digest], removed: tuple[Platform, ...] = ()) -> OurChange:
        """From the index this run composed: the entries of the images it brought (`brought`: their digests)."""
        mine = {str(d) for d in brought}
        images = tuple(d for d in index.images if str(d.digest) in mine)
        ours = {str(d.digest) for d in images}
        return cls(images, tuple(d for d in index.manifests if d.attests and str(d.attests) in ours), removed)

    def lacking(self, held: ImageIndex | None) -> list[str]:
        """What of this change `held` (what the tag holds; None: nothing) does not show, one phrase each;
        empty when it shows all of it: each image under its platform, each attestation, no removed platform."""
        have = {(d.platform.identity(), str(d.digest)) for d in held.images if d.platform} if held else set()
        listed = {str(d.digest) for d in held.manifests} if held else set()
        out = [f"{d.platform} {d.digest}" for d in self.images
               if d.platform is None or (d.platform.identity(), str(d.digest)) not in have]
        out += [f"attestation {d.digest} of {d.attests}" for d in self.attestations if str(d.digest) not in listed]
        out += [f"{p} (removed) back in" for p in self.still_held(held)]
        return out

    def still_held(self, held: ImageIndex | None) -> tuple[Platform, ...]:
        """The removed platforms `held` still has: what merging again must remove (the others are gone already)."""
        # a platform removed and brought again is ours, not a removal left
        return tuple(p for p in self.removed
                     if held is not None and holds(held.images, p) and not holds(self.images, p))
