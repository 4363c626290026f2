"""Pure composition: resolved per-arch images -> one ImageIndex (DESIGN.md rules 5-8)."""
from __future__ import annotations

from dataclasses import dataclass, replace

from multiarch_ci.core.errors import CompositionError, InputError, setting
from multiarch_ci.core.model import FORMATS, Descriptor, ImageIndex, MediaType
from multiarch_ci.core.plan import EntryAnnotation
from multiarch_ci.core.platform import Platform, PlatformIdentity
from multiarch_ci.core.update import EXISTING, Change, Entry, existing_entries, merge, merged_annotations


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
    images: list[Descriptor] = []
    attestations: dict[str, list[Descriptor]] = {}
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
        if not kept_by(keep, entry.platform):
            continue
        images.append(entry)
    if not images:
        wanted = ", ".join(map(str, keep)) if keep else "any platform"
        raise CompositionError(f"{where}: index has no image for {wanted}",
                               f"check the platforms asked for ({setting('platform-filter')}) against "
                               "`multiarch-manifest inspect`")
    kept = {str(i.digest) for i in images}
    return images, {d: a for d, a in attestations.items() if d in kept}


def kept_by(keep: tuple[Platform, ...], platform: Platform) -> bool:
    """Whether a platform filter (empty: keep all) keeps this platform."""
    return not keep or any(platform.same_as(p) or _loosely(p, platform) for p in keep)


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
            raise CompositionError(f"{c.origin}: {why}", "fix the platform in the input; manifest-tool writes the "
                                   "declared platform over the config's, and --no-verify-platform does the same here")
        return c.declared.merged_with(c.config)
    return c.declared


def choose_media_type(fmt: str, children: list[Descriptor], annotations: tuple[tuple[str, str], ...] | bool,
                      prefer: str | None = None) -> str:
    """Rule 7: Docker list when every child is a Docker manifest (and no annotations), else OCI.

    `prefer` (--append: the existing index's media type) wins over auto's choice where it can hold the
    children. CPU `features` need a Docker list: the OCI image-index spec reserves `platform.features`.
    """
    if fmt not in FORMATS:
        raise InputError(f"invalid --format {fmt!r}", "use auto, docker or oci")
    featured = next((c.platform for c in children if c.platform and c.platform.features), None)
    if fmt == "docker" or (featured and fmt == "auto"):
        if annotations:
            if featured and fmt == "auto":
                raise InputError(f"platform {featured} has CPU features, which only a Docker manifest list "
                                 "holds, but annotations need an OCI index", "drop the features or the annotations")
            raise InputError("--annotation needs an OCI index, but --format docker was asked for",
                             "use --format oci (or auto)")
        odd = [c for c in children if c.media_type != MediaType.DOCKER_MANIFEST]
        if odd:
            why = f"platform {featured} has CPU features (a Docker manifest list field)" if featured \
                and fmt == "auto" else "--format docker"
            raise CompositionError(f"{why}, but {odd[0].digest.short} is {odd[0].media_type}",
                                   "a Docker manifest list may only hold Docker manifests; use --format oci or auto")
        return MediaType.DOCKER_LIST
    if featured:
        raise InputError(f"platform {featured}: features {list(featured.features)} cannot go in an "
                         "OCI index (the OCI image-index spec reserves platform.features)",
                         "for OS features write osfeatures; CPU features need --format docker (or auto)")
    if fmt == "oci" or annotations:
        return MediaType.OCI_INDEX
    docker = all(c.media_type == MediaType.DOCKER_MANIFEST for c in children)
    if prefer in MediaType.INDEXES and (prefer == MediaType.OCI_INDEX or docker):
        return prefer
    return MediaType.DOCKER_LIST if docker else MediaType.OCI_INDEX


def compose(candidates: list[Candidate], fmt: str = "auto", annotations: tuple[tuple[str, str], ...] = (),
            verify_platform: bool = True, existing: ImageIndex | None = None) -> ImageIndex:
    """The index alone (see `compose_update`)."""
    return compose_update(candidates, fmt, annotations, verify_platform, existing)[0]


