"""Pure updates of an existing index: --append, --remove, and the difference a push would make.

Over `ImageIndex` values only: the existing index keeps its order, annotations and media type; a new
image replaces the entry of the same platform in place, else it is added at the end; a removed
platform takes its attestations with it.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from multiarch_ci.core.errors import CompositionError, InputError
from multiarch_ci.core.model import Descriptor, ImageIndex, MediaType
from multiarch_ci.core.plan import SourceSpec
from multiarch_ci.core.platform import Platform

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:
    from typing import Any

# (platform, image entry, its attestations, where it came from) -- compose's working row
Entry = tuple[Platform, Descriptor, tuple[Descriptor, ...], str]
EXISTING = "existing index"   # the origin of an entry kept from the index the tag holds now


@dataclass(frozen=True, slots=True)
class Change:
    """One platform's fate: added (old None), removed (new None) or replaced (both)."""

    platform: str
    old: str | None = None
    new: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"platform": self.platform, "old": self.old, "new": self.new}

    def __str__(self) -> str:
        if self.old is None:
            return f"{self.platform} added ({self.new})"
        if self.new is None:
            return f"{self.platform} removed ({self.old})"
        return f"{self.platform} replaced ({self.old} -> {self.new})"


@dataclass(frozen=True, slots=True)
class Diff:
    """What pushing `new` over what the tag holds now changes."""

    exists: bool                                       # the tag holds an index (or image) now
    added: tuple[Change, ...] = ()
    removed: tuple[Change, ...] = ()
    changed: tuple[Change, ...] = ()
    annotations: tuple[tuple[str, str | None, str | None], ...] = ()   # (key, old, new)
    media_type: tuple[str, str] | None = None          # (old, new) when it changes

    @property
    def empty(self) -> bool:
        return self.exists and not (self.added or self.removed or self.changed or self.annotations
                                    or self.media_type)

    def to_json(self) -> dict[str, Any]:
        return {"exists": self.exists, "added": [c.to_json() for c in self.added],
                "removed": [c.to_json() for c in self.removed], "changed": [c.to_json() for c in self.changed],
                "annotations": [{"key": k, "old": o, "new": n} for k, o, n in self.annotations],
                "mediaType": {"old": self.media_type[0], "new": self.media_type[1]} if self.media_type else None}

    def lines(self) -> list[str]:
        """For people, one line per change."""
        if not self.exists:
            return ["the tag does not exist yet: the index would be created"]
        out = [str(c) for c in (*self.added, *self.removed, *self.changed)]
        out += [f"annotation {k}: {o!r} -> {n!r}" for k, o, n in self.annotations]
        if self.media_type:
            out.append(f"media type {self.media_type[0]} -> {self.media_type[1]}")
        return out or ["no change: the tag already holds this index"]


def attestations_by_image(index: ImageIndex) -> dict[str, list[Descriptor]]:
    out: dict[str, list[Descriptor]] = {}
    for d in index.manifests:
        if d.attests:
            out.setdefault(str(d.attests), []).append(d)
    return out


def _matches(wanted: Platform, have: Platform) -> bool:
    """A removal without variant/os.version takes every variant/os.version of that os/arch."""
    if wanted.same_as(have):
        return True
    return (wanted.os, wanted.architecture) == (have.os, have.architecture) and (
        (not wanted.variant or wanted.variant == have.variant)
        and (not wanted.os_version or wanted.os_version == have.os_version))


def holds(images: Iterable[Descriptor], platform: Platform) -> bool:
    """Whether one of `images` is for `platform` (without variant/os.version: any of that os/arch)."""
    return any(d.platform is not None and _matches(platform, d.platform) for d in images)


def existing_entries(existing: ImageIndex, remove: tuple[Platform, ...] = ()) -> list[Entry]:
    """The existing index's images (with their attestations) in their order, minus the removed platforms.

    Removing a platform the index does not hold is an error naming what it holds.
    """
    atts = attestations_by_image(existing)
    images = [(d.platform, d) for d in existing.images if d.platform is not None]
    for wanted in remove:
        if not holds(existing.images, wanted):
            held = ", ".join(str(p) for p, _ in images) or "no platforms"
            raise InputError(f"--remove {wanted}: the index does not hold that platform (it holds {held})",
                             "remove only platforms it holds")
    return [(p, d, tuple(atts.get(str(d.digest), ())), EXISTING) for p, d in images
            if not any(_matches(w, p) for w in remove)]


