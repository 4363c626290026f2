"""--append/--remove while other legs write the same tag: read back, merge again, retry, then confirm.

A registry has no compare-and-swap on tags (no conditional PUT), so every leg converges by itself: it
reads what the tag holds, merges its own change into that (core/compose, core/our_change), PUTs the index
by digest and then the tags, and reads each tag back. When another writer's index replaced ours (or a
replica still answers with an older one), it waits a growing, random while and goes again, within the
run's --wait-timeout. Once every tag reads back as ours, it waits a while longer (twice the longest it
has seen a write take to read back) and reads them again: a leg that read the tag before our write may
still overwrite it with an index lacking us, and this second look catches that. A tag that holds another
writer's index with all of ours in it counts as done. What is left (a writer slower than the settle) is
said in docs/append.md; a final `--require` check closes it.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace

from multiarch_ci.core.compose import Candidate, compose_update
from multiarch_ci.core.digest import Digest
from multiarch_ci.core.errors import Kind, RegistryError
from multiarch_ci.core.fetched import Fetched
from multiarch_ci.core.location import LayoutRef
from multiarch_ci.core.model import ImageIndex
from multiarch_ci.core.options import Options
from multiarch_ci.core.our_change import OurChange
from multiarch_ci.core.plan import PushPlan
from multiarch_ci.core.reference import ImageRef
from multiarch_ci.core.tags import Decision, moving_tags
from multiarch_ci.flow.copy_targets import put_everywhere
from multiarch_ci.flow.tagging import put_tag

TYPE_CHECKING = False   # not typing's: typing is not worth its import here
if TYPE_CHECKING:
    from multiarch_ci.flow.store import Stores

ATTEMPTS = 20            # passes at most (each: read, merge, write, read back), whatever the time left
AT_LEAST = 2             # passes made even when --wait-timeout is spent (0: look once; a clash still merges once)
BACKOFF = (0.05, 0.5)    # seconds: the first wait after a clash is random in this range ...
GROWTH, CEILING = 1.5, 2.0   # ... and grows by this factor per clash, up to this
SETTLE = 0.3             # seconds at least before the confirming read; else twice the slowest read-back seen
CONFIRMATIONS = 2        # confirming reads, each after its own settle
UNSEEN_POLLS = 4         # read-backs showing the tag as before our write, read again before merging again


@dataclass(frozen=True, slots=True)
class Converged:
    """What the first target's first tag holds at the end (ours, or another leg's index holding ours)."""

    index: ImageIndex
    body: bytes
    digest: Digest
    decisions: tuple[list[Decision], ...]   # per target: the floating tags moved or held


class Clash(Exception):
    """A tag reads back as something else than this run's index: merge again."""

    why = "another writer's index, not this run's"

    def __init__(self, ref: ImageRef | LayoutRef, holds: str):
        super().__init__(f"{ref} holds {holds}")
        self.ref, self.holds = ref, holds


class Unseen(Clash):
    """A tag reads back as what it held before our write: the registry's reads lag (read again, a few times),
    or another writer put that back (then merge again)."""

    why = "what it held before this run wrote it (the registry's reads lag its writes, or it was put back)"