def compose_update(candidates: list[Candidate], fmt: str = "auto", annotations: tuple[tuple[str, str], ...] = (),
                   verify_platform: bool = True, existing: ImageIndex | None = None,
                   remove: tuple[Platform, ...] = (), by_platform: bool = False,
                   entry_annotations: tuple[EntryAnnotation, ...] = ()) -> tuple[ImageIndex, list[Change]]:
    """Build the index: images in the order given, then their attestations in the same order.

    With `existing` (--append/--remove) its entries keep their order and annotations; each new image
    replaces the entry of its platform in place or is added at the end. `by_platform` sorts the new
    entries (a digests folder has no order). An entry taken from a source index keeps its annotations;
    `entry_annotations` (manifest-descriptor:) are added to the image entries. Returns the changes made.
    """
    entries: list[Entry] = []
    seen: dict[PlatformIdentity, int] = {}   # platform identity -> its entry: one look per candidate, not one per pair
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
        entries.append((platform, Descriptor(d.media_type, d.digest, d.size, platform, d.annotations),
                        c.attestations, c.origin))
    if by_platform:  # a digests folder: no order was given, so one that does not depend on digests
        entries.sort(key=lambda e: e[0].sort_key())
    changes: list[Change] = []
    if existing is not None:
        kept = existing_entries(existing, remove)
        still = {str(e[1].digest) for e in kept}
        gone = [Change(str(d.platform), str(d.digest)) for d in existing.images
                if d.platform and str(d.digest) not in still]
        entries, changes = merge(kept, entries)
        changes = gone + changes
        if fmt != "docker":  # a Docker list asked for cannot keep them
            annotations = merged_annotations(existing, annotations)
    if not entries:
        raise CompositionError("the index would hold no images", "keep at least one platform")
    entries = annotate_entries(entries, entry_annotations)
    images = [e[1] for e in entries]
    attestations = [a for e in entries for a in e[2]]
    carried = next((e for e in entries if e[1].annotations and e[3] != EXISTING), None)  # an existing list's stay
    if carried and fmt == "docker" and not (annotations or entry_annotations):
        raise CompositionError(f"{carried[3]}: its index entry for {carried[0]} carries annotations "
                               f"({', '.join(k for k, _ in carried[1].annotations)}), which a Docker manifest list "
                               "cannot hold", "use format oci or auto, which keep them")
    media_type = choose_media_type(fmt, images + attestations, annotations or bool(carried or entry_annotations),
                                   existing.media_type if existing is not None else None)
    return ImageIndex(media_type, tuple(images + attestations),
                      annotations if media_type == MediaType.OCI_INDEX else ()), changes


def annotate_entries(entries: list[Entry], wanted: tuple[EntryAnnotation, ...]) -> list[Entry]:
    """manifest-descriptor annotations onto the image entries (each entry's own keys kept unless set again);
    one for a platform the index does not hold is an error: it would be published nowhere."""
    for a in wanted:
        if a.platform is not None and not any(kept_by((a.platform,), e[0]) for e in entries):
            held = ", ".join(str(e[0]) for e in entries)
            raise CompositionError(f"annotation {a}: the index holds no {a.platform} entry (it holds {held})",
                                   "drop the annotation, or add an image for that platform")
    out = []
    for platform, d, atts, origin in entries:
        add = {a.key: a.value for a in wanted if a.platform is None or kept_by((a.platform,), platform)}
        out.append((platform, replace(d, annotations=tuple({**dict(d.annotations), **add}.items())) if add else d,
                    atts, origin))
    return out


class PlatformSeen:
    """Rule 6 as each platform becomes known: the second entry for a platform is an error at once, so
    a run can stop before writing more (not thread-safe: callers lock). `where` orders entries as the
    input does, so the message names the two sources as `compose` would."""

    def __init__(self) -> None:
        self._seen: dict[PlatformIdentity, tuple[tuple[int, ...], str, Descriptor]] = {}

    def add(self, where: tuple[int, ...], platform: Platform, origin: str, descriptor: Descriptor) -> None:
        other = self._seen.setdefault(platform.identity(), (where, origin, descriptor))
        if other[0] == where:
            return
        (_, first, _), (_, second, d) = sorted([other, (where, origin, descriptor)], key=lambda e: e[0])
        if other[2].digest == descriptor.digest:
            raise CompositionError(f"{second}: the same image {d.digest.short} is given twice")
        raise CompositionError(f"two images for {platform}: {first} and {second}",
                               "each platform may appear once; drop one or fix its platform")