def merge(kept: list[Entry], new: list[Entry]) -> tuple[list[Entry], list[Change]]:
    """New entries replace kept ones of the same platform in place, else go at the end."""
    out = list(kept)
    changes: list[Change] = []
    where = {e[0].identity(): i for i, e in enumerate(out) if e[3] == EXISTING}  # one look per entry
    for entry in new:
        at = where.get(entry[0].identity())
        if at is None:
            out.append(entry)
            changes.append(Change(str(entry[0]), None, str(entry[1].digest)))
        else:
            if out[at][1].digest != entry[1].digest:
                changes.append(Change(str(entry[0]), str(out[at][1].digest), str(entry[1].digest)))
            out[at] = entry
    return out, changes


def merged_annotations(existing: ImageIndex | None, new: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The existing index's annotations, with new values winning per key."""
    merged = dict(existing.annotations) if existing else {}
    merged.update(new)
    return tuple(merged.items())


def diff(old: ImageIndex | None, new: ImageIndex) -> Diff:
    """Platforms added, removed and changed (old -> new digest), annotations and media type changed."""
    if old is None:
        return Diff(exists=False, added=tuple(Change(str(d.platform), None, str(d.digest)) for d in new.images))
    before = {str(d.platform): str(d.digest) for d in old.images}
    after = {str(d.platform): str(d.digest) for d in new.images}
    added = tuple(Change(p, None, d) for p, d in after.items() if p not in before)
    removed = tuple(Change(p, d, None) for p, d in before.items() if p not in after)
    changed = tuple(Change(p, before[p], d) for p, d in after.items() if p in before and before[p] != d)
    a, b = dict(old.annotations), dict(new.annotations)
    notes = tuple((k, a.get(k), b.get(k)) for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k))
    media = (old.media_type, new.media_type) if old.media_type != new.media_type else None
    return Diff(True, added, removed, changed, notes, media)


def require_platforms(index: ImageIndex, required: tuple[Platform, ...], sources: tuple[SourceSpec, ...] = (),
                      landed: list[SourceSpec] | None = None, looked_in: str = "") -> None:
    """--require: each platform must be in the index (whatever --ignore-missing skipped, whatever a digests
    folder held), or nothing is pushed; the error names, per platform, where it was looked for."""
    held = [d.platform for d in index.images if d.platform is not None]
    lacking = [p for p in required if not any(_matches(p, h) for h in held)]
    if not lacking:
        return
    came = set(sources if landed is None else landed)
    where = []
    for p in lacking:
        named = [s for s in sources if (s.platform and _matches(p, s.platform))
                 or any(_matches(p, f) or _matches(f, p) for f in s.platform_filter)]
        if named:
            where += [f"{p}: {s.ref}{f' ({s.origin})' if s.origin else ''} "
                      + ("did not land (skipped)" if s not in came else f"holds no {p} image") for s in named]
        else:
            where.append(f"{p}: no source gave it" + (f" (looked for in {looked_in})" if looked_in else ""))
    holds = ", ".join(dict.fromkeys(str(h) for h in held)) or "no image"
    raise CompositionError(f"required platform(s) {', '.join(map(str, lacking))} not in the index (it would hold "
                           f"{holds}): " + "; ".join(where),
                           "nothing was pushed; check that each build leg pushed (and, with a digests folder, "
                           "wrote its digest file), then rerun")


def media_type_note(old: ImageIndex | None, new: ImageIndex) -> str | None:
    """What an --append/--remove did to the index's format, in words ('was a Docker manifest list, is now an OCI
    image index: ...'), or None when the format stays."""
    if old is None or old.media_type == new.media_type:
        return None
    if new.media_type == MediaType.OCI_INDEX:
        odd = next((d for d in new.manifests if d.media_type != MediaType.DOCKER_MANIFEST), None)
        why = (f"{odd.digest.short} ({odd.platform or 'attestation'}) is {odd.media_type}, which a Docker list "
               "cannot hold" if odd else "annotations need an OCI index")
    else:
        why = "a Docker manifest list was asked for" + ("; the index's annotations are dropped"
                                                        if old.annotations else "")
    return f"was {old.kind}, is now {new.kind}: {why}"