class Converger:
    """One run's exact (and moving floating) tags in every target, converged onto an index holding `ours`."""

    def __init__(self, stores: Stores, targets: tuple[ImageRef | LayoutRef, ...], tags: tuple[str, ...],
                 ours: OurChange,
                 recompose: Callable[[ImageIndex | None], ImageIndex], put: Callable[[ImageIndex], ImageIndex],
                 floating: Callable[[ImageRef | LayoutRef], list[Decision]], log: Callable[[str], None], *,
                 budget: float, clock: Callable[[], float], sleep: Callable[[float], None],
                 rng: random.Random | None = None):
        self.stores, self.targets, self.tags, self.ours = stores, targets, tags, ours
        self.recompose, self.put, self.floating, self.log = recompose, put, floating, log
        self.budget, self.clock, self.sleep, self.rng = budget, clock, sleep, rng or random.Random()
        self.decisions: list[list[Decision]] | None = None
        self.slowest = 0.0          # the longest a write of ours took to read back (a lagging replica's lag)
        self.first_put: dict[str, float] = {}   # digest -> when its first tag PUT was sent
        self.merged: tuple[bytes, ImageIndex] | None = None   # the last index merged, and as it was stored
        self.before = "nothing"     # the digest the tag held when it was read for the last merge

    @property
    def base_ref(self) -> ImageRef | LayoutRef:
        return self.targets[0].with_tag(self.tags[0])

    def run(self, composed: ImageIndex) -> Converged:
        """`composed`: the index the run composed on what the tag held when it was first read."""
        start = self.clock()
        deadline = start + self.budget
        wait = self.rng.uniform(*BACKOFF)
        self.merged = (composed.to_bytes(), composed)   # not stored yet: _merged PUTs what it merges first
        last: Clash = Clash(self.base_ref, "nothing")
        unseen = 0   # read-backs in a row that still showed what the tag held before our write
        for attempt in range(1, ATTEMPTS + 1):
            try:
                if not isinstance(last, Unseen) or unseen > UNSEEN_POLLS:
                    unseen = 0
                    index = self._merged(attempt)
                    self._write(index)
                self._read_back(index)
                settled = self._confirm(index)
                if attempt > 1:
                    self.log(f"--append: converged after {attempt} passes in {self.clock() - start:.1f} s")
                assert isinstance(settled.manifest, ImageIndex)   # _has_ours read it as one
                return Converged(settled.manifest, settled.body, Digest.of(settled.body),   # as publish's: sha256
                                 tuple(self.decisions or ()))
            except Clash as clash:
                last = clash
                unseen += isinstance(clash, Unseen)
            if attempt >= ATTEMPTS or (attempt >= AT_LEAST and self.clock() + wait > deadline):
                break
            again = "reading it again" if isinstance(last, Unseen) and unseen <= UNSEEN_POLLS else "merging again"
            self.log(f"read back {last.ref}: holds {last.holds}, {last.why}; {again} in {wait:.2f} s "
                     f"(pass {attempt + 1}/{ATTEMPTS})")
            self.sleep(wait)
            wait = min(CEILING, wait * GROWTH) * self.rng.uniform(0.75, 1.25)
        raise self._failure(attempt, self.clock() - start)

    def _read(self, ref: ImageRef | LayoutRef) -> Fetched | None:
        try:
            return self.stores(ref).get_manifest(ref)
        except RegistryError as e:
            if e.kind is not Kind.NOT_FOUND:
                raise
            return None

    def _merged(self, attempt: int) -> ImageIndex:
        """Our change merged into what the tag holds now, PUT by digest in every target. Read just before
        writing: the window for another writer to slip in is one PUT by digest and the tag PUTs long."""
        now = self._read(self.base_ref)
        self.before = str(now.digest) if now else "nothing"
        held = _index(now)
        if now is not None and held is None:   # an image replaced the index: ours alone, as a new index
            self.log(f"--append: {self.base_ref} holds a single image now; writing this run's index over it")
        merged = self.recompose(held)
        body = merged.to_bytes()
        assert self.merged is not None
        if body != self.merged[0]:
            self.log(f"--append: {self.base_ref} changed since it was read ({len(held.images) if held else 0} "
                     "image(s) now): merging this run's change into it")
        elif attempt > 1:
            return self.merged[1]   # stored already
        stored = self.put(merged)   # by digest in every target (children: ours copied, theirs by their legs)
        self.merged = (body, stored)
        return stored

    def _write(self, index: ImageIndex) -> None:
        """Every tag in every target: the exact tags, then (decided once, on the first pass, as publish does)
        the floating tags that may move."""
        body = index.to_bytes()
        self.first_put.setdefault(str(Digest.of(body)), self.clock())
        decide = self.decisions is None
        decisions: list[list[Decision]] = []
        for i, target in enumerate(self.targets):
            store = self.stores(target)
            for tag in self.tags:
                put_tag(store, target, tag, body, index.media_type)
            chosen = self.floating(target) if decide else (self.decisions or [])[i]
            decisions.append(chosen)
            for tag in moving_tags(chosen, self.tags):
                put_tag(store, target, tag, body, index.media_type)
        if decide:
            self.decisions = decisions

    def _read_back(self, index: ImageIndex) -> None:
        """Each tag names this index: else another writer replaced it (a clash), or the registry still shows
        what the tag held before our write (unseen: its reads lag its writes)."""
        body = index.to_bytes()
        for ref in self._all_tags():
            back = self.stores(ref).head_manifest(ref)
            if back is None or not back.digest.names(body):
                held = str(back.digest) if back else "nothing"
                if held == self.before:
                    raise Unseen(ref, held)
                if not self._has_ours(ref):   # another leg's index may hold ours already: then it stands
                    raise Clash(ref, held)
        self.slowest = max(self.slowest, self.clock() - self.first_put[str(Digest.of(body))])

    def _has_ours(self, ref: ImageRef | LayoutRef) -> Fetched | None:
        """What `ref` holds, when it is an index holding all of this run's change; else None."""
        now = self._read(ref)
        held = _index(now)
        return now if held is not None and not self.ours.lacking(held) else None

    def _all_tags(self) -> list[ImageRef | LayoutRef]:
        moving = [moving_tags(chosen, self.tags) for chosen in self.decisions or [[]] * len(self.targets)]
        return [t.with_tag(tag) for t, more in zip(self.targets, moving, strict=True) for tag in self.tags + more]

    def _confirm(self, index: ImageIndex) -> Fetched:
        """After a settle (each), every tag still holds an index with all of ours: this one or another leg's."""
        body = index.to_bytes()
        first: Fetched | None = None
        for _ in range(CONFIRMATIONS):
            settle = max(SETTLE, 2 * self.slowest) * self.rng.uniform(1.0, 1.5)
            self.sleep(settle)
            for i, ref in enumerate(self._all_tags()):
                if i:   # the first is read whole: it is what the run reports
                    back = self.stores(ref).head_manifest(ref)
                    if back is not None and back.digest.names(body):
                        continue
                now = self._has_ours(ref)
                if now is None:
                    back = self.stores(ref).head_manifest(ref)
                    raise Clash(ref, str(back.digest) if back else "nothing")
                if i == 0:
                    first = now
                if not now.digest.names(body):
                    self.log(f"--append: {ref} holds {now.digest}, another leg's index with this run's "
                             "entries in it")
        for ref in self._all_tags():
            self.log(f"tagged {ref}")
        assert first is not None
        return first

    def _failure(self, attempts: int, seconds: float) -> RegistryError:
        now = self._read(self.base_ref)
        held = _index(now)
        what = "nothing" if now is None else (
            f"{now.digest} ({', '.join(str(d.platform) for d in held.images) or 'no image'})" if held
            else f"{now.digest} (a single image)")
        missing = self.ours.lacking(held) or ["(all of it now, but not in every tag)"]
        return RegistryError(f"--append: {self.base_ref} does not hold this run's change after {attempts} "
                             f"pass(es) in {seconds:.1f} s: reads of it show {what}, without {'; '.join(missing)}",
                             "other writers kept replacing it, or the registry's reads lag its writes for longer "
                             "than --wait-timeout: rerun this leg (it merges again), or give --wait-timeout more",
                             ref=str(self.base_ref))



