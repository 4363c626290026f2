"""Rule 9: the tags, written once the index is present by digest in every target, each one read back.

The first tag is written and read back alone, so a registry that refuses to tag this index (an immutable
tag, a naming rule) refuses it before any other tag moves. The other exact tags then go at once, each PUT
followed by its own read-back; then the repository's tags are read and the floating tags the
forward-only rule lets move go at once too. A failure is reported after every write in flight has
finished: the tags written (an unverified one marked) and those not written.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import DigestMismatch, Kind, RegistryError
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.plan import PushPlan
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.core.tags import Decision, moving_tags

TYPE_CHECKING = False   # not typing's: typing is not worth its import here
if TYPE_CHECKING:
    from typing import Any

    from multiarch_ci.flow.store import Store, Stores


@dataclass(frozen=True, slots=True)
class Outcome:
    """One tag's write: `refused` (the PUT failed: not written) or `unverified` (written, the read-back
    failed); neither: written and verified."""

    tag: str
    refused: RegistryError | None = None
    unverified: RegistryError | None = None

    @property
    def written(self) -> bool:
        return self.refused is None


class Tagger:
    """Writes one target's tags (rule 9) with the run's fan-out; `floating` decides which floating tags
    move (it reads the repository's tags)."""

    def __init__(self, stores: Stores, fan_out: Callable, floating: Callable[[PushPlan], list[Decision]],
                 log: Callable[[str], None]):
        self.stores, self.fan_out, self.floating, self.log = stores, fan_out, floating, log

    def write(self, plan: PushPlan, digest: Digest, body: bytes, media_type: str) -> list[Decision]:
        """The exact tags (the first alone, then the rest at once), then the floating tags that may move."""
        done: list[Outcome] = []
        wanted = list(plan.tags)
        for group in (plan.tags[:1], plan.tags[1:]):
            self._write_group(plan.target, group, digest, body, media_type, done, wanted)
        decisions = self.floating(plan)
        moving = moving_tags(decisions, plan.tags)
        wanted += moving
        self._write_group(plan.target, moving, digest, body, media_type, done, wanted)
        return decisions

    def _write_group(self, target: ImageRef | LayoutRef, tags: tuple[str, ...] | list[str], digest: Digest,
                     body: bytes, media_type: str, done: list[Outcome], wanted: list[str]) -> None:
        """Tags written at once; every one has finished before a failure (the first, in order) is raised."""
        outcomes = self.fan_out(lambda tag: self._write_one(target, tag, digest, body, media_type), list(tags))
        done += outcomes
        for o in outcomes:
            if o.written and o.unverified is None:
                self.log(f"tagged {target.with_tag(o.tag)}")
        failed = next((o for o in outcomes if not o.written or o.unverified is not None), None)
        if failed is not None:
            raise _report(target, failed, done, wanted)

    def _write_one(self, target: ImageRef | LayoutRef, tag: str, digest: Digest, body: bytes,
                   media_type: str) -> Outcome:
        try:
            put_tag(self.stores(target), target, tag, body, media_type)
        except RegistryError as e:
            return Outcome(tag, refused=e)
        return Outcome(tag, unverified=self._read_back(target.with_tag(tag), digest, body))

    def _read_back(self, ref: ImageRef | LayoutRef, digest: Digest, body: bytes) -> RegistryError | None:
        """Why the tag does not verifiably hold `body` (None: it does); a digest in another algorithm the
        tool knows (sha512) is checked against the body hashed that way."""
        try:
            back = self.stores(ref).head_manifest(ref)
        except RegistryError as e:   # e.g. a digest in an algorithm we do not know: nothing to compare
            return e
        if back is None:
            return RegistryError("it reads back as absent", status=404)
        if back.digest.names(body):
            return None
        ours = digest if back.digest.algorithm == digest.algorithm else Digest.of(body, back.digest.algorithm)
        return RegistryError(f"it holds {back.digest}, not this index ({ours})")


def put_tag(store: Store[Any], target: ImageRef | LayoutRef, tag: str, body: bytes, media_type: str) -> None:
    """PUT `body` under `tag`. A 2xx answered with another digest (e.g. a sha512 one) is not a failure here:
    the tag was taken, and the read-back that follows every tag write decides whether it holds `body`."""
    try:
        store.put_manifest(target, tag, body, media_type)
    except DigestMismatch:
        pass


def _report(target: ImageRef | LayoutRef, failed: Outcome, done: list[Outcome], wanted: list[str]) -> RegistryError:
    """The error for a failed tag: the registry's own, with the tags written and those not written."""
    written = [o.tag for o in done if o.written]
    marks = [f"{o.tag} unverified" for o in done if o.written and o.unverified is not None]
    listed = ", ".join(written) + (f" ({', '.join(marks)})" if marks else "") if written else "none"
    left = ", ".join(t for t in wanted if t not in written) or "none"
    if failed.refused is not None:
        e = failed.refused
        return RegistryError(f"{e.message}; tags written: {listed}; not written: {left}",
                             e.hint or "rerunning is safe: it converges to the same digest",
                             status=e.status, code=e.code, ref=e.ref, kind=e.kind)
    why = failed.unverified
    assert why is not None
    return RegistryError(f"tag {target.with_tag(failed.tag)} was written but could not be verified: {why.message}; "
                         f"tags written: {listed}; not written: {left}",
                         "check what the tag holds (e.g. skopeo inspect); rerunning is safe",
                         status=why.status, code=why.code, ref=str(target.with_tag(failed.tag)), kind=Kind.BAD_ANSWER)
