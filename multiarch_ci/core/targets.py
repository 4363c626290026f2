"""Several targets in one run (`--target` repeated, the action's `target` one per line), pure.

Every target gets the same index (same bytes, same digest) and the same tags: the tags written on any
`--target` plus `--tags` (and --semver's), as docker/metadata-action applies its tags to each of its
`images`. The first target is the plan's `target`; the others are `PushPlan.also` (repositories only).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from multiarch_ci.core.errors import InputError
from multiarch_ci.core.location import LayoutRef, is_layout
from multiarch_ci.core.plan import PushPlan
from multiarch_ci.core.reference import ImageRef


def split_targets(target: str | Sequence[str] | None, label: str) -> tuple[str | None, tuple[str, ...]]:
    """(first target text or None, the others): a list from a repeated option, or text one per line."""
    if target is None:
        return None, ()
    if isinstance(target, str):
        lines = [target] if "\n" not in target else [t.strip() for t in target.splitlines() if t.strip()]
    else:
        lines = list(target)
    if not lines:
        return None, ()
    return lines[0], tuple(lines[1:])


def parse_more(texts: tuple[str, ...], label: str) -> tuple[ImageRef, ...]:
    """The targets after the first, each a repository with an optional tag (no digest)."""
    out = []
    for text in texts:
        if not text.strip():
            raise InputError(f"{label} is empty", "give REGISTRY/REPO[:TAG], or leave the option out")
        if is_layout(text):
            raise InputError(f"{label} {text.strip()}: an OCI layout target goes first, before the registries",
                             "give the oci-layout:// target as the first --target (the action: the first line)")
        try:
            ref = ImageRef.parse(text)
        except InputError as e:
            raise InputError(f"{label}: {e.message}", e.hint) from None
        if ref.digest:
            raise InputError(f"{label} {ref} carries a digest", "a target is a repository and tags")
        out.append(ref)
    return tuple(out)


def with_more(plan: PushPlan, more: tuple[ImageRef, ...], label: str) -> PushPlan:
    """The plan with its other targets: each repository once, none that would overwrite a source."""
    seen = {plan.target.name}
    for ref in more:
        if ref.name in seen:
            raise InputError(f"{label} {ref.name} is given twice",
                             "every target gets every tag: name each repository once")
        seen.add(ref.name)
        for s in plan.sources:
            if not s.ref.digest and s.ref.in_repository(ref) and (s.ref.tag or "latest") in plan.tags:
                raise InputError(f"source {s.ref} is also a target tag ({s.origin})",
                                 "pushing the index would overwrite its own input; push per-arch images under "
                                 "other tags or refer to them by digest")
    return replace(plan, also=tuple(r.with_tag(None) for r in more))


def targets_of(plan: PushPlan) -> tuple[ImageRef | LayoutRef, *tuple[ImageRef, ...]]:
    """Every target repository of the plan, the first first (tags are the plan's, for each)."""
    return (plan.target.with_tag(None), *plan.also)
