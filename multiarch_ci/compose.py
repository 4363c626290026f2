"""Pure composition: resolved per-arch images -> one ImageIndex (DESIGN.md rules 5-8)."""
from __future__ import annotations

from dataclasses import dataclass

from multiarch_ci.errors import CompositionError, InputError
from multiarch_ci.model import Descriptor, ImageIndex, MediaType
from multiarch_ci.platform import Platform

FORMATS = ("auto", "docker", "oci")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One runnable image found in a source, with what is known of its platform."""

    descriptor: Descriptor                    # the image manifest (media type, digest, size)
    origin: str                               # the source it came from, for messages
    declared: Platform | None = None          # from the input or from the source index entry
    config: Platform | None = None            # from the image config (None when not read)
    attestations: tuple[Descriptor, ...] = ()  # attestation entries pointing at this image


def flatten(entries: tuple[Descriptor, ...], keep: tuple[Platform, ...], where: str
            ) -> tuple[list[Descriptor], dict[str, list[Descriptor]]]:
    """Split a source index into its image entries (filtered) and attestations keyed by image digest."""
    images, attestations = [], {}
    for entry in entries:
        if entry.media_type in MediaType.INDEXES:
            raise CompositionError(f"{where}: nested index {entry.digest.short} is not supported",
                                   "point at the per-arch index or its images instead")
        if entry.is_attestation:
            if entry.attests:
                attestations.setdefault(str(entry.attests), []).append(entry)
            continue
        if entry.platform is None or entry.platform.is_unknown:
            raise CompositionError(f"{where}: entry {entry.digest.short} has no platform",
                                   "give the source's platform explicitly")
        if keep and not any(entry.platform.same_as(p) or _loosely(p, entry.platform) for p in keep):
            continue
        images.append(entry)
    if not images:
        wanted = ", ".join(map(str, keep)) if keep else "any platform"
        raise CompositionError(f"{where}: index has no image for {wanted}",
                               "check --platform-filter against `multiarch-manifest inspect`")
    kept = {str(i.digest) for i in images}
    return images, {d: a for d, a in attestations.items() if d in kept}


def _loosely(wanted: Platform, have: Platform) -> bool:
    """A filter without variant/os.version matches every variant/os.version of that os/arch."""
    return (wanted.os, wanted.architecture) == (have.os, have.architecture) and (
        (not wanted.variant or wanted.same_as(have) or wanted.variant == have.variant)
        and (not wanted.os_version or wanted.os_version == have.os_version))


def platform_of(c: Candidate, verify: bool = True) -> Platform:
    """The entry's platform: the config's, checked against what was declared (rule 6)."""
    if c.config is None:
        if c.declared is None:
            raise CompositionError(f"{c.origin}: no platform declared and the image config was not read")
        return c.declared
    if c.declared is None:
        return c.config
    if verify:
        why = c.declared.conflicts_with(c.config)
        if why:
            raise CompositionError(f"{c.origin}: {why}", "fix the platform in the input, or pass "
                                   "--no-verify-platform if the config is known to be wrong")
        return c.declared.merged_with(c.config)
    return c.declared


def choose_media_type(fmt: str, children: list[Descriptor], annotations: tuple) -> str:
    """Rule 7: Docker list when every child is a Docker manifest (and no annotations), else OCI."""
    if fmt not in FORMATS:
        raise InputError(f"invalid --format {fmt!r}", "use auto, docker or oci")
    if fmt == "docker":
        if annotations:
            raise InputError("--annotation needs an OCI index, but --format docker was asked for",
                             "use --format oci (or auto)")
        odd = [c for c in children if c.media_type != MediaType.DOCKER_MANIFEST]
        if odd:
            raise CompositionError(f"--format docker, but {odd[0].digest.short} is {odd[0].media_type}",
                                   "a Docker manifest list may only hold Docker manifests; use --format oci or auto")
        return MediaType.DOCKER_LIST
    if fmt == "oci" or annotations:
        return MediaType.OCI_INDEX
    return MediaType.DOCKER_LIST if all(c.media_type == MediaType.DOCKER_MANIFEST for c in children) \
        else MediaType.OCI_INDEX


def compose(candidates: list[Candidate], fmt: str = "auto", annotations: tuple[tuple[str, str], ...] = (),
            verify_platform: bool = True, existing: ImageIndex | None = None) -> ImageIndex:
    """Build the index: images sorted by platform, then their attestations in the same order (rule 8)."""
    entries: list[tuple[Platform, Descriptor, tuple[Descriptor, ...], str]] = []
    seen: dict[tuple, int] = {}   # platform identity -> its entry: one look per candidate, not one per pair
    for c in candidates:
        platform = platform_of(c, verify_platform)
        clash = seen.setdefault(platform.identity(), len(entries))
        if clash != len(entries):
            _, other, _, other_origin = entries[clash]
            if other.digest == c.descriptor.digest:
                raise CompositionError(f"{c.origin}: the same image {c.descriptor.digest.short} is given twice")
            raise CompositionError(f"two images for {platform}: {other_origin} and {c.origin}",
                                   "each platform may appear once; drop one or fix its platform")
        d = c.descriptor
        entries.append((platform, Descriptor(d.media_type, d.digest, d.size, platform), c.attestations, c.origin))
    if existing is not None:
        entries += _kept_from(existing, set(seen))
    entries.sort(key=lambda e: e[0].sort_key())
    images = [e[1] for e in entries]
    attestations = [a for e in entries for a in e[2]]
    media_type = choose_media_type(fmt, images + attestations, annotations)
    return ImageIndex(media_type, tuple(images + attestations),
                      annotations if media_type == MediaType.OCI_INDEX else ())


def _kept_from(existing: ImageIndex, replaced: set[tuple]) -> list:
    """--append: the existing index's images (and their attestations) whose platform is not replaced."""
    by_image: dict[str, list[Descriptor]] = {}
    for d in existing.manifests:
        if d.attests:
            by_image.setdefault(str(d.attests), []).append(d)
    kept = []
    for d in existing.images:
        if d.platform is None or d.platform.identity() in replaced:
            continue
        kept.append((d.platform, d, tuple(by_image.get(str(d.digest), ())), "existing index"))
    return kept


class PlatformSeen:
    """Rule 6 as each platform becomes known: the second entry for a platform is an error at once, so
    a run can stop before writing more (not thread-safe: callers lock). `where` orders entries as the
    input does, so the message names the two sources as `compose` would."""

    def __init__(self):
        self._seen: dict[tuple, tuple[tuple, str, Descriptor]] = {}

    def add(self, where: tuple, platform: Platform, origin: str, descriptor: Descriptor) -> None:
        other = self._seen.setdefault(platform.identity(), (where, origin, descriptor))
        if other[0] == where:
            return
        (_, first, _), (_, second, d) = sorted([other, (where, origin, descriptor)], key=lambda e: e[0])
        if other[2].digest == descriptor.digest:
            raise CompositionError(f"{second}: the same image {d.digest.short} is given twice")
        raise CompositionError(f"two images for {platform}: {first} and {second}",
                               "each platform may appear once; drop one or fix its platform")