def converge(stores: Stores, plan: PushPlan, targets: tuple[ImageRef | LayoutRef, ...], composed: ImageIndex,
             candidates: list[Candidate], options: Options, floating: Callable[[PushPlan], list[Decision]],
             log: Callable[[str], None]) -> Converged:
    """publish's hook for --append/--remove: the index PUT and every tag written, merged again as often as other
    writers make it necessary (within --wait-timeout), then confirmed."""
    o = options
    ours = OurChange.of(composed, [c.descriptor.digest for c in candidates], o.remove)

    def recompose(held: ImageIndex | None) -> ImageIndex:
        return compose_update(candidates, o.fmt, plan.annotations, o.verify_platform, held, ours.still_held(held),
                              plan.by_platform, plan.entry_annotations)[0]

    def put(index: ImageIndex) -> ImageIndex:
        return put_everywhere(stores, targets, index, o.fmt, log)   # may fall back to a Docker list

    return Converger(stores, targets, plan.tags, ours, recompose, put, lambda t: floating(replace(plan, target=t)),
                     log, budget=o.wait_timeout, clock=o.clock, sleep=o.sleep).run(composed)


def _index(now: Fetched | None) -> ImageIndex | None:
    """The index a tag holds, from what reading it gave (None: absent, or a single image)."""
    return now.manifest if now is not None and isinstance(now.manifest, ImageIndex) else None
