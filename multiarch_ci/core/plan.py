"""What one push is to do: its target, tags, sources and annotations (`PushPlan`), checked whole (pure)."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import InputError
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.platform import Platform, PlatformIdentity
from multiarch_ci.core.reference import ImageRef, check_tag
from multiarch_ci.core.tags import Floating

MAX_SOURCES = 1000


@dataclass(frozen=True, slots=True)
class SourceSpec:
    ref: ImageRef | LayoutRef              # a registry image, or an image in an OCI layout (oci-layout://)
    digest: Digest | None = None
    platform: Platform | None = None
    platform_filter: tuple[Platform, ...] = ()
    origin: str = ""


@dataclass(frozen=True, slots=True)
class EntryAnnotation:
    """An annotation on the index's image entries (buildx's `manifest-descriptor:` level): on every entry,
    or with `platform` (`manifest-descriptor[linux/arm64]:`) on that platform's entry only."""

    key: str
    value: str
    platform: Platform | None = None

    def __str__(self) -> str:
        return f"manifest-descriptor{f'[{self.platform}]' if self.platform else ''}:{self.key}"


@dataclass(frozen=True, slots=True)
class PushPlan:
    target: ImageRef | LayoutRef           # a repository, or an OCI layout directory written in place
    tags: tuple[str, ...]
    sources: tuple[SourceSpec, ...]
    annotations: tuple[tuple[str, str], ...]
    floating: tuple[Floating, ...] = ()    # tags that move only forward (from --semver)
    version: str | None = None             # the --semver version they follow
    by_platform: bool = False              # a digests folder has no order: entries sorted by platform
    notes: tuple[str, ...] = ()            # what the input was read as, when that differs from what was written
    also: tuple[ImageRef, ...] = ()        # more targets (--target repeated): the same index and tags in each
    entry_annotations: tuple[EntryAnnotation, ...] = ()   # on the index's entries (manifest-descriptor:)
    looked_in: str = ""                    # where the sources were looked for, for --require's message


def split_items(items: str | Iterable[str], seps: str = r"[,\n]") -> list[str]:
    out: list[str] = []
    for item in [items] if isinstance(items, str) else items:
        out += [part.strip() for part in re.split(seps, item) if part.strip()]
    return out


def parse_tags(items: list[str] | str) -> tuple[str, ...]:
    """Tags split on commas and newlines, validated, de-duplicated in order."""
    return tuple(dict.fromkeys(check_tag(tag) for tag in split_items(items)))


def make_plan(target: ImageRef | LayoutRef, tags: tuple[str, ...] | list[str], sources: tuple[SourceSpec, ...],
              annotations: dict[str, str] | Iterable[tuple[str, str]] = (), floating: tuple[Floating, ...] = (),
              version: str | None = None, allow_empty: bool = False) -> PushPlan:
    """Check the whole push for contradictions the input alone shows (`allow_empty`: --remove alone)."""
    if target.digest:
        raise InputError(f"target {target} carries a digest", "a target is a repository and tags")
    all_tags = parse_tags(([target.tag] if target.tag else []) + list(tags))
    if not all_tags:
        raise InputError(f"target {target} has no tag and no other tags were given",
                         "write the target as REPOSITORY:TAG or pass --tags")
    if not sources and not allow_empty:
        raise InputError(f"no sources for {target}", "give a spec, --template, --matrix, --digests or refs")
    by_ref: dict[ImageRef | LayoutRef, SourceSpec] = {}
    by_platform: dict[PlatformIdentity, SourceSpec] = {}
    for source in sources:  # one pass with dicts: a 1 MiB spec of 90,000 sources stays fast
        if not source.ref.digest and source.ref.in_repository(target) and (source.ref.tag or "latest") in all_tags:
            raise InputError(f"source {source.ref} is also the target tag ({source.origin})",
                             "pushing the index would overwrite its own input; push per-arch images under "
                             "other tags or refer to them by digest")
        other = by_ref.setdefault(source.ref, source)
        if other is not source:
            raise InputError(f"source {source.ref} is given twice ({other.origin} and {source.origin})",
                             "list each source once")
        # Only declared platforms are claims; a platform_filter is a keep-list (a global
        # --platform-filter gives every source the same one), so real clashes are compose's to find.
        # Windows images without a declared os.version get theirs from the config: compose checks those.
        if source.platform and (source.platform.os_version or source.platform.os != "windows"):
            other = by_platform.setdefault(source.platform.identity(), source)
            if other is not source:
                raise InputError(f"{other.ref} ({other.origin}) and {source.ref} ({source.origin}) both declare "
                                 f"platform {source.platform}",
                                 "an index holds one image per platform; fix or drop one of them")
    if len(sources) > MAX_SOURCES:  # after the loop, so a duplicate is still named as such
        raise InputError(f"{len(sources)} sources for {target}: at most {MAX_SOURCES} per index",
                         "split the images over several indexes, or filter the platforms")
    merged = dict(annotations.items() if isinstance(annotations, dict) else annotations)  # later (CLI) wins
    floating = tuple(f for f in floating if f.tag not in all_tags)  # an explicit tag is written as asked
    return PushPlan(target.with_tag(None), all_tags, tuple(sources),
                    tuple((str(k), str(v)) for k, v in merged.items()), floating, version)
