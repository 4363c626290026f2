"""Semver tag sets and the forward-only rule for floating tags (pure).

A stable release 1.4.2 publishes 1.4.2 and the floating tags 1.4, 1 and latest; a floating tag moves
only if no newer stable version of its line already exists in the repository, so a backport 1.9.1
built after 2.0.0 moves 1 and 1.9 but never latest. https://semver.org
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from multiarch_ci.core.errors import InputError

TYPE_CHECKING = False   # not typing's: typing is not worth its import at every start
if TYPE_CHECKING:   # semver is imported where a version is parsed, not at start-up
    import semver

LATEST_MODES = ("auto", "always", "never")


@dataclass(frozen=True, slots=True)
class Floating:
    """A floating tag and the line of versions it follows: (major, minor), (major,) or () for latest."""

    tag: str
    line: tuple[int, ...]
    always: bool = False              # --latest always: move regardless of newer versions


@dataclass(frozen=True, slots=True)
class Decision:
    floating: Floating
    moves: bool
    newer: str | None = None          # the newer existing version that holds the tag back


def moving_tags(decisions: Iterable[Decision], exact: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The floating tags that move, in order, each once, none of them one of the `exact` tags."""
    return tuple(dict.fromkeys(d.floating.tag for d in decisions if d.moves and d.floating.tag not in exact))


def parse_version(text: str) -> semver.Version:
    """Accept 1.4.2, v1.4.2 and refs/tags/v1.4.2; refuse anything else and build metadata."""
    import semver
    raw = (text or "").strip()
    bare = raw.removeprefix("refs/tags/")
    bare = bare[1:] if bare[:1] in ("v", "V") else bare
    try:
        version = semver.Version.parse(bare)
    except (ValueError, TypeError):
        raise InputError(f"semver {raw!r} is not a semantic version",
                         "expected MAJOR.MINOR.PATCH[-PRERELEASE], e.g. 1.4.2, v1.4.2 or refs/tags/v1.4.2") from None
    if version.build:
        raise InputError(f"semver {raw!r} carries build metadata (+{version.build}), which a tag cannot hold",
                         "drop the +… part, or give the tag you want with --tags")
    return version


def tag_set(version: semver.Version, latest: str = "auto", floating: bool = True,
            major_zero: bool = False) -> tuple[tuple[str, ...], tuple[Floating, ...]]:
    """(exact tags, floating tags) for a version: 1.4.2 -> (1.4.2,), (1.4, 1, latest)."""
    if latest not in LATEST_MODES:
        raise InputError(f"--latest {latest!r} is not one of {', '.join(LATEST_MODES)}")
    exact = (str(version),)
    if version.prerelease or not floating:
        return exact, ()
    lines: list[Floating] = [Floating(f"{version.major}.{version.minor}", (version.major, version.minor))]
    if version.major > 0 or major_zero:
        lines.append(Floating(str(version.major), (version.major,)))
    if latest != "never":
        lines.append(Floating("latest", (), always=latest == "always"))
    return exact, tuple(lines)


def stable_versions(tags: Iterable[str]) -> list[semver.Version]:
    """The stable versions among a repository's tags, v-prefixed or bare; everything else ignored."""
    import semver
    found = []
    for tag in tags:
        bare = tag[1:] if tag[:1] in ("v", "V") else tag
        try:
            v = semver.Version.parse(bare)
        except ValueError:
            continue
        if not v.prerelease and not v.build:
            found.append(v)
    return found


def decide(version: semver.Version, floating: Iterable[Floating], existing: Iterable[str]) -> list[Decision]:
    """Move each floating tag only if `version` is >= the highest stable version of its line."""
    versions = stable_versions(existing)
    out = []
    for f in floating:
        line = [v for v in versions if (v.major, v.minor)[:len(f.line)] == f.line]
        top = max(line, default=None)
        if f.always or top is None or version >= top:
            out.append(Decision(f, True))
        else:
            out.append(Decision(f, False, str(top)))
    return out
